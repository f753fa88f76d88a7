#include "delivery/snapshot_sender.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace optischema::delivery {

namespace {

std::string Describe(const Result<HttpResponse>& result) {
  if (!result.ok()) return result.error().message;
  return "HTTP " + std::to_string(result->status);
}

}  // namespace

bool IsAcknowledgement(std::string_view body) {
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  return parsed.is_object();
}

SnapshotSender::SnapshotSender(Spool& spool, HttpClient& http, std::string agent_id,
                               Backoff backoff)
    : spool_(spool), http_(http), agent_id_(std::move(agent_id)), backoff_(std::move(backoff)) {}

SendOutcome SnapshotSender::Quarantine(const SpoolEntry& entry, std::string why) {
  SendOutcome out;
  out.kind = SendOutcome::Kind::kQuarantined;
  out.detail = "snapshot " + entry.id + " moved to the spool's bad/ folder: " + why;
  if (Status st = spool_.Quarantine(entry); !st.ok()) {
    // Cannot move it: keep it and retry later rather than lose it.
    out.kind = SendOutcome::Kind::kRetryLater;
    out.wait = backoff_.Next();
    out.detail = "snapshot " + entry.id + " refused (" + why +
                 ") and could not be set aside: " + st.error().message;
    spdlog::error("{}", out.detail);
    return out;
  }
  ++quarantined_;
  spdlog::error("{}", out.detail);
  return out;
}

SendOutcome SnapshotSender::DeliverOne() {
  const std::optional<SpoolEntry> entry = spool_.Oldest();
  if (!entry) return SendOutcome{};

  auto body = spool_.ReadCompressed(*entry);
  if (!body.ok()) {
    const auto now_oldest = spool_.Oldest();
    if (!now_oldest || now_oldest->seq != entry->seq) {
      // Dropped by the spool bound while we were reading it: move on at once.
      return SendOutcome{SendOutcome::Kind::kDropped, std::chrono::milliseconds(0),
                         "snapshot " + entry->id + " was dropped by the spool bound"};
    }
    return Quarantine(*entry, "unreadable: " + body.error().message);
  }

  HttpRequest request;
  request.method = "POST";
  request.path = "/v1/agents/" + agent_id_ + "/snapshots";
  request.body = std::move(body).value();
  request.body_is_gzip = true;
  request.idempotency_key = entry->id;
  const auto result = http_.Send(request);

  SendOutcome out;
  out.kind = SendOutcome::Kind::kRetryLater;
  if (result.ok() && result->status == 404) {
    out.kind = SendOutcome::Kind::kAgentUnknown;
    out.detail =
        "control plane does not know agent " + agent_id_ + " (HTTP 404); registering again";
    spdlog::warn("{}", out.detail);
    return out;
  }
  switch (Classify(result)) {
    case RetryDecision::kDone:
      if (!IsAcknowledgement(result->body)) {
        // Something answered 2xx, but not the control plane's acknowledgement: keep the entry.
        out.kind = SendOutcome::Kind::kBadReply;
        out.wait = backoff_.Next();
        out.detail = "snapshot " + entry->id + " not delivered: " + Describe(result) +
                     " without the control plane's acknowledgement (a proxy or a server that is "
                     "not the control plane answered?); retrying in " +
                     std::to_string(out.wait.count()) + " ms";
        return out;
      }
      if (Status st = spool_.Remove(*entry); !st.ok()) {
        // Kept, and sent again later (the server stores it once); not at once, or a spool that
        // cannot be written would be re-sent in a tight loop.
        out.wait = backoff_.Next();
        out.detail = "snapshot " + entry->id + " delivered but not removed from the spool (" +
                     st.error().message + "); it will be sent again and stored once";
        spdlog::warn("{}", out.detail);
        return out;
      }
      ++delivered_;
      backoff_.Reset();
      return SendOutcome{SendOutcome::Kind::kDelivered, std::chrono::milliseconds(0),
                         "snapshot " + entry->id + " delivered (" + Describe(result) + ")"};
    case RetryDecision::kRetry:
      if (!result.ok()) out.kind = SendOutcome::Kind::kUnreachable;
      out.wait = backoff_.Next();
      break;
    case RetryDecision::kRetryAfter:
      out.wait = std::max<std::chrono::milliseconds>(
          backoff_.Next(), RetryAfter(*result).value_or(std::chrono::seconds(0)));
      break;
    case RetryDecision::kConfigProblem:
      out.kind = SendOutcome::Kind::kConfigurationProblem;
      out.wait = std::max(backoff_.Next(), kConfigProblemWait);
      out.detail = "control plane refused the agent (" + Describe(result) +
                   "): check control_plane.url and the API key; snapshots stay in the spool";
      spdlog::error("{}", out.detail);
      return out;
    case RetryDecision::kGiveUp:
      if (!result.ok()) {
        // A local failure (out of memory, a reply that would not decompress) says nothing about
        // the snapshot: keep it.
        out.wait = backoff_.Next();
        out.detail = "snapshot " + entry->id + " not delivered (" + Describe(result) +
                     "); retrying in " + std::to_string(out.wait.count()) + " ms";
        spdlog::error("{}", out.detail);
        return out;
      }
      return Quarantine(*entry, "control plane refused it (" + Describe(result) + ")");
  }
  out.detail = "snapshot " + entry->id + " not delivered (" + Describe(result) + "); retrying in " +
               std::to_string(out.wait.count()) + " ms";
  // Outages are reported by the caller when the link state changes, not once per attempt.
  spdlog::debug("{}", out.detail);
  return out;
}

}  // namespace optischema::delivery
