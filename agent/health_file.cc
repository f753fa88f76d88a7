#include "agent/health_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "core/file_io.h"
#include "core/time_format.h"

namespace optischema::agent {
namespace {

using std::chrono::system_clock;

std::string Ago(system_clock::time_point then, system_clock::time_point now) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - then).count();
  return std::to_string(seconds) + " s ago";
}

}  // namespace

Status WriteHealthFile(const StateDir& state_dir, const HealthRecord& record) {
  nlohmann::json j = {
      {"pid", record.pid},
      {"started_at", FormatRfc3339(record.started_at)},
      {"loop_at", FormatRfc3339(record.loop_at)},
      {"interval_ms", record.interval.count()},
      {"last_collect_at", record.last_collect_at
                              ? nlohmann::json(FormatRfc3339(*record.last_collect_at))
                              : nlohmann::json()},
      {"summary", record.summary},
      {"snapshots_lost", record.snapshots_lost}};
  // Readable by a monitoring user; it holds nothing secret.
  return ReplaceFile(SystemFs(), state_dir.HealthFile(),
                     j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", 0644);
}

Result<HealthRecord> ReadHealthFile(const StateDir& state_dir) {
  const std::string path = state_dir.HealthFile();
  auto text = ReadFileIfExists(path);
  RETURN_IF_ERROR(text);
  if (!*text) return MakeError(ErrorCode::kIo, path + ": does not exist");
  const nlohmann::json j = nlohmann::json::parse(**text, nullptr, /*allow_exceptions=*/false);
  const auto time = [&](const char* key) -> std::optional<system_clock::time_point> {
    if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
    return ParseRfc3339(j[key].get<std::string>());
  };
  HealthRecord record;
  const auto started = time("started_at");
  const auto loop = time("loop_at");
  if (!j.is_object() || !started || !loop ||
      !j.value("pid", nlohmann::json()).is_number_integer() ||
      !j.value("interval_ms", nlohmann::json()).is_number_integer()) {
    return MakeError(ErrorCode::kParseFailed, path + ": not a health record");
  }
  record.pid = j["pid"].get<int64_t>();
  record.started_at = *started;
  record.loop_at = *loop;
  record.interval = std::chrono::milliseconds(j["interval_ms"].get<int64_t>());
  record.last_collect_at = time("last_collect_at");
  record.summary = j.value("summary", "");
  if (j.contains("snapshots_lost") && j["snapshots_lost"].is_number_unsigned()) {
    record.snapshots_lost = j["snapshots_lost"].get<std::uint64_t>();
  }
  return record;
}

void RemoveHealthFile(const StateDir& state_dir) { std::remove(state_dir.HealthFile().c_str()); }

HealthVerdict JudgeHealth(const HealthRecord& record, system_clock::time_point now,
                          bool process_alive) {
  if (!process_alive) {
    return {false, "the agent (pid " + std::to_string(record.pid) + ") is not running"};
  }
  if (now - record.loop_at > kHealthLoopStale) {
    return {false, "the agent's main loop last ran " + Ago(record.loop_at, now) +
                       " (stuck, or the agent is gone)"};
  }
  const auto slack = std::chrono::minutes(1);
  if (!record.last_collect_at) {
    if (now - record.started_at <= 2 * record.interval + slack) {
      return {true, "starting: no reading yet (started " + Ago(record.started_at, now) + ")"};
    }
    return {false, "no successful reading since the start " + Ago(record.started_at, now) + "; " +
                       record.summary};
  }
  if (now - *record.last_collect_at > 3 * record.interval + slack) {
    return {false,
            "last successful reading " + Ago(*record.last_collect_at, now) + "; " + record.summary};
  }
  return {true, "last reading " + Ago(*record.last_collect_at, now) + "; " + record.summary};
}

int RunHealth(const StateDir& state_dir, std::ostream& out) {
  auto record = ReadHealthFile(state_dir);
  if (!record.ok()) {
    out << "unhealthy: no status from a running agent (" << record.error().message << ")\n";
    return 1;
  }
  // kill(pid, 0): ESRCH means gone; EPERM means alive under another user.
  const bool alive =
      record->pid > 0 && (kill(static_cast<pid_t>(record->pid), 0) == 0 || errno == EPERM);
  const HealthVerdict verdict = JudgeHealth(*record, system_clock::now(), alive);
  out << (verdict.healthy ? "healthy: " : "unhealthy: ") << verdict.reason << "\n";
  return verdict.healthy ? 0 : 1;
}

}  // namespace optischema::agent
