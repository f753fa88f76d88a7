#pragma once

// Protocol v1 messages other than the snapshot: registration and heartbeat. Plain data and their
// JSON; field names live in messages.cc only.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace optischema::protocol {

// Accepts "1" or "1.<minor>" (any minor: additions are backward compatible). Anything else is
// kUnsupportedVersion naming both versions, so an old agent never misreads a newer server.
Status CheckProtocolVersion(std::string_view version);

struct DatabaseDescription {
  std::string name;
  int server_version_num = 0;
  std::vector<std::string> extensions;  // "pg_stat_statements 1.10", "hypopg 1.4.0", ...
};

// POST /v1/agents/register
struct RegisterRequest {
  std::string agent_id;
  std::string hostname;
  std::string version;  // agent version
  std::vector<DatabaseDescription> databases;
};
std::string RegisterRequestToJson(const RegisterRequest& request);

// The control plane's answer: the intervals it asks for. Absent ones keep the agent's own.
struct RegisterResponse {
  std::optional<std::chrono::seconds> snapshot_interval;
  std::optional<std::chrono::seconds> heartbeat_interval;
  std::optional<std::chrono::seconds> recommendations_interval;
};
// Errors: kUnsupportedVersion (see CheckProtocolVersion), kParseFailed for a body that is not
// the expected JSON (the message says what is wrong, never echoes the body).
Result<RegisterResponse> ParseRegisterResponse(std::string_view body);

// POST /v1/agents/{id}/heartbeat
struct Heartbeat {
  std::string status;  // "ok", "degraded" (a database failing), "starting", "stopping"
  int64_t uptime_s = 0;
  int64_t spool_depth = 0;
  int64_t spool_dropped = 0;  // snapshots dropped by the spool bound since the last heartbeat
  // Snapshots taken but never written to the spool (disk full, I/O error) since the last heartbeat.
  int64_t snapshots_lost = 0;
  std::optional<std::string> last_collect_at;
  std::vector<std::string> recent_errors;  // already free of secrets
};
std::string HeartbeatToJson(const Heartbeat& heartbeat);

}  // namespace optischema::protocol
