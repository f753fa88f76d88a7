#include "agent/apply_worker.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "agent/database_connector.h"
#include "agent/state_dir.h"
#include "applier/executor.h"
#include "applier/maintenance_window.h"
#include "applier/recommendation_check.h"
#include "core/logging.h"
#include "core/time_format.h"

namespace optischema::agent {
namespace {

// The detail of the audit record of an element refused before its signature verified.
constexpr std::string_view kUnverifiedPrefix = "refused before verification: ";

using applier::AuditStep;
using protocol::LifecycleEvent;

// The lifecycle event that reports an outcome step (applier::IsOutcomeStep); nullopt for any
// other step.
std::optional<LifecycleEvent> EventOfOutcome(AuditStep step) {
  switch (step) {
    case AuditStep::kApplied:
    case AuditStep::kNoop:
      return LifecycleEvent::kApplied;
    case AuditStep::kFailed:
    case AuditStep::kRollbackFailed:
      return LifecycleEvent::kFailed;
    case AuditStep::kRejected:
      return LifecycleEvent::kRejected;
    case AuditStep::kRolledBack:
      return LifecycleEvent::kRolledBack;
    case AuditStep::kVerifyPassed:
      return LifecycleEvent::kVerified;
    case AuditStep::kRegressed:
      return LifecycleEvent::kRegressed;
    case AuditStep::kReceived:
    case AuditStep::kVerified:
    case AuditStep::kStarted:
    case AuditStep::kRecovered:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

ApplyWorker::ApplyWorker(Config config, std::string agent_id, applier::AuditLog& audit,
                         EventReporter report, advisor::ChangesInProgress* changes)
    : config_(std::move(config)),
      agent_id_(std::move(agent_id)),
      audit_(audit),
      report_(std::move(report)),
      changes_(changes),
      thread_([this] { Run(); }) {}

ApplyWorker::~ApplyWorker() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

void ApplyWorker::Submit(std::string body, bool rollback_requests) {
  std::set<std::string> ids;
  if (rollback_requests) {
    if (auto list = protocol::ParseRecommendationList(body, kMaxRecommendationsPerPull);
        list.ok()) {
      for (const auto& envelope : list->envelopes) ids.insert(envelope.id);
    }
  }
  std::lock_guard lock(mu_);
  // While a change runs (an index build may take hours) pulls go on: keep only the latest.
  std::erase_if(bodies_, [&](const auto& queued) { return queued.second == rollback_requests; });
  bodies_.emplace_back(std::move(body), rollback_requests);
  if (rollback_requests) rollback_requested_ = std::move(ids);
  cv_.notify_all();
}

void ApplyWorker::RequestStop() {
  std::lock_guard lock(mu_);
  stop_ = true;
  cv_.notify_all();
}

bool ApplyWorker::JoinUntil(std::chrono::steady_clock::time_point deadline) {
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [this] { return done_; })) return false;
  }
  if (thread_.joinable()) thread_.join();
  return true;
}

void ApplyWorker::Recover(applier::Executor& executor, const std::string& database) {
  auto recovery = executor.CleanUpInterruptedBuilds();
  if (!recovery.ok()) {
    LogEvent(spdlog::level::warn,
             "crash recovery could not run yet; retried before the next change",
             {{"database", database}, {"error", recovery.error().message}});
    return;
  }
  cleaned_.insert(database);
  if (recovery->dropped > 0) {
    LogEvent(spdlog::level::warn, "dropped INVALID indexes left by an interrupted build",
             {{"database", database}, {"dropped", std::to_string(recovery->dropped)}});
  }
  for (const auto& [id, outcome] : recovery->outcomes) {
    // Settled: if the control plane serves it again before it hears the outcome, it is skipped.
    handled_.insert(id);
    LogEvent(spdlog::level::warn,
             "change interrupted by an earlier stop: " +
                 std::string(protocol::LifecycleEventName(outcome.event)),
             {{"recommendation_id", id}, {"database", database}, {"detail", outcome.detail}});
    Report(id, outcome.event, outcome.detail);
  }
}

void ApplyWorker::Run() {
  // Crash recovery first, for every database this agent may change.
  for (const DatabaseConfig& db : config_.databases) {
    if (!db.apply) continue;
    auto session = MakeSessionFactory(db, pg::SessionMode::kApply)();
    if (!session.ok()) continue;  // retried before the first change to it
    applier::Executor executor(std::move(session).value(), audit_, db.name);
    Recover(executor, db.name);
  }
  ReportRecentOutcomes();
  for (;;) {
    std::string body;
    bool rollback_requests = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !bodies_.empty(); });
      if (stop_) break;
      std::tie(body, rollback_requests) = std::move(bodies_.front());
      bodies_.pop_front();
      if (rollback_requests) rollback_requested_.clear();
    }
    auto list = protocol::ParseRecommendationList(body, kMaxRecommendationsPerPull);
    if (!list.ok()) {
      LogEvent(spdlog::level::warn, "recommendations reply refused",
               {{"error", list.error().message}});
      continue;
    }
    if (list->total > list->envelopes.size()) {
      LogEvent(spdlog::level::warn,
               "recommendations reply lists more than " +
                   std::to_string(kMaxRecommendationsPerPull) +
                   " recommendations; only the first are considered at this pull",
               {{"listed", std::to_string(list->total)}});
    }
    std::size_t unaudited = 0;
    for (const protocol::RecommendationEnvelope& envelope : list->envelopes) {
      {
        std::lock_guard lock(mu_);
        if (stop_) break;
      }
      if (rollback_requests) {
        if (!envelope.id.empty() && !rollbacks_handled_.contains(envelope.id)) {
          rollbacks_handled_.Insert(envelope.id);
          HandleRollbackRequest(envelope);
        }
        continue;
      }
      Consider(envelope, unaudited);
    }
    if (unaudited > 0) {
      LogEvent(spdlog::level::warn,
               "unverified recommendations refused without an audit record or report: more than " +
                   std::to_string(kMaxUnverifiedAuditsPerHour) +
                   " were refused in the last hour (is the control plane compromised, or its "
                   "signing key not the one configured?)",
               {{"refused", std::to_string(unaudited)}});
    }
  }
  std::lock_guard lock(mu_);
  done_ = true;
  cv_.notify_all();
}

