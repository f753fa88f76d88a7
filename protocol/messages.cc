#include "protocol/messages.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "protocol/json_bounds.h"
#include "protocol/json_writer.h"
#include "protocol/snapshot.h"

namespace optischema::protocol {

Status CheckProtocolVersion(std::string_view version) {
  int major = 0;
  const auto dot = version.find('.');
  const std::string_view major_text = version.substr(0, dot);
  auto [ptr, ec] = std::from_chars(major_text.data(), major_text.data() + major_text.size(), major);
  const bool well_formed = ec == std::errc() && ptr == major_text.data() + major_text.size();
  if (well_formed && major == kProtocolMajor) return OkStatus();
  return MakeError(ErrorCode::kUnsupportedVersion,
                   "control plane speaks protocol \"" +
                       std::string(version.substr(0, std::min<std::size_t>(version.size(), 16))) +
                       "\", this agent speaks " + ProtocolVersionString() +
                       ": upgrade the agent (or point it at a compatible control plane)");
}

std::string RegisterRequestToJson(const RegisterRequest& r) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("protocol");
  w.String(ProtocolVersionString());
  w.Key("agent_id");
  w.String(r.agent_id);
  w.Key("hostname");
  w.String(r.hostname);
  w.Key("version");
  w.String(r.version);
  w.Key("databases");
  w.BeginArray();
  for (const auto& db : r.databases) {
    w.BeginObject();
    w.Key("name");
    w.String(db.name);
    w.Key("server_version_num");
    w.Int(db.server_version_num);
    w.Key("extensions");
    w.BeginArray();
    for (const auto& e : db.extensions) w.String(e);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

namespace {

Result<std::optional<std::chrono::seconds>> Interval(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::chrono::seconds>();
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 86400) {
    return MakeError(ErrorCode::kParseFailed,
                     std::string("register response: ") + key +
                         " must be a whole number of seconds from 1 to 86400");
  }
  return std::optional<std::chrono::seconds>(std::chrono::seconds(it->get<int64_t>()));
}

}  // namespace

Result<RegisterResponse> ParseRegisterResponse(std::string_view body) {
  if (auto shape = CheckJsonBounds(body, kReplyJsonBounds, "register response"); !shape.ok()) {
    return MakeError(ErrorCode::kParseFailed, shape.error().message);
  }
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Often an HTML page from a proxy or load balancer answering in the control plane's place.
    return MakeError(ErrorCode::kParseFailed, "register response is not JSON");
  }
  if (!j.is_object()) {
    return MakeError(ErrorCode::kParseFailed, "register response is not a JSON object");
  }
  const auto version = j.find("protocol");
  if (version == j.end() || !version->is_string()) {
    return MakeError(ErrorCode::kParseFailed, "register response has no \"protocol\" string");
  }
  if (Status st = CheckProtocolVersion(version->get<std::string>()); !st.ok()) {
    return std::move(st).error();
  }
  RegisterResponse out;
  for (auto [key, field] :
       {std::pair{"snapshot_interval_s", &out.snapshot_interval},
        std::pair{"heartbeat_interval_s", &out.heartbeat_interval},
        std::pair{"recommendations_interval_s", &out.recommendations_interval}}) {
    auto v = Interval(j, key);
    RETURN_IF_ERROR(v);
    *field = *v;
  }
  return out;
}

std::string HeartbeatToJson(const Heartbeat& h) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("protocol");
  w.String(ProtocolVersionString());
  w.Key("status");
  w.String(h.status);
  w.Key("uptime_s");
  w.Int(h.uptime_s);
  w.Key("spool_depth");
  w.Int(h.spool_depth);
  w.Key("spool_dropped");
  w.Int(h.spool_dropped);
  w.Key("snapshots_lost");
  w.Int(h.snapshots_lost);
  w.Key("last_collect_at");
  w.StringOrNull(h.last_collect_at);
  w.Key("recent_errors");
  w.BeginArray();
  for (const auto& e : h.recent_errors) w.String(e);
  w.EndArray();
  w.EndObject();
  return out;
}

}  // namespace optischema::protocol
