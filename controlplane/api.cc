#include "controlplane/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>

#include "controlplane/agent_proposals.h"
#include "controlplane/api_keys.h"
#include "controlplane/message_validation.h"
#include "controlplane/series_extraction.h"
#include "controlplane/snapshot_validation.h"
#include "core/time_format.h"
#include "protocol/json_bounds.h"
#include "protocol/recommendation.h"

namespace optischema::controlplane {
namespace {

constexpr char kUnknownAgent[] = "unknown agent; register first";
constexpr char kUnknownRecommendation[] = "unknown recommendation for this agent";
// The body of an audit request carrying several records: {"records":[{...},...]}.
constexpr char kAuditBatchKey[] = "records";
// The snapshot member with the advisor's index proposals (protocol/advice.h).
constexpr char kProposalsKey[] = "proposals";

enum class RouteKind { kRegister, kHeartbeat, kSnapshots, kRecommendations, kEvents, kAudit };

// What a route's body may be: bytes (decompressed) and JSON elements (input_limits.h).
struct BodyBounds {
  std::size_t bytes;
  std::size_t json_elements;
};

// The bounds of `kind`'s body, each byte bound capped by `max_body_bytes`.
BodyBounds BoundsOf(RouteKind kind, std::size_t max_body_bytes) {
  const auto capped = [max_body_bytes](std::size_t bytes) {
    return std::min(bytes, max_body_bytes);
  };
  switch (kind) {
    case RouteKind::kRegister:
      return {capped(kRegisterBodyBytes), kSmallBodyJsonElements};
    case RouteKind::kHeartbeat:
      return {capped(kHeartbeatBodyBytes), kSmallBodyJsonElements};
    case RouteKind::kEvents:
      return {capped(kEventBodyBytes), kSmallBodyJsonElements};
    case RouteKind::kAudit:
      return {capped(kAuditBodyBytes), kLargeBodyJsonElements};
    case RouteKind::kSnapshots:
      return {max_body_bytes, kLargeBodyJsonElements};
    case RouteKind::kRecommendations:
      break;
  }
  return {0, 0};
}

// The route's name in log lines (the path itself carries what the client wrote).
const char* NameOf(RouteKind kind) {
  switch (kind) {
    case RouteKind::kRegister:
      return "register";
    case RouteKind::kHeartbeat:
      return "heartbeat";
    case RouteKind::kSnapshots:
      return "snapshot";
    case RouteKind::kEvents:
      return "event";
    case RouteKind::kAudit:
      return "audit";
    case RouteKind::kRecommendations:
      break;
  }
  return "recommendations";
}

struct Route {
  RouteKind kind;
  const char* method;
  std::string agent_id;
  std::string recommendation_id;
};

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path.front() != '/') return segments;
  path.remove_prefix(1);
  for (;;) {
    const auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return segments;
    path.remove_prefix(slash + 1);
  }
}

// The route `path` names, whatever the method; nullopt for an unknown path.
std::optional<Route> FindRoute(std::string_view path) {
  const std::vector<std::string_view> s = Segments(path);
  for (const std::string_view segment : s) {
    if (segment.empty()) return std::nullopt;
  }
  if (s.size() < 3 || s[0] != "v1" || s[1] != "agents") return std::nullopt;
  if (s.size() == 3 && s[2] == "register") return Route{RouteKind::kRegister, "POST", "", ""};
  const std::string agent(s[2]);
  if (s.size() == 4 && s[3] == "heartbeat") return Route{RouteKind::kHeartbeat, "POST", agent, ""};
  if (s.size() == 4 && s[3] == "snapshots") return Route{RouteKind::kSnapshots, "POST", agent, ""};
  if (s.size() == 4 && s[3] == "audit") return Route{RouteKind::kAudit, "POST", agent, ""};
  if (s.size() == 4 && s[3] == "recommendations") {
    return Route{RouteKind::kRecommendations, "GET", agent, ""};
  }
  if (s.size() == 6 && s[3] == "recommendations" && s[5] == "events") {
    return Route{RouteKind::kEvents, "POST", agent, std::string(s[4])};
  }
  return std::nullopt;
}