void ApplyWorker::ReportRecentOutcomes() {
  const auto since = std::chrono::system_clock::now() - kReportOutcomesAgainFor;
  std::map<std::string, applier::AuditRecord> latest;  // by recommendation id
  for (applier::AuditRecord& record : audit_.After(0)) {
    if (record.recommendation_id.empty() || !applier::IsOutcomeStep(record.step)) continue;
    latest[record.recommendation_id] = std::move(record);
  }
  for (const auto& [id, record] : latest) {
    if (handled_.contains(id)) continue;  // settled by the recovery just now, and reported
    // Refusals of unverified elements are said again only if they are served again.
    if (record.detail.starts_with(kUnverifiedPrefix)) continue;
    const auto at = ParseRfc3339(record.ts);
    if (!at || *at < since) continue;
    if (const auto event = EventOfOutcome(record.step)) Report(id, *event, record.detail);
  }
}

void ApplyWorker::Consider(const protocol::RecommendationEnvelope& envelope,
                           std::size_t& unaudited) {
  if (envelope.id.empty()) {
    // Without an id there is nothing to report to the control plane or to audit under; say so
    // locally, once per distinct element.
    const std::string key = std::to_string(std::hash<std::string>{}(envelope.raw_json));
    if (anonymous_refused_.contains(key)) return;
    anonymous_refused_.Insert(key);
    LogEvent(spdlog::level::warn,
             "recommendation without a valid id refused; it cannot be reported to the "
             "control plane",
             {{"error", envelope.recommendation.ok() ? std::string("id missing")
                                                     : envelope.recommendation.error().message}});
    return;
  }
  // Settled (by this process or an earlier one): never run again, whatever the element says
  // now; the control plane has not heard the outcome yet, so it is said again.
  if (auto outcome = audit_.LastOutcome(envelope.id)) {
    ReportOutcomeAgain(*outcome);
    return;
  }
  // Taken by this process and not settled: in progress.
  if (handled_.contains(envelope.id)) return;
  if (refused_unaudited_.contains(envelope.id)) return;
  if (Status authentic = applier::CheckAuthenticity(envelope, config_.recommendation_public_key);
      !authentic.ok()) {
    if (!RefuseUnverified(envelope, authentic.error())) ++unaudited;
    return;
  }
  // Outside its database's maintenance window nothing starts: it stays served and is
  // considered again at the next pull.
  if (!InMaintenanceWindow(envelope)) return;
  handled_.insert(envelope.id);
  Handle(envelope);
}

