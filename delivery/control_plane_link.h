#pragma once

// ControlPlaneLink: the one thread that talks to the control plane. It registers the agent, then
// delivers the spool oldest first (SnapshotSender), sends a heartbeat every heartbeat interval and
// pulls approved recommendations every recommendations interval. Every exchange is initiated by
// the agent over HTTPS. Outages are logged when the link state changes (and every 5 minutes while
// one lasts), never once per attempt; snapshots simply stay in the spool.
//
// Thread safety: Wake(), Reconfigure(), RequestStop(), JoinUntil() and AliveAt() may be called from
// any thread; everything else runs on the link's own thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "applier/audit_log.h"
#include "core/clock.h"
#include "core/recent_ids.h"
#include "delivery/agent_status.h"
#include "delivery/http_client.h"
#include "delivery/retry_policy.h"
#include "delivery/snapshot_sender.h"
#include "delivery/spool.h"
#include "protocol/recommendation.h"

namespace optischema::delivery {

struct LinkSettings {
  HttpClientOptions http;  // base_url, api_key, ca_file, proxy, timeouts
  std::chrono::milliseconds heartbeat_interval{60000};
  std::chrono::milliseconds recommendations_interval{300000};
  std::string recommendation_public_key;  // base64 Ed25519; empty: signatures not checked
  // First step of the snapshot sender's backoff (doubling, full jitter, capped at 5 minutes).
  std::chrono::milliseconds send_backoff_base{1000};
};

using HttpClientFactory = std::function<std::unique_ptr<HttpClient>(const HttpClientOptions&)>;

// Receives the body of each recommendations pull reply (on the link thread; must not block):
// the approved ones, and with `rollback_requests` the applied ones whose rollback a person asked
// for on the control plane.
using RecommendationSink = std::function<void(std::string body, bool rollback_requests)>;

class ControlPlaneLink {
 public:
  static constexpr std::chrono::minutes kRepeatLogEvery{5};

  // `spool`, `status`, `audit` (may be null: nothing to mirror) and `clock` must outlive the
  // link. Without a `sink`, pulled recommendations are only checked and logged
  // (AnnounceRecommendations). Intervals, backoff, stop deadlines and AliveAt() are measured and
  // waited for on `clock`'s monotonic time. The thread starts at once.
  ControlPlaneLink(LinkSettings settings, std::string agent_id, std::string hostname, Spool& spool,
                   AgentStatus& status, HttpClientFactory make_client,
                   RecommendationSink sink = nullptr, const applier::AuditLog* audit = nullptr,
                   const Clock& clock = RealClock());
  ~ControlPlaneLink();

  ControlPlaneLink(const ControlPlaneLink&) = delete;
  ControlPlaneLink& operator=(const ControlPlaneLink&) = delete;

  // A snapshot was spooled: deliver it now unless the link is backing off.
  void Wake();
  // Queues a lifecycle event for the control plane; sent in order, kept until accepted (in
  // memory: the audit log is the durable record). An event equal to one still queued (same
  // recommendation, event and detail) is dropped.
  void ReportEvent(protocol::RecommendationEvent event);
  // New settings (configuration reload): the next step uses a new client and registers again.
  void Reconfigure(LinkSettings settings);
  // Stops the loop; until `flush_deadline` the link keeps delivering what the spool holds (while
  // the control plane accepts it), then abandons any exchange in progress and ends.
  void RequestStop(std::chrono::steady_clock::time_point flush_deadline);
  // Waits until the thread ended or `deadline` passed; true when it ended (and was joined).
  bool JoinUntil(std::chrono::steady_clock::time_point deadline);

  std::chrono::steady_clock::time_point AliveAt() const;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;

  void Run();
  void Flush();
  bool Register();
  // True when the control plane accepted it.
  bool SendHeartbeat();
  void PullRecommendations();
  // Sends queued events and audit records not mirrored yet; stops at the first failure.
  void SendEventsAndAudit();
  // Records the outcome of an exchange in the link state, logging transitions.
  void NoteReachable();
  // How an exchange failed: no answer (network, TLS, timeout), an HTTP status asking to retry
  // (5xx, 408, 429), a refusal that a person must fix (401/403, 3xx, a registration refused), or
  // an answer that is not what protocol v1 says (not JSON, wrong shape or version, too large).
  enum class Failure { kUnreachable, kServerError, kRefused, kBadReply };
  void NoteFailure(const std::string& what, Failure failure);
  // The Failure of an exchange that `decision` says did not succeed; kBadReply when the client
  // refused the reply itself.
  static Failure FailureOf(const Result<HttpResponse>& result, RetryDecision decision);
  // Waits until `until`, a wake-up or a stop; applies pending settings.
  void WaitUntil(TimePoint until);
  void ApplyPendingSettings();
  bool Cancelled() const;
  void Touch();

  const Clock& clock_;
  const std::string agent_id_;
  const std::string hostname_;
  Spool& spool_;
  AgentStatus& status_;
  HttpClientFactory make_client_;
  const TimePoint started_ = clock_.Monotonic();

  // Owned by the link thread.
  LinkSettings settings_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<SnapshotSender> sender_;  // uses http_
  bool registered_ = false;
  std::uint64_t registered_generation_ = 0;
  bool failing_ = false;
  TimePoint last_failure_log_{};
  std::uint64_t dropped_unreported_ = 0;
  std::uint64_t lost_unreported_ = 0;  // snapshots never spooled, not yet in an accepted heartbeat
  RecentIds announced_recommendations_{4096};
  RecommendationSink sink_;
  const applier::AuditLog* audit_;
  std::uint64_t mirrored_seq_ = 0;  // audit records up to this seq reached the control plane

  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;                                 // guarded by mu_
  bool stop_ = false;                                 // guarded by mu_
  bool done_ = false;                                 // guarded by mu_
  std::optional<LinkSettings> pending_;               // guarded by mu_
  std::deque<protocol::RecommendationEvent> events_;  // guarded by mu_
  std::atomic<std::int64_t> flush_deadline_ns_{INT64_MAX};
  std::atomic<std::int64_t> alive_at_ns_{0};
  std::thread thread_;  // last: started when everything else is ready
};

}  // namespace optischema::delivery
