#include "controlplane/message_validation.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "core/uuid.h"
#include "protocol/snapshot.h"

namespace optischema::controlplane {
namespace {

constexpr std::size_t kMaxEchoedVersion = 16;

bool IsNonNegativeInteger(const nlohmann::json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

}  // namespace

std::string ReplyProtocolVersion() { return std::to_string(protocol::kProtocolMajor); }

Result<nlohmann::json> ParseJsonObject(std::string_view body) {
  // nlohmann's parser ends the input at a NUL byte, which JSON text never holds: what follows
  // would be stored unchecked.
  if (body.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "body: not valid JSON");
  }
  nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return MakeError(ErrorCode::kInvalidArgument, "body: not valid JSON");
  }
  if (!json.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "body: expected a JSON object");
  }
  return json;
}

Status CheckProtocol(const nlohmann::json& message) {
  auto version = FieldChecker(message, "").String("protocol");
  RETURN_IF_ERROR(version);
  const std::string_view text = *version;
  const std::string_view major_text = text.substr(0, text.find('.'));
  int major = 0;
  const auto [end, ec] =
      std::from_chars(major_text.data(), major_text.data() + major_text.size(), major);
  if (ec == std::errc() && end == major_text.data() + major_text.size() &&
      major == protocol::kProtocolMajor) {
    return OkStatus();
  }
  return MakeError(ErrorCode::kInvalidArgument, "protocol: the agent speaks protocol \"" +
                                                    std::string(text.substr(0, kMaxEchoedVersion)) +
                                                    "\", this control plane speaks " +
                                                    protocol::ProtocolVersionString());
}

FieldChecker::FieldChecker(const nlohmann::json& object, std::string where)
    : object_(object), where_(std::move(where)) {}

std::string FieldChecker::Name(std::string_view key) const {
  return where_.empty() ? std::string(key) : where_ + "." + std::string(key);
}

Error FieldChecker::Invalid(std::string_view key, std::string_view problem) const {
  return MakeError(ErrorCode::kInvalidArgument, Name(key) + ": " + std::string(problem));
}

Result<const nlohmann::json*> FieldChecker::Get(const char* key, bool required) const {
  const auto it = object_.find(key);
  if (it == object_.end()) {
    if (required) return Invalid(key, "missing");
    return static_cast<const nlohmann::json*>(nullptr);
  }
  return &*it;
}

Result<std::string> FieldChecker::String(const char* key) const {
  auto v = Get(key, true);
  RETURN_IF_ERROR(v);
  if (!(*v)->is_string()) return Invalid(key, "expected a string");
  return (*v)->get<std::string>();
}

Result<std::string> FieldChecker::NonEmptyString(const char* key) const {
  auto v = String(key);
  if (v.ok() && v->empty()) return Invalid(key, "must not be empty");
  return v;
}

Status FieldChecker::OptionalStringOrNull(const char* key) const {
  auto v = Get(key, false);
  RETURN_IF_ERROR(v);
  if (*v != nullptr && !(*v)->is_string() && !(*v)->is_null()) {
    return Invalid(key, "expected a string or null");
  }
  return OkStatus();
}

Status FieldChecker::Boolean(const char* key, bool required) const {
  auto v = Get(key, required);
  RETURN_IF_ERROR(v);
  if (*v != nullptr && !(*v)->is_boolean()) return Invalid(key, "expected true or false");
  return OkStatus();
}

Status FieldChecker::NonNegativeInteger(const char* key, bool required) const {
  auto v = Get(key, required);
  RETURN_IF_ERROR(v);
  if (*v != nullptr && !IsNonNegativeInteger(**v)) {
    return Invalid(key, "expected a non-negative integer");
  }
  return OkStatus();
}

Status FieldChecker::NonNegativeNumber(const char* key, bool required) const {
  auto v = Get(key, required);
  RETURN_IF_ERROR(v);
  if (*v != nullptr && !((*v)->is_number() && (*v)->get<double>() >= 0)) {
    return Invalid(key, "expected a non-negative number");
  }
  return OkStatus();
}