bool ApplyWorker::RefuseUnverified(const protocol::RecommendationEnvelope& envelope,
                                   const Error& why) {
  const auto now = std::chrono::steady_clock::now();
  while (!unverified_audits_.empty() && now - unverified_audits_.front() > std::chrono::hours(1)) {
    unverified_audits_.pop_front();
  }
  if (unverified_audits_.size() >= kMaxUnverifiedAuditsPerHour) {
    refused_unaudited_.Insert(envelope.id);
    return false;
  }
  const std::string reason = std::string(kUnverifiedPrefix) + why.message;
  auto audited = audit_.Append({envelope.id,
                                "",
                                AuditStep::kRejected,
                                reason,
                                "",
                                "",
                                {{"bytes", static_cast<std::int64_t>(envelope.raw_json.size())}}});
  if (!audited.ok()) {
    refused_unaudited_.Insert(envelope.id);
    LogEvent(spdlog::level::err, "audit log write failed",
             {{"recommendation_id", envelope.id}, {"error", audited.error().message}});
    return false;
  }
  unverified_audits_.push_back(now);
  LogEvent(spdlog::level::warn, "recommendation refused before verification",
           {{"recommendation_id", envelope.id},
            {"bytes", std::to_string(envelope.raw_json.size())},
            {"reason", reason}});
  Report(envelope.id, LifecycleEvent::kRejected, reason);
  return true;
}

void ApplyWorker::ReportOutcomeAgain(const applier::AuditRecord& outcome) {
  const std::optional<LifecycleEvent> event = EventOfOutcome(outcome.step);
  if (!event) return;  // LastOutcome returns outcome steps only
  const auto now = std::chrono::steady_clock::now();
  // Said at every pull that still serves it (the link keeps one copy of an event queued); logged
  // at most once per kReportOutcomeAgainEvery.
  if (auto at = reported_again_.InsertedAt(outcome.recommendation_id);
      !at || now - *at >= kReportOutcomeAgainEvery) {
    reported_again_.Insert(outcome.recommendation_id, now);
    LogEvent(spdlog::level::info,
             "recommendation served again after its outcome; not taken again, outcome reported "
             "again",
             {{"recommendation_id", outcome.recommendation_id},
              {"outcome", std::string(protocol::LifecycleEventName(*event))}});
  }
  Report(outcome.recommendation_id, *event, outcome.detail);
}

bool ApplyWorker::InMaintenanceWindow(const protocol::RecommendationEnvelope& envelope) {
  if (!envelope.recommendation.ok()) return true;  // refused anyway, and reported
  for (const DatabaseConfig& db : config_.databases) {
    if (db.name != envelope.recommendation->database) continue;
    auto window = applier::ParseMaintenanceWindow(db.maintenance_window);
    const auto now = std::chrono::system_clock::now();
    if (!window.ok() || window->Contains(now)) {
      waiting_.erase(envelope.id);
      return true;
    }
    if (waiting_.insert(envelope.id).second) {
      const auto next = window->NextStart(now);
      LogEvent(spdlog::level::info, "approved recommendation waits for the maintenance window",
               {{"recommendation_id", envelope.id},
                {"database", db.name},
                {"window", window->ToString()},
                {"next_start", next ? FormatRfc3339(*next) : std::string()}});
    }
    return false;
  }
  return true;
}

