#pragma once

// Checks on what agents send, shared by the routes: JSON parsing, the protocol version, field
// types, and the registration and heartbeat bodies (snapshot_validation.h has the snapshot).
//
// Every failure is kInvalidArgument whose message names the field as a path
// ("databases[1].name: expected a string") and never contains a value from the request, except
// the protocol version, cut to 16 characters, so both versions can be named.
//
// Pure functions; thread-safe.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "controlplane/store.h"
#include "core/result.h"
#include "core/uuid.h"

namespace optischema::controlplane {

// The protocol version the control plane puts in every reply: the major version alone.
std::string ReplyProtocolVersion();

// `body` parsed; it must be a JSON object (and hold no NUL byte, which ends nlohmann's input).
Result<nlohmann::json> ParseJsonObject(std::string_view body);

// `message.protocol` is a string "<major>[.<minor>]" whose major is protocol::kProtocolMajor.
Status CheckProtocol(const nlohmann::json& message);

// Typed access to the fields of one JSON object, for validation. `where` is the object's path
// ("" at the top level, "statements[3]") and prefixes field names in messages. The object must
// outlive the checker.
class FieldChecker {
 public:
  FieldChecker(const nlohmann::json& object, std::string where);

  // "<where>.<key>", or "<key>" at the top level.
  std::string Name(std::string_view key) const;
  // The error "<name>: <problem>".
  Error Invalid(std::string_view key, std::string_view problem) const;

  // The field, or null when absent; an error when absent and required.
  Result<const nlohmann::json*> Get(const char* key, bool required) const;

  Result<std::string> String(const char* key) const;  // required
  Result<std::string> NonEmptyString(const char* key) const;
  Status OptionalStringOrNull(const char* key) const;  // absent, null or a string
  Status Boolean(const char* key, bool required) const;
  Status NonNegativeInteger(const char* key, bool required) const;
  Status NonNegativeNumber(const char* key, bool required) const;
  Status Number(const char* key, bool required) const;  // any sign
  Status Object(const char* key, bool required) const;
  Result<const nlohmann::json*> Array(const char* key) const;  // required
  Status OptionalArray(const char* key) const;                 // absent or an array

 private:
  const nlohmann::json& object_;
  std::string where_;
};

// POST /v1/agents/register: protocol, agent_id (canonical UUID), hostname, version, databases
// (array of {name, server_version_num, extensions[]}).
Result<AgentRegistration> ValidateRegisterRequest(const nlohmann::json& body);

// POST /v1/agents/{id}/heartbeat: protocol, status, uptime_s, spool_depth, spool_dropped,
// snapshots_lost
// (optional), last_collect_at (string or null), recent_errors (array of strings).
Status ValidateHeartbeat(const nlohmann::json& body);

}  // namespace optischema::controlplane
