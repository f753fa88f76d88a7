#pragma once

// The protocol v1 HTTP API of the reference control plane, independent of the HTTP library: a
// request in, a JSON reply out. https_server.h carries it over HTTPS.
//
// Routes (every reply is a JSON object with "protocol"; errors add "error" with the reason):
//   POST /v1/agents/register                            200, with intervals when configured
//   POST /v1/agents/{id}/heartbeat                      200
//   POST /v1/agents/{id}/snapshots                      202 stored, 200 a repeated snapshot_id;
//        {"stored":bool,"proposals_stored":N,"proposals_refused":M}: a stored snapshot's
//        `proposals` become `proposed` recommendations (agent_proposals.h), N of them new, M
//        malformed and skipped; a repeated snapshot stores nothing (both 0)
//   GET  /v1/agents/{id}/recommendations?status=S       200 {"recommendations":[...]}
//        S = approved (the default): approved and unexpired, waiting for the agent;
//        S = rollback_requested: applied ones a person asked to undo, expired or not.
//        Each element is the signed recommendation exactly as approved.
//   POST /v1/agents/{id}/recommendations/{rid}/events   202; the event (recommendation.h) must
//        name rid, and becomes the recommendation's status (Store::AddRecommendationEvent);
//        404 when the agent was never served rid
//   POST /v1/agents/{id}/audit                          202 {"stored":N}; the body is one record
//        (a JSON object) or {"records":[...]} with several, each stored as compact JSON
// Order of checks: route (404, or 405 with an Allow header), API key (401), body (its reader's
// 413/400/503), the body's shape before it is parsed (400: nested deeper than kMaxJsonDepth, or
// more elements than the route allows; input_limits.h), the memory its parsed tree would take
// (503 with Retry-After when the in-flight budget cannot take it), then the body's content (400),
// the agent (404 "unknown agent; register first"). A store failure is 503 (the agent retries
// later) without internals in the reply.
//
// Thread safety: Handle may be called from several threads at once (the store serializes).

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/input_limits.h"
#include "controlplane/request_budget.h"
#include "controlplane/store.h"
#include "core/clock.h"

namespace optischema::controlplane {

struct ApiReply {
  int status = 200;
  std::string body;  // JSON unless content_type says otherwise (the console's pages)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
};

// Reads the request body (decompressed), refusing one larger than `max_bytes` (the route's
// bound); returns it, or the reply to send instead (a body too large, one that cannot be read, or
// the in-flight budget exhausted). Called at most once, only once the route and the API key are
// known to be good.
using BodyReader = std::function<std::variant<std::string, ApiReply>(std::size_t max_bytes)>;

struct ApiRequest {
  std::string method;
  std::string path;             // without the query string
  std::string status_param;     // the "status" query parameter; empty when absent
  std::string authorization;    // the Authorization header; empty when absent
  std::string idempotency_key;  // the Idempotency-Key header; empty when absent
};

// Intervals the register reply asks the agent to use; absent ones are left out of the reply, so
// the agent keeps its own.
struct ApiOptions {
  // The largest body of any route (snapshots); caps every route's bound (input_limits.h).
  std::size_t max_body_bytes = kDefaultMaxBodyBytes;
  std::optional<int> snapshot_interval_s;
  std::optional<int> heartbeat_interval_s;
  std::optional<int> recommendations_interval_s;
};

// The JSON error reply {"protocol":"1","error":reason}.
ApiReply ErrorReply(int status, const std::string& reason);
// 503 with Retry-After (kBusyRetryAfter): the in-flight budget of `budget_bytes` is exhausted.
ApiReply BusyReply(std::size_t budget_bytes);

class Api {
 public:
  // `store` and `clock` must outlive the Api. `clock` gives the expiry of agent proposals.
  Api(Store& store, ApiOptions options, const Clock& clock);

  // `memory` is the request's share of the server's in-flight budget, which the parsed body is
  // claimed on; null: not bounded (tests).
  ApiReply Handle(const ApiRequest& request, const BodyReader& read_body,
                  RequestBudget::Claim* memory = nullptr) const;

  // The largest body the route of `path` takes (decompressed); for a path no route has, the
  // largest of any route (its body is read and dropped within that bound before the 404).
  std::size_t MaxBodyBytes(std::string_view path) const;
  std::size_t largest_body_bytes() const { return options_.max_body_bytes; }

 private:
  ApiReply Register(const std::string& body) const;
  ApiReply Heartbeat(const std::string& agent_id, const std::string& body) const;
  ApiReply Snapshot(const std::string& agent_id, const ApiRequest& request, std::string body) const;
  ApiReply Recommendations(const std::string& agent_id, const ApiRequest& request) const;
  // Adds a newly stored snapshot to the console's history (series_extraction.h); a failure is
  // logged, as the snapshot itself is stored.
  void AddToHistory(const nlohmann::json& snapshot, const SnapshotRecord& record) const;
  ApiReply Event(const std::string& agent_id, const std::string& recommendation_id,
                 const std::string& body) const;
  ApiReply Audit(const std::string& agent_id, const std::string& body) const;
  bool Authorized(const std::string& authorization, ApiReply& failure) const;

  Store& store_;
  ApiOptions options_;
  const Clock& clock_;
};

}  // namespace optischema::controlplane