void ApplyWorker::HandleRollbackRequest(const protocol::RecommendationEnvelope& envelope) {
  const std::string& id = envelope.id;
  const auto records = audit_.ForRecommendation(id);
  const bool already_rolled_back =
      std::any_of(records.begin(), records.end(),
                  [](const auto& r) { return r.step == AuditStep::kRolledBack; }) &&
      !audit_.Applied(id);
  if (already_rolled_back) {
    // Done before a restart whose report never reached the control plane: say so again.
    Report(id, LifecycleEvent::kRolledBack, "rolled back (before the agent restarted)");
    return;
  }
  if (records.empty() || !audit_.Applied(id)) {
    Report(id, LifecycleEvent::kRejected,
           "rollback requested, but this agent has no applied change for it");
    return;
  }
  const std::string database = records.back().database;
  const DatabaseConfig* target = nullptr;
  for (const DatabaseConfig& db : config_.databases) {
    if (db.name == database && db.apply) target = &db;
  }
  if (target == nullptr) {
    Report(id, LifecycleEvent::kFailed,
           "rollback requested, but database " + database +
               " is no longer configured with apply = true");
    return;
  }
  auto session = MakeSessionFactory(*target, pg::SessionMode::kApply)();
  if (!session.ok()) {
    rollbacks_handled_.Erase(id);  // tried again at the next pull
    LogEvent(
        spdlog::level::warn, "requested rollback waits for the database",
        {{"recommendation_id", id}, {"database", database}, {"error", session.error().message}});
    return;
  }
  applier::Executor executor(std::move(session).value(), audit_, database);
  const Status undone = executor.Rollback(id);
  LogEvent(undone.ok() ? spdlog::level::warn : spdlog::level::err,
           undone.ok() ? "rolled back on request" : "requested rollback failed",
           {{"recommendation_id", id},
            {"database", database},
            {"error", undone.ok() ? std::string() : undone.error().message}});
  Report(id, undone.ok() ? LifecycleEvent::kRolledBack : LifecycleEvent::kFailed,
         undone.ok() ? "rolled back as requested" : "rollback failed: " + undone.error().message);
}

bool ApplyWorker::AppliedBefore(const std::string& id) const {
  for (const applier::AuditRecord& record : audit_.ForRecommendation(id)) {
    if (record.step == AuditStep::kApplied || record.step == AuditStep::kNoop) return true;
  }
  return false;
}

void ApplyWorker::Report(const std::string& id, LifecycleEvent event, const std::string& detail) {
  protocol::RecommendationEvent out;
  out.recommendation_id = id;
  out.event = std::string(protocol::LifecycleEventName(event));
  out.at = FormatRfc3339(std::chrono::system_clock::now());
  out.detail = detail;
  report_(std::move(out));
}

