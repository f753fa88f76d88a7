#include "delivery/control_plane_link.h"

#include <algorithm>
#include <utility>

#include "core/logging.h"
#include "core/version.h"
#include "delivery/recommendation_intake.h"
#include "delivery/retry_policy.h"
#include "protocol/messages.h"

namespace optischema::delivery {

using std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

namespace {

// Longest single wait: the thread reports itself alive at least this often while idle.
constexpr milliseconds kWaitSlice{1000};
constexpr milliseconds kRegisterRetryCap{std::chrono::minutes(5)};
constexpr milliseconds kIdlePoll{std::chrono::seconds(5)};

std::string Describe(const Result<HttpResponse>& result) {
  if (!result.ok()) return result.error().message;
  return "HTTP " + std::to_string(result->status);
}

}  // namespace

ControlPlaneLink::ControlPlaneLink(LinkSettings settings, std::string agent_id,
                                   std::string hostname, Spool& spool, AgentStatus& status,
                                   HttpClientFactory make_client, RecommendationSink sink,
                                   const applier::AuditLog* audit, const Clock& clock)
    : clock_(clock),
      agent_id_(std::move(agent_id)),
      hostname_(std::move(hostname)),
      spool_(spool),
      status_(status),
      make_client_(std::move(make_client)),
      settings_(std::move(settings)),
      sink_(std::move(sink)),
      audit_(audit) {
  Touch();
  thread_ = std::thread([this] { Run(); });
}

ControlPlaneLink::~ControlPlaneLink() {
  RequestStop(clock_.Monotonic());
  if (thread_.joinable()) thread_.join();
}

void ControlPlaneLink::Wake() {
  std::lock_guard lock(mu_);
  wake_ = true;
  cv_.notify_all();
}

void ControlPlaneLink::ReportEvent(protocol::RecommendationEvent event) {
  std::lock_guard lock(mu_);
  // An outcome said again while the same one waits for the control plane adds nothing.
  const bool queued = std::any_of(events_.begin(), events_.end(), [&](const auto& e) {
    return e.recommendation_id == event.recommendation_id && e.event == event.event &&
           e.detail == event.detail;
  });
  if (!queued) events_.push_back(std::move(event));
  wake_ = true;
  cv_.notify_all();
}

void ControlPlaneLink::SendEventsAndAudit() {
  for (;;) {
    std::optional<protocol::RecommendationEvent> event;
    {
      std::lock_guard lock(mu_);
      if (events_.empty()) break;
      event = events_.front();
    }
    HttpRequest http;
    http.method = "POST";
    http.path =
        "/v1/agents/" + agent_id_ + "/recommendations/" + event->recommendation_id + "/events";
    http.body = protocol::RecommendationEventToJson(*event);
    const auto result = http_->Send(http);
    Touch();
    const RetryDecision decision = Classify(result);
    if (decision != RetryDecision::kDone && decision != RetryDecision::kGiveUp) {
      NoteFailure("recommendation event: " + Describe(result), FailureOf(result, decision));
      return;
    }
    if (decision == RetryDecision::kGiveUp) {
      LogEvent(spdlog::level::warn, "control plane refused a recommendation event",
               {{"recommendation_id", event->recommendation_id}, {"error", Describe(result)}});
    }
    std::lock_guard lock(mu_);
    events_.pop_front();
  }
  if (audit_ == nullptr) return;
  std::string records;
  std::uint64_t last = mirrored_seq_;
  for (const applier::AuditRecord& record : audit_->After(mirrored_seq_)) {
    auto json = applier::AuditRecordJson(record);
    if (!json.ok()) continue;
    records += (records.empty() ? "" : ",") + *json;
    last = record.seq;
  }
  if (records.empty()) return;
  HttpRequest http;
  http.method = "POST";
  http.path = "/v1/agents/" + agent_id_ + "/audit";
  http.body = R"({"protocol":"1","records":[)" + records + "]}";
  const auto result = http_->Send(http);
  Touch();
  const RetryDecision decision = Classify(result);
  if (decision == RetryDecision::kDone || decision == RetryDecision::kGiveUp) {
    mirrored_seq_ = last;
  } else {
    NoteFailure("audit mirror: " + Describe(result), FailureOf(result, decision));
  }
}

void ControlPlaneLink::Reconfigure(LinkSettings settings) {
  std::lock_guard lock(mu_);
  pending_ = std::move(settings);
  cv_.notify_all();
}

void ControlPlaneLink::RequestStop(TimePoint flush_deadline) {
  std::lock_guard lock(mu_);
  flush_deadline_ns_.store(flush_deadline.time_since_epoch().count());
  stop_ = true;
  cv_.notify_all();
}

bool ControlPlaneLink::JoinUntil(TimePoint deadline) {
  {
    std::unique_lock lock(mu_);
    while (!done_ && clock_.Monotonic() < deadline) clock_.WaitUntil(cv_, lock, deadline);
    if (!done_) return false;
  }
  if (thread_.joinable()) thread_.join();
  return true;
}

TimePoint ControlPlaneLink::AliveAt() const {
  return TimePoint(std::chrono::steady_clock::duration(alive_at_ns_.load()));
}

void ControlPlaneLink::Touch() {
  alive_at_ns_.store(clock_.Monotonic().time_since_epoch().count());
}

bool ControlPlaneLink::Cancelled() const {
  return clock_.Monotonic().time_since_epoch().count() >= flush_deadline_ns_.load();
}

void ControlPlaneLink::ApplyPendingSettings() {
  std::optional<LinkSettings> pending;
  {
    std::lock_guard lock(mu_);
    pending.swap(pending_);
  }
  if (!pending && http_) return;
  if (pending) settings_ = std::move(*pending);
  HttpClientOptions options = settings_.http;
  options.cancelled = [this] { return Cancelled(); };
  sender_.reset();
  http_ = make_client_(options);
  sender_ = std::make_unique<SnapshotSender>(spool_, *http_, agent_id_,
                                             Backoff(settings_.send_backoff_base));
  registered_ = false;
}

void ControlPlaneLink::NoteReachable() {
  status_.RecordControlPlane(ControlPlaneState::kOk);
  if (!failing_) return;
  failing_ = false;
  LogEvent(spdlog::level::info, "control plane reachable again",
           {{"spooled", std::to_string(spool_.Depth())}});
}

ControlPlaneLink::Failure ControlPlaneLink::FailureOf(const Result<HttpResponse>& result,
                                                      RetryDecision decision) {
  if (decision == RetryDecision::kConfigProblem) return Failure::kRefused;
  if (!result.ok()) {
    return result.error().code == ErrorCode::kParseFailed ? Failure::kBadReply
                                                          : Failure::kUnreachable;
  }
  return Failure::kServerError;
}

void ControlPlaneLink::NoteFailure(const std::string& what, Failure failure) {
  const bool configuration_problem = failure == Failure::kRefused;
  status_.RecordControlPlane(configuration_problem ? ControlPlaneState::kRefused
                                                   : ControlPlaneState::kUnreachable);
  const auto now = clock_.Monotonic();
  if (failing_ && now - last_failure_log_ < kRepeatLogEvery) return;
  failing_ = true;
  last_failure_log_ = now;
  status_.RecordError("control plane: " + what);
  std::string_view message =
      "control plane unreachable; snapshots stay in the spool and are sent when it is back";
  if (failure == Failure::kRefused) {
    message =
        "control plane refuses the agent: check control_plane.url and the API key; snapshots "
        "stay in the spool";
  } else if (failure == Failure::kServerError) {
    message =
        "control plane answers with an error; snapshots stay in the spool and are sent when it "
        "recovers";
  } else if (failure == Failure::kBadReply) {
    message =
        "control plane sent a reply the agent cannot use; snapshots stay in the spool and are "
        "sent when it answers properly";
  }
  LogEvent(configuration_problem ? spdlog::level::err : spdlog::level::warn, message,
           {{"error", what}, {"spooled", std::to_string(spool_.Depth())}});
}

bool ControlPlaneLink::Register() {
  protocol::RegisterRequest request;
  request.agent_id = agent_id_;
  request.hostname = hostname_;
  request.version = kAgentVersion;
  const std::uint64_t generation = status_.RegistrationGeneration();
  request.databases = status_.Databases();
  HttpRequest http;
  http.method = "POST";
  http.path = "/v1/agents/register";
  http.body = protocol::RegisterRequestToJson(request);
  const auto result = http_->Send(http);
  const RetryDecision decision = Classify(result);
  if (decision != RetryDecision::kDone) {
    // A registration refused for good (other 4xx) needs a person as much as a 401 does.
    const Failure failure = FailureOf(result, decision);
    NoteFailure("registration: " + Describe(result),
                decision == RetryDecision::kGiveUp && failure != Failure::kBadReply
                    ? Failure::kRefused
                    : failure);
    return false;
  }
  auto reply = protocol::ParseRegisterResponse(result->body);
  if (!reply.ok()) {
    NoteFailure("registration reply: " + reply.error().message, Failure::kBadReply);
    return false;
  }
  if (reply->heartbeat_interval) settings_.heartbeat_interval = *reply->heartbeat_interval;
  if (reply->recommendations_interval) {
    settings_.recommendations_interval = *reply->recommendations_interval;
  }
  NoteReachable();
  if (!registered_) {
    LogEvent(spdlog::level::info, "registered with the control plane",
             {{"agent_id", agent_id_}, {"databases", std::to_string(request.databases.size())}});
  }
  registered_ = true;
  registered_generation_ = generation;
  return true;
}

bool ControlPlaneLink::SendHeartbeat() {
  dropped_unreported_ += spool_.TakeDropped();
  lost_unreported_ += status_.TakeSnapshotsLost();
  protocol::Heartbeat heartbeat;
  heartbeat.status = status_.Health();
  heartbeat.uptime_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Monotonic() - started_).count();
  heartbeat.spool_depth = static_cast<int64_t>(spool_.Depth());
  heartbeat.spool_dropped = static_cast<int64_t>(dropped_unreported_);
  heartbeat.snapshots_lost = static_cast<int64_t>(lost_unreported_);
  heartbeat.last_collect_at = status_.LastCollectAt();
  heartbeat.recent_errors = status_.TakeRecentErrors();
  HttpRequest http;
  http.method = "POST";
  http.path = "/v1/agents/" + agent_id_ + "/heartbeat";
  http.body = protocol::HeartbeatToJson(heartbeat);
  const auto result = http_->Send(http);
  if (result.ok() && result->status == 404) registered_ = false;
  const RetryDecision decision = Classify(result);
  // A 2xx that is not the control plane's acknowledgement does not count as reported: the drop
  // and loss counts and the errors it carried go out again with the next heartbeat.
  const bool acknowledged = decision == RetryDecision::kDone && IsAcknowledgement(result->body);
  if (!acknowledged) {
    status_.RestoreRecentErrors(std::move(heartbeat.recent_errors));
    if (decision == RetryDecision::kDone) {
      NoteFailure("heartbeat: " + Describe(result) + " without the control plane's acknowledgement",
                  Failure::kBadReply);
    } else {
      NoteFailure("heartbeat: " + Describe(result), FailureOf(result, decision));
    }
    return false;
  }
  if (dropped_unreported_ > 0) {
    LogEvent(spdlog::level::warn, "spool bound reached: oldest snapshots were dropped",
             {{"dropped", std::to_string(dropped_unreported_)}});
  }
  if (lost_unreported_ > 0) {
    LogEvent(spdlog::level::warn, "snapshots lost because the spool could not be written, reported",
             {{"lost", std::to_string(lost_unreported_)}});
  }
  dropped_unreported_ = 0;
  lost_unreported_ = 0;
  NoteReachable();
  return true;
}

