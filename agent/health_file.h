#pragma once

// The daemon's health, for `optischema-agent health` (a container HEALTHCHECK, a monitoring
// probe): the running daemon rewrites state_dir/status.json (StateDir::HealthFile) every few
// seconds from its main loop; `health` reads it and judges. Written to a temporary file and renamed
// into place, so a reader never sees half a file; not fsynced (it is rewritten constantly and only
// means something while the daemon runs). Removed at a clean stop.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "agent/state_dir.h"
#include "core/result.h"

namespace optischema::agent {

// The main loop rewrites the file at least this often.
inline constexpr std::chrono::seconds kHealthWriteEvery{5};
// A file older than this means the main loop is stuck or the daemon is gone.
inline constexpr std::chrono::seconds kHealthLoopStale{30};

struct HealthRecord {
  int64_t pid = 0;
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point loop_at;  // the main loop's last pass
  std::chrono::milliseconds interval{30000};      // the collection interval
  std::optional<std::chrono::system_clock::time_point> last_collect_at;  // any database
  std::string summary;                                                   // the STATUS= line
  // Snapshots taken but never written to the spool since the start (disk full, I/O error).
  std::uint64_t snapshots_lost = 0;
};

// Errors: kIo naming the file.
Status WriteHealthFile(const StateDir& state_dir, const HealthRecord& record);
// Errors: kIo when it cannot be read (no daemon ran here, or it stopped), kParseFailed when it is
// not a health record.
Result<HealthRecord> ReadHealthFile(const StateDir& state_dir);
void RemoveHealthFile(const StateDir& state_dir);

struct HealthVerdict {
  bool healthy = false;
  std::string reason;
};

// Healthy when the process is alive, its main loop wrote within kHealthLoopStale, and a reading
// succeeded within 3 intervals plus a minute (before the first one: while the daemon is younger
// than 2 intervals plus a minute, "starting").
HealthVerdict JudgeHealth(const HealthRecord& record, std::chrono::system_clock::time_point now,
                          bool process_alive);

// `optischema-agent health`: prints "healthy: …" or "unhealthy: …"; exit 0 or 1.
int RunHealth(const StateDir& state_dir, std::ostream& out);

}  // namespace optischema::agent