void ApplyWorker::Handle(const protocol::RecommendationEnvelope& envelope) {
  const std::string& id = envelope.id;
  const std::string database =
      envelope.recommendation.ok() ? envelope.recommendation->database : std::string();
  applier::AuditEntry received{id,
                               database,
                               AuditStep::kReceived,
                               "pulled from the control plane",
                               "",
                               "",
                               {{"recommendation", envelope.raw_json}}};
  if (auto audited = audit_.Append(received); !audited.ok()) {
    LogEvent(spdlog::level::err, "audit log write failed; not applying",
             {{"recommendation_id", id}, {"error", audited.error().message}});
    return;
  }
  applier::CheckContext context;
  context.agent_id = agent_id_;
  context.public_key_b64 = config_.recommendation_public_key;
  context.now = std::chrono::system_clock::now();
  for (const DatabaseConfig& db : config_.databases) context.databases[db.name] = db.apply;
  context.already_applied = [this](const std::string& rid) { return AppliedBefore(rid); };
  auto checked = applier::CheckRecommendation(envelope, context);
  if (!checked.ok()) {
    const std::string reason = checked.error().message;
    if (auto audited = audit_.Append({id, database, AuditStep::kRejected, reason, "", "", {}});
        !audited.ok()) {
      return;
    }
    LogEvent(spdlog::level::warn, "recommendation rejected",
             {{"recommendation_id", id}, {"database", database}, {"reason", reason}});
    Report(id, LifecycleEvent::kRejected, reason);
    return;
  }
  if (auto audited =
          audit_.Append({id, database, AuditStep::kVerified, "checks passed", "", "", {}});
      !audited.ok()) {
    return;
  }
  Report(id, LifecycleEvent::kValidated, "checks passed");

  const DatabaseConfig* target = nullptr;
  for (const DatabaseConfig& db : config_.databases) {
    if (db.name == database) target = &db;
  }
  auto session = MakeSessionFactory(*target, pg::SessionMode::kApply)();
  if (!session.ok()) {
    const std::string reason = "cannot connect to apply: " + session.error().message;
    (void)audit_.Append({id, database, AuditStep::kFailed, reason, "", "", {}});
    LogEvent(spdlog::level::err, "recommendation not applied",
             {{"recommendation_id", id}, {"database", database}, {"error", reason}});
    Report(id, LifecycleEvent::kFailed, reason);
    return;
  }
  applier::ExecutorOptions options;
  options.min_index_saving_pct = target->min_index_saving_pct;
  if (auto key = ReadDigestKey(config_.state_dir); key.ok()) options.digest_key = *std::move(key);
  applier::Executor executor(std::move(session).value(), audit_, database, options);
  // `started` goes out when the change is about to run, not for one a precondition refuses.
  executor.OnStarted([this](const std::string& rid, const std::string& detail) {
    Report(rid, LifecycleEvent::kStarted, detail);
  });
  if (!cleaned_.contains(database)) Recover(executor, database);
  const protocol::Recommendation& rec = checked->recommendation;
  // The guard's baseline: the affected statements' cumulative figures just before the change.
  std::optional<applier::StatementFigures> baseline;
  if (!rec.affected_queryids.empty()) {
    if (auto figures = executor.Measure(rec.affected_queryids); figures.ok()) baseline = *figures;
  }
  LogEvent(spdlog::level::info, "applying recommendation",
           {{"recommendation_id", id}, {"database", database}});
  advisor::ChangesInProgress::InProgress in_progress;
  if (changes_ != nullptr) in_progress = changes_->Begin(database, rec.spec);
  auto outcome = executor.Apply(*checked);
  // Nothing changed (refused, or a failed build cleaned up): a new proposal may come at once.
  if (!outcome.ok() || outcome->event != LifecycleEvent::kApplied) in_progress.Discard();
  if (!outcome.ok()) {
    LogEvent(spdlog::level::err, "recommendation not applied",
             {{"recommendation_id", id}, {"error", outcome.error().message}});
    Report(id, LifecycleEvent::kFailed, outcome.error().message);
    return;
  }
  LogEvent(outcome->event == LifecycleEvent::kApplied ? spdlog::level::info : spdlog::level::warn,
           "recommendation " + std::string(protocol::LifecycleEventName(outcome->event)),
           {{"recommendation_id", id}, {"database", database}, {"detail", outcome->detail}});
  Report(id, outcome->event, outcome->detail);
  if (outcome->event == LifecycleEvent::kApplied && baseline && !outcome->noop) {
    Guard(executor, rec, *baseline);
  }
  if (outcome->event == LifecycleEvent::kVerified &&
      std::holds_alternative<protocol::RewriteSpec>(rec.spec)) {
    TrackRewrite(executor, rec);
  }
}