nlohmann::json ReplyObject() { return nlohmann::json{{"protocol", ReplyProtocolVersion()}}; }

// Invalid UTF-8 (a protocol version cut mid-character) is replaced rather than thrown on.
std::string CompactJson(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ApiReply JsonReply(int status, const nlohmann::json& body) {
  return ApiReply{status, CompactJson(body), {}};
}

// The reply for a store failure: logged here, reported to the agent without internals.
ApiReply StoreFailure(const Error& error) {
  spdlog::error("store: {}", error.ToString());
  return ErrorReply(503, "control plane storage unavailable; retry later");
}

ApiReply InvalidBody(const Error& error) { return ErrorReply(400, error.message); }

// 202 with `reply` for a stored record, 404 for an unknown agent or recommendation.
ApiReply RecordReply(const Result<StoreOutcome>& outcome, const nlohmann::json& reply) {
  if (!outcome.ok()) return StoreFailure(outcome.error());
  if (*outcome == StoreOutcome::kUnknownAgent) return ErrorReply(404, kUnknownAgent);
  if (*outcome == StoreOutcome::kUnknownRecommendation) {
    return ErrorReply(404, kUnknownRecommendation);
  }
  return JsonReply(202, reply);
}

// The audit records of a body: the object itself, or each element of its "records" array (the
// batch's "protocol", when present, is checked), as compact JSON. kInvalidArgument naming the
// field at fault.
Result<std::vector<std::string>> AuditRecords(const nlohmann::json& body) {
  if (!body.contains(kAuditBatchKey)) return std::vector<std::string>{CompactJson(body)};
  if (body.contains("protocol")) {
    if (Status st = CheckProtocol(body); !st.ok()) return std::move(st).error();
  }
  const nlohmann::json& records = body[kAuditBatchKey];
  if (!records.is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "records: expected an array of objects");
  }
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!records[i].is_object()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "records[" + std::to_string(i) + "]: expected an object");
    }
    texts.push_back(CompactJson(records[i]));
  }
  return texts;
}

}  // namespace

ApiReply ErrorReply(int status, const std::string& reason) {
  nlohmann::json body = ReplyObject();
  body["error"] = reason;
  return JsonReply(status, body);
}

ApiReply BusyReply(std::size_t budget_bytes) {
  ApiReply reply =
      ErrorReply(503, "control plane busy: the requests in flight hold its " +
                          std::to_string(budget_bytes) + " bytes of request memory; retry later");
  reply.headers.emplace_back("Retry-After", std::to_string(kBusyRetryAfter.count()));
  return reply;
}

Api::Api(Store& store, ApiOptions options, const Clock& clock)
    : store_(store), options_(options), clock_(clock) {}

std::size_t Api::MaxBodyBytes(std::string_view path) const {
  const std::optional<Route> route = FindRoute(path);
  if (!route) return options_.max_body_bytes;
  return BoundsOf(route->kind, options_.max_body_bytes).bytes;
}