void ControlPlaneLink::PullRecommendations() {
  HttpRequest http;
  http.method = "GET";
  http.path = "/v1/agents/" + agent_id_ + "/recommendations?status=approved";
  const auto result = http_->Send(http);
  const RetryDecision decision = Classify(result);
  if (decision != RetryDecision::kDone) {
    NoteFailure("recommendations: " + Describe(result), FailureOf(result, decision));
    return;
  }
  NoteReachable();
  if (sink_) {
    sink_(result->body, /*rollback_requests=*/false);
    http.path = "/v1/agents/" + agent_id_ + "/recommendations?status=rollback_requested";
    const auto rollbacks = http_->Send(http);
    Touch();
    if (Classify(rollbacks) == RetryDecision::kDone) {
      sink_(rollbacks->body, /*rollback_requests=*/true);
    }
  } else {
    AnnounceRecommendations(result->body, settings_.recommendation_public_key,
                            announced_recommendations_);
  }
}

void ControlPlaneLink::WaitUntil(TimePoint until) {
  std::unique_lock lock(mu_);
  while (!stop_ && !wake_ && !pending_ && clock_.Monotonic() < until) {
    clock_.WaitUntil(cv_, lock, std::min(until, clock_.Monotonic() + kWaitSlice));
    Touch();
  }
}