bool ApplyWorker::WaitWindow(int64_t seconds, const std::string& recommendation_id) {
  std::unique_lock lock(mu_);
  const bool cut_short = cv_.wait_for(lock, std::chrono::seconds(seconds), [&] {
    return stop_ || rollback_requested_.contains(recommendation_id);
  });
  if (cut_short && !stop_) {
    LogEvent(spdlog::level::info, "guard stopped watching: a rollback was requested",
             {{"recommendation_id", recommendation_id}});
  }
  return !cut_short;
}

void ApplyWorker::TrackRewrite(applier::Executor& executor, const protocol::Recommendation& rec) {
  const std::string& rewritten = std::get<protocol::RewriteSpec>(rec.spec).rewritten;
  auto original_before = executor.Measure(rec.affected_queryids);
  auto rewritten_before = executor.MeasureText(rewritten);
  if (!original_before.ok() || !rewritten_before.ok()) return;
  if (!WaitWindow(rec.guard.verify_window_s, rec.id)) return;
  auto original_after = executor.Measure(rec.affected_queryids);
  auto rewritten_after = executor.MeasureText(rewritten);
  if (!original_after.ok() || !rewritten_after.ok()) return;
  const auto calls = [](const applier::StatementFigures& a, const applier::StatementFigures& b) {
    return std::to_string(static_cast<int64_t>(b.calls - a.calls));
  };
  const std::string detail = "over " + std::to_string(rec.guard.verify_window_s) + " s: original " +
                             calls(*original_before, *original_after) + " calls, rewritten " +
                             calls(*rewritten_before, *rewritten_after) + " calls";
  if (auto audited =
          audit_.Append({rec.id, rec.database, AuditStep::kVerifyPassed, detail, "", "", {}});
      !audited.ok()) {
    return;
  }
  LogEvent(spdlog::level::info, "rewrite adoption",
           {{"recommendation_id", rec.id}, {"detail", detail}});
  Report(rec.id, LifecycleEvent::kVerified, detail);
}

void ApplyWorker::Guard(applier::Executor& executor, const protocol::Recommendation& rec,
                        const applier::StatementFigures& baseline) {
  // Stopping: the change stays, unverified (the audit log shows no verdict).
  if (!WaitWindow(rec.guard.verify_window_s, rec.id)) return;
  auto after = executor.Measure(rec.affected_queryids);
  if (!after.ok()) {
    LogEvent(spdlog::level::warn, "guard could not measure the affected statements",
             {{"recommendation_id", rec.id}, {"error", after.error().message}});
    return;
  }
  const applier::GuardVerdict verdict =
      applier::JudgeGuard(baseline, *after, rec.guard.max_regression_pct);
  const AuditStep step = verdict.regressed ? AuditStep::kRegressed : AuditStep::kVerifyPassed;
  if (auto audited = audit_.Append({rec.id, rec.database, step, verdict.detail, "", "", {}});
      !audited.ok()) {
    return;
  }
  LogEvent(verdict.regressed ? spdlog::level::warn : spdlog::level::info,
           verdict.regressed ? "change made the affected statements slower" : "change verified",
           {{"recommendation_id", rec.id}, {"database", rec.database}, {"detail", verdict.detail}});
  Report(rec.id, verdict.regressed ? LifecycleEvent::kRegressed : LifecycleEvent::kVerified,
         verdict.detail);
  if (!verdict.regressed || !rec.guard.auto_rollback) return;
  const Status undone = executor.Rollback(rec.id);
  LogEvent(undone.ok() ? spdlog::level::warn : spdlog::level::err,
           undone.ok() ? "regression rolled back automatically" : "automatic rollback failed",
           {{"recommendation_id", rec.id},
            {"database", rec.database},
            {"error", undone.ok() ? std::string() : undone.error().message}});
  Report(rec.id, undone.ok() ? LifecycleEvent::kRolledBack : LifecycleEvent::kFailed,
         undone.ok() ? "rolled back automatically after a regression: " + verdict.detail
                     : "automatic rollback failed: " + undone.error().message);
}

}  // namespace optischema::agent