Status FieldChecker::Number(const char* key, bool required) const {
  auto v = Get(key, required);
  RETURN_IF_ERROR(v);
  if (*v != nullptr && !(*v)->is_number()) return Invalid(key, "expected a number");
  return OkStatus();
}

Status FieldChecker::Object(const char* key, bool required) const {
  auto v = Get(key, required);
  RETURN_IF_ERROR(v);
  if (*v != nullptr && !(*v)->is_object()) return Invalid(key, "expected an object");
  return OkStatus();
}

Result<const nlohmann::json*> FieldChecker::Array(const char* key) const {
  auto v = Get(key, true);
  if (!v.ok()) return v;
  if (!(*v)->is_array()) return Invalid(key, "expected an array");
  return v;
}

Status FieldChecker::OptionalArray(const char* key) const {
  auto v = Get(key, false);
  RETURN_IF_ERROR(v);
  if (*v != nullptr && !(*v)->is_array()) return Invalid(key, "expected an array");
  return OkStatus();
}

Result<AgentRegistration> ValidateRegisterRequest(const nlohmann::json& body) {
  if (Status st = CheckProtocol(body); !st.ok()) return std::move(st).error();
  const FieldChecker fields(body, "");
  AgentRegistration agent;
  auto agent_id = fields.String("agent_id");
  RETURN_IF_ERROR(agent_id);
  if (!IsCanonicalUuid(*agent_id)) {
    return fields.Invalid("agent_id", "expected a UUID in canonical lower-case form");
  }
  auto hostname = fields.String("hostname");
  RETURN_IF_ERROR(hostname);
  auto version = fields.NonEmptyString("version");
  RETURN_IF_ERROR(version);
  auto databases = fields.Array("databases");
  RETURN_IF_ERROR(databases);
  for (std::size_t i = 0; i < (*databases)->size(); ++i) {
    const nlohmann::json& db = (**databases)[i];
    const std::string where = "databases[" + std::to_string(i) + "]";
    if (!db.is_object()) return fields.Invalid(where, "expected an object");
    const FieldChecker db_fields(db, where);
    if (auto name = db_fields.NonEmptyString("name"); !name.ok()) return std::move(name).error();
    if (Status st = db_fields.NonNegativeInteger("server_version_num", true); !st.ok()) {
      return std::move(st).error();
    }
    auto extensions = db_fields.Array("extensions");
    RETURN_IF_ERROR(extensions);
    if (!std::all_of((*extensions)->begin(), (*extensions)->end(),
                     [](const nlohmann::json& e) { return e.is_string(); })) {
      return db_fields.Invalid("extensions", "expected an array of strings");
    }
  }
  agent.agent_id = std::move(*agent_id);
  agent.hostname = std::move(*hostname);
  agent.version = std::move(*version);
  agent.databases_json = (*databases)->dump();
  return agent;
}

Status ValidateHeartbeat(const nlohmann::json& body) {
  if (Status st = CheckProtocol(body); !st.ok()) return st;
  const FieldChecker fields(body, "");
  if (auto status = fields.NonEmptyString("status"); !status.ok()) return std::move(status).error();
  for (const char* key : {"uptime_s", "spool_depth"}) {
    if (Status st = fields.NonNegativeInteger(key, true); !st.ok()) return st;
  }
  if (Status st = fields.NonNegativeInteger("spool_dropped", false); !st.ok()) return st;
  if (Status st = fields.NonNegativeInteger("snapshots_lost", false); !st.ok()) return st;
  if (Status st = fields.OptionalStringOrNull("last_collect_at"); !st.ok()) return st;
  auto errors = fields.Array("recent_errors");
  RETURN_IF_ERROR(errors);
  if (!std::all_of((*errors)->begin(), (*errors)->end(),
                   [](const nlohmann::json& e) { return e.is_string(); })) {
    return fields.Invalid("recent_errors", "expected an array of strings");
  }
  return OkStatus();
}

}  // namespace optischema::controlplane