void ControlPlaneLink::Run() {
  const auto now = [this] { return clock_.Monotonic(); };
  Backoff register_backoff(std::chrono::seconds(1), kRegisterRetryCap);
  Backoff unknown_backoff(std::chrono::seconds(1), kRegisterRetryCap);
  TimePoint next_register = now();
  TimePoint next_heartbeat = now();
  TimePoint next_recommendations = now();
  TimePoint next_send = now();
  bool send_waits_out_outage = false;
  bool idle = false;
  for (;;) {
    Touch();
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
      if (wake_ && idle) next_send = now();
      wake_ = false;
    }
    ApplyPendingSettings();
    if (!registered_ || registered_generation_ != status_.RegistrationGeneration()) {
      if (now() >= next_register) {
        const bool registered = Register();
        Touch();
        if (registered) {
          register_backoff.Reset();
          next_send = now();
        } else {
          next_register = now() + register_backoff.Next();
        }
      }
      if (!registered_) {
        WaitUntil(next_register);
        continue;
      }
    }
    if (now() >= next_heartbeat) {
      // The control plane answers again: a delivery waiting out the backoff of an outage (up to
      // its cap, minutes) goes now, so the backlog never waits longer than a heartbeat interval.
      // A pause the server asked for (5xx, 429, Retry-After) is kept.
      if (SendHeartbeat() && send_waits_out_outage && next_send > now()) next_send = now();
      Touch();
      next_heartbeat = now() + settings_.heartbeat_interval;
    }
    if (now() >= next_recommendations) {
      PullRecommendations();
      Touch();
      next_recommendations = now() + settings_.recommendations_interval;
    }
    SendEventsAndAudit();
    if (registered_ && now() >= next_send) {
      const SendOutcome outcome = sender_->DeliverOne();
      Touch();
      idle = outcome.kind == SendOutcome::Kind::kIdle;
      send_waits_out_outage = outcome.WaitsOutOutage();
      switch (outcome.kind) {
        case SendOutcome::Kind::kIdle:
          // Workers wake the link after each append; the poll is only a safety net.
          next_send = now() + kIdlePoll;
          break;
        case SendOutcome::Kind::kDelivered:
          unknown_backoff.Reset();
          status_.RecordDelivery();
          NoteReachable();
          next_send = now();
          break;
        case SendOutcome::Kind::kQuarantined:
          status_.RecordError(outcome.detail);
          next_send = now();
          break;
        case SendOutcome::Kind::kAgentUnknown:
          // Register again; backing off, in case the server forgets the agent every time.
          registered_ = false;
          next_register = now() + unknown_backoff.Next();
          next_send = now() + outcome.wait;
          break;
        case SendOutcome::Kind::kDropped:
          next_send = now() + outcome.wait;
          break;
        case SendOutcome::Kind::kRetryLater:
        case SendOutcome::Kind::kUnreachable:
        case SendOutcome::Kind::kBadReply:
        case SendOutcome::Kind::kConfigurationProblem:
          if (outcome.wait > milliseconds(0)) {
            Failure failure = Failure::kServerError;  // it answered, asking for a pause
            if (outcome.kind == SendOutcome::Kind::kConfigurationProblem) {
              failure = Failure::kRefused;
            } else if (outcome.kind == SendOutcome::Kind::kBadReply) {
              failure = Failure::kBadReply;
            } else if (outcome.kind == SendOutcome::Kind::kUnreachable) {
              failure = Failure::kUnreachable;
            }
            NoteFailure(outcome.detail, failure);
          }
          next_send = now() + outcome.wait;
          break;
      }
      if (next_send <= now()) continue;
    }
    WaitUntil(std::min({next_send, next_heartbeat, next_recommendations}));
  }
  Flush();
  std::lock_guard lock(mu_);
  done_ = true;
  cv_.notify_all();
}

void ControlPlaneLink::Flush() {
  // With the client in use: settings that arrived with the stop would need a new registration.
  std::size_t delivered = 0;
  while (registered_ && !Cancelled() && spool_.Depth() > 0) {
    const SendOutcome outcome = sender_->DeliverOne();
    if (outcome.kind != SendOutcome::Kind::kDelivered &&
        outcome.kind != SendOutcome::Kind::kQuarantined) {
      break;
    }
    ++delivered;
    Touch();
  }
  LogEvent(spdlog::level::info, "control plane link stopped",
           {{"delivered_at_stop", std::to_string(delivered)},
            {"left_in_spool", std::to_string(spool_.Depth())}});
}

}  // namespace optischema::delivery