ApiReply Api::Handle(const ApiRequest& request, const BodyReader& read_body,
                     RequestBudget::Claim* memory) const {
  const std::optional<Route> route = FindRoute(request.path);
  if (!route) return ErrorReply(404, "no such route");
  const bool head_of_get = request.method == "HEAD" && std::string_view(route->method) == "GET";
  if (request.method != route->method && !head_of_get) {
    ApiReply reply = ErrorReply(405, std::string("method not allowed; use ") + route->method);
    reply.headers.emplace_back("Allow", route->method);
    return reply;
  }
  if (ApiReply failure; !Authorized(request.authorization, failure)) return failure;
  if (route->kind == RouteKind::kRecommendations) {
    return Recommendations(route->agent_id, request);
  }

  const BodyBounds bounds = BoundsOf(route->kind, options_.max_body_bytes);
  std::variant<std::string, ApiReply> body = read_body(bounds.bytes);
  if (auto* reply = std::get_if<ApiReply>(&body)) return std::move(*reply);
  std::string& text = std::get<std::string>(body);
  // A NUL byte would end nlohmann's input early, leaving what follows unchecked (and stored).
  if (text.find('\0') != std::string::npos) {
    return InvalidBody(MakeError(ErrorCode::kInvalidArgument, "body: not valid JSON"));
  }
  // Before anything parses or walks the body: validators and dump() recurse, and the parsed
  // tree's memory grows with its elements.
  const Result<protocol::JsonShape> shape =
      protocol::CheckJsonBounds(text, {kMaxJsonDepth, bounds.json_elements});
  if (!shape.ok()) {
    spdlog::warn("{} refused: {}", NameOf(route->kind), shape.error().message);
    return InvalidBody(shape.error());
  }
  if (memory != nullptr && !memory->Add(shape->elements * kParsedBytesPerElement + text.size())) {
    spdlog::warn("{} refused: in-flight request memory budget exhausted", NameOf(route->kind));
    return BusyReply(memory->budget_capacity());
  }
  switch (route->kind) {
    case RouteKind::kRegister:
      return Register(text);
    case RouteKind::kHeartbeat:
      return Heartbeat(route->agent_id, text);
    case RouteKind::kSnapshots:
      return Snapshot(route->agent_id, request, std::move(text));
    case RouteKind::kEvents:
      return Event(route->agent_id, route->recommendation_id, text);
    case RouteKind::kAudit:
      return Audit(route->agent_id, text);
    case RouteKind::kRecommendations:
      break;
  }
  return ErrorReply(500, "unhandled route");
}

bool Api::Authorized(const std::string& authorization, ApiReply& failure) const {
  const std::optional<std::string_view> token = BearerToken(authorization);
  auto known = store_.ApiKeyHashes();
  if (!known.ok()) {
    failure = StoreFailure(known.error());
    return false;
  }
  if (token && MatchesKnownKey(ApiKeySha256Hex(*token), *known)) return true;
  failure = ErrorReply(401, "missing or unknown API key");
  failure.headers.emplace_back("WWW-Authenticate", "Bearer");
  return false;
}

ApiReply Api::Register(const std::string& body) const {
  auto json = ParseJsonObject(body);
  if (!json.ok()) return InvalidBody(json.error());
  auto agent = ValidateRegisterRequest(*json);
  if (!agent.ok()) return InvalidBody(agent.error());
  if (Status st = store_.UpsertAgent(*agent); !st.ok()) return StoreFailure(st.error());
  nlohmann::json reply = ReplyObject();
  if (options_.snapshot_interval_s) reply["snapshot_interval_s"] = *options_.snapshot_interval_s;
  if (options_.heartbeat_interval_s) reply["heartbeat_interval_s"] = *options_.heartbeat_interval_s;
  if (options_.recommendations_interval_s) {
    reply["recommendations_interval_s"] = *options_.recommendations_interval_s;
  }
  return JsonReply(200, reply);
}

ApiReply Api::Heartbeat(const std::string& agent_id, const std::string& body) const {
  auto json = ParseJsonObject(body);
  if (!json.ok()) return InvalidBody(json.error());
  if (Status st = ValidateHeartbeat(*json); !st.ok()) return InvalidBody(st.error());
  auto outcome = store_.AddHeartbeat(agent_id, body);
  if (!outcome.ok()) return StoreFailure(outcome.error());
  if (*outcome == StoreOutcome::kUnknownAgent) return ErrorReply(404, kUnknownAgent);
  return JsonReply(200, ReplyObject());
}

