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
// 413/400), then the body's content (400), the agent (404 "unknown agent; register first").
// A store failure is 503 (the agent retries later) without internals in the reply.
//
// Thread safety: Handle may be called from several threads at once (the store serializes).

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "protocol/controlplane/store.h"

namespace optischema::controlplane {

struct ApiReply {
  int status = 200;
  std::string body;  // JSON
  std::vector<std::pair<std::string, std::string>> headers;
};

// Reads the request body (decompressed); returns it, or the reply to send instead (a body too
// large, or one that cannot be read). Called at most once, only once the route and the API key
// are known to be good.
using BodyReader = std::function<std::variant<std::string, ApiReply>()>;

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
  std::optional<int> snapshot_interval_s;
  std::optional<int> heartbeat_interval_s;
  std::optional<int> recommendations_interval_s;
};

// The JSON error reply {"protocol":"1","error":reason}.
ApiReply ErrorReply(int status, const std::string& reason);

class Api {
 public:
  // `store` and `clock` must outlive the Api. `clock` gives the expiry of agent proposals.
  Api(Store& store, ApiOptions options, const Clock& clock);

  ApiReply Handle(const ApiRequest& request, const BodyReader& read_body) const;

 private:
  ApiReply Register(const std::string& body) const;
  ApiReply Heartbeat(const std::string& agent_id, const std::string& body) const;
  ApiReply Snapshot(const std::string& agent_id, const ApiRequest& request,
                    const std::string& body) const;
  ApiReply Recommendations(const std::string& agent_id, const ApiRequest& request) const;
  ApiReply Event(const std::string& agent_id, const std::string& recommendation_id,
                 const std::string& body) const;
  ApiReply Audit(const std::string& agent_id, const std::string& body) const;
  bool Authorized(const std::string& authorization, ApiReply& failure) const;

  Store& store_;
  ApiOptions options_;
  const Clock& clock_;
};

}  // namespace optischema::controlplane
