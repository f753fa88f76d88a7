#pragma once

// ApplyWorker: the one thread that changes databases. It takes the approved recommendations the
// link pulls, checks each one (applier/recommendation_check.h), and applies those that pass, one
// at a time, through an Executor on a session opened for writing (only for databases with
// apply = true). Every step is in the audit log before it is reported; each outcome is reported
// to the control plane as a lifecycle event through `report`.
//
// Nothing starts outside the database's maintenance_window (empty: any time); a recommendation
// that arrives outside it stays served by the control plane and is taken at a pull inside it.
//
// With affected queryids, a change is guarded: the statements' figures are taken before it and
// again after guard.verify_window_s; a regression beyond guard.max_regression_pct is audited and
// reported as `regressed` and, with guard.auto_rollback, rolled back at once.
//
// At start, and before the first change to a database if that database was unreachable then, the
// worker runs crash recovery (Executor::CleanUpInterruptedBuilds): orphaned builds of its own are
// stopped, their INVALID indexes dropped, and interrupted changes audited and reported.
//
// What the control plane sends is untrusted until its signature verifies. Per pull, at most
// kMaxRecommendationsPerPull elements are considered (the rest wait for a later pull), each at most
// applier::kMaxRecommendationBytes. An element whose strict parse or signature fails is refused
// with an audit record holding only its id, its size and the verdict (never its bytes), and
// reported `rejected`; at most kMaxUnverifiedAuditsPerHour such records are written, and beyond
// that the id is only remembered (RecentIds, bounded) so that it is not looked at again each
// pull. Only a verified recommendation is audited in full (`received`).
//
// An id whose audit log already holds an outcome (applied, failed, rejected, verified, ...) is
// never taken again: when the control plane still serves it (it has not heard that outcome yet),
// the worker reports that outcome again at that pull (the link holds one copy of an event at a
// time), so the status shown there ends equal to the audit log's.
//
// While an index change runs, and for a while after it took effect, it is recorded in `changes`
// (when given), so that the advisors do not propose it again (advisor/changes_in_progress.h).
//
// Thread safety: Submit(), RequestStop() and JoinUntil() may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "advisor/changes_in_progress.h"
#include "agent/config.h"
#include "applier/audit_log.h"
#include "applier/executor.h"
#include "core/recent_ids.h"
#include "protocol/recommendation.h"

namespace optischema::agent {

using EventReporter = std::function<void(protocol::RecommendationEvent)>;

class ApplyWorker {
 public:
  static constexpr std::chrono::hours kReportOutcomesAgainFor{24 * 7};
  static constexpr std::size_t kMaxRecommendationsPerPull = 100;
  static constexpr std::size_t kMaxUnverifiedAuditsPerHour = 100;
  static constexpr std::size_t kRememberedIds = 4096;  // capacity of each RecentIds below
  static constexpr std::chrono::minutes kReportOutcomeAgainEvery{5};

  // `audit` and `changes` (null: none) must outlive the worker. The thread starts at once.
  ApplyWorker(Config config, std::string agent_id, applier::AuditLog& audit, EventReporter report,
              advisor::ChangesInProgress* changes = nullptr);
  ~ApplyWorker();

  ApplyWorker(const ApplyWorker&) = delete;
  ApplyWorker& operator=(const ApplyWorker&) = delete;

  // Queues the recommendations of a pull reply, replacing a reply of the same kind still queued
  // (a reply lists everything served, so only the latest counts). Ones already handled are
  // skipped.
  // With `rollback_requests`, the reply lists applied recommendations a person asked to roll
  // back: each is rolled back at once (not waiting for the maintenance window: a requested
  // rollback is usually urgent), audited and reported. A guard watching one of them stops
  // watching at once, so that the rollback does not wait for the end of its verify window.
  void Submit(std::string body, bool rollback_requests = false);
  void RequestStop();
  bool JoinUntil(std::chrono::steady_clock::time_point deadline);

 private:
  void Run();
  void Handle(const protocol::RecommendationEnvelope& envelope);
  void HandleRollbackRequest(const protocol::RecommendationEnvelope& envelope);
  void Report(const std::string& id, protocol::LifecycleEvent event, const std::string& detail);
  // One element of an approved-recommendations reply; `unaudited` counts unverified refusals
  // that found no audit budget.
  void Consider(const protocol::RecommendationEnvelope& envelope, std::size_t& unaudited);
  // An element that failed applier::CheckAuthenticity: audited as id, size and verdict only (if
  // the hourly budget allows) and reported, or else only remembered. False when not audited.
  bool RefuseUnverified(const protocol::RecommendationEnvelope& envelope, const Error& why);
  // The id's audit log outcome, reported again (logged once per kReportOutcomeAgainEvery).
  void ReportOutcomeAgain(const applier::AuditRecord& outcome);
  bool AppliedBefore(const std::string& id) const;
  // Whether the recommendation's database is inside its maintenance_window now (logs once per
  // recommendation while it waits).
  bool InMaintenanceWindow(const protocol::RecommendationEnvelope& envelope);
  // Executor::CleanUpInterruptedBuilds for `database`, logged and reported; marks it done.
  void Recover(applier::Executor& executor, const std::string& database);
  // After the guard's verify window: compare, audit and report the verdict; roll back a
  // regression when the guard says so. Returns early, without a verdict, when the worker is
  // stopping or a person asked to roll the change back.
  void Guard(applier::Executor& executor, const protocol::Recommendation& rec,
             const applier::StatementFigures& baseline);
  // For a rewrite: over guard.verify_window_s, whether the original statements' calls fall and
  // the rewritten text's appear; audited (verify_passed) and reported (verified).
  void TrackRewrite(applier::Executor& executor, const protocol::Recommendation& rec);
  // At start: reports again the latest outcome of every recommendation that got one within
  // kReportOutcomesAgainFor. Lifecycle events wait in memory until the control plane accepts
  // them, so one recorded just before a crash, or while the control plane was unreachable, may
  // never have reached it. A repeated event sets the same status; the control plane never lets an
  // outcome override a rollback a person requested.
  void ReportRecentOutcomes();
  // Waits `seconds` unless the worker is asked to stop or a person asks to roll back
  // `recommendation_id`; false when either cuts the wait short.
  bool WaitWindow(int64_t seconds, const std::string& recommendation_id);

  const Config config_;
  const std::string agent_id_;
  applier::AuditLog& audit_;
  EventReporter report_;
  advisor::ChangesInProgress* const changes_;
  // Worker thread only. handled_ and waiting_ hold verified recommendations only.
  std::set<std::string> handled_;
  std::set<std::string> cleaned_;  // databases whose interrupted builds were cleaned up
  RecentIds rollbacks_handled_{kRememberedIds};
  std::set<std::string> waiting_;  // recommendations waiting for their maintenance window
  RecentIds anonymous_refused_{kRememberedIds};  // hashes of id-less elements already logged
  RecentIds refused_unaudited_{kRememberedIds};  // unverified, refused beyond the audit budget
  RecentIds reported_again_{kRememberedIds};     // ids whose outcome was logged as reported again
  std::deque<std::chrono::steady_clock::time_point> unverified_audits_;  // within the last hour

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, bool>> bodies_;  // guarded by mu_; body, rollback_requests
  // Ids in the rollback-requests reply queued in bodies_; guarded by mu_.
  std::set<std::string> rollback_requested_;
  bool stop_ = false;                                // guarded by mu_
  bool done_ = false;                                // guarded by mu_
  std::thread thread_;
};

}  // namespace optischema::agent