ApiReply Api::Snapshot(const std::string& agent_id, const ApiRequest& request,
                       std::string body) const {
  auto json = ParseJsonObject(body);
  if (!json.ok()) return InvalidBody(json.error());
  auto record = ValidateSnapshot(*json, agent_id, request.idempotency_key);
  if (!record.ok()) return InvalidBody(record.error());
  record->body_json = std::move(body);
  auto outcome = store_.AddSnapshot(*record);
  if (!outcome.ok()) return StoreFailure(outcome.error());
  if (*outcome == StoreOutcome::kUnknownAgent) return ErrorReply(404, kUnknownAgent);
  const bool stored = *outcome == StoreOutcome::kStored;
  AgentProposalCounts proposals;
  if (const auto it = json->find(kProposalsKey); stored && it != json->end()) {
    proposals = StoreAgentProposals(store_, *record, *it, clock_.Now());
  }
  if (stored) AddToHistory(*json, *record);
  nlohmann::json reply = ReplyObject();
  reply["stored"] = stored;
  reply["proposals_stored"] = proposals.stored;
  reply["proposals_refused"] = proposals.refused;
  return JsonReply(stored ? 202 : 200, reply);
}

void Api::AddToHistory(const nlohmann::json& snapshot, const SnapshotRecord& record) const {
  const auto collected = ParseRfc3339(record.collected_at);
  if (!collected) return;
  const SnapshotSeries series = ExtractSeries(
      snapshot, record.agent_id,
      std::chrono::duration_cast<std::chrono::seconds>(collected->time_since_epoch()).count());
  // The snapshot is stored: a history that misses it shows a gap, and the agent must not resend.
  if (Status st = store_.AddSeriesSamples(series.database, series.statements, series.advice_json);
      !st.ok()) {
    spdlog::warn("snapshot {} stored, but not added to the console's history: {}",
                 record.snapshot_id, st.error().message);
  }
}

ApiReply Api::Recommendations(const std::string& agent_id, const ApiRequest& request) const {
  const bool approved = request.status_param.empty() || request.status_param == kStatusApproved;
  if (!approved && request.status_param != kStatusRollbackRequested) {
    return ErrorReply(400, std::string("status: expected \"") + kStatusApproved + "\" or \"" +
                               kStatusRollbackRequested + "\"");
  }
  auto known = store_.AgentExists(agent_id);
  if (!known.ok()) return StoreFailure(known.error());
  if (!*known) return ErrorReply(404, kUnknownAgent);
  // An expired approval is not applied any more; a rollback is requested whatever the expiry.
  auto bodies =
      store_.Recommendations(agent_id, approved ? kStatusApproved : kStatusRollbackRequested,
                             /*include_expired=*/!approved);
  if (!bodies.ok()) return StoreFailure(bodies.error());
  // The stored texts go out byte for byte: the signature covers them as the control plane wrote
  // them.
  std::string reply =
      R"({"protocol":)" + nlohmann::json(ReplyProtocolVersion()).dump() + R"(,"recommendations":[)";
  for (std::size_t i = 0; i < bodies->size(); ++i) {
    if (i > 0) reply += ',';
    reply += (*bodies)[i];
  }
  reply += "]}";
  return ApiReply{200, std::move(reply), {}};
}

ApiReply Api::Event(const std::string& agent_id, const std::string& recommendation_id,
                    const std::string& body) const {
  auto event = protocol::ParseRecommendationEvent(body);
  if (!event.ok()) return InvalidBody(event.error());
  if (event->recommendation_id != recommendation_id) {
    return ErrorReply(400, "recommendation_id: differs from the recommendation in the path");
  }
  return RecordReply(store_.AddRecommendationEvent(agent_id, recommendation_id, event->event, body),
                     ReplyObject());
}

ApiReply Api::Audit(const std::string& agent_id, const std::string& body) const {
  auto json = ParseJsonObject(body);
  if (!json.ok()) return InvalidBody(json.error());
  auto records = AuditRecords(*json);
  if (!records.ok()) return InvalidBody(records.error());
  nlohmann::json reply = ReplyObject();
  reply["stored"] = records->size();
  return RecordReply(store_.AddAuditRecords(agent_id, *records), reply);
}

}  // namespace optischema::controlplane
