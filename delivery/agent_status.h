#pragma once

// AgentStatus: what the daemon's threads report about themselves, read back for the heartbeat,
// the registration and the one-line STATUS= summary. Every member function is thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "protocol/messages.h"

namespace optischema::delivery {

enum class DatabaseState { kStarting, kOk, kFailing };

struct DatabaseStatus {
  DatabaseState state = DatabaseState::kStarting;
  std::string last_error;                   // why it is failing; empty when kOk
  std::optional<std::string> collected_at;  // RFC 3339 time of the last good reading
  std::uint64_t snapshots = 0;              // spooled since start
  int server_version_num = 0;               // 0 until the first connection
  std::vector<std::string> extensions;      // "pg_stat_statements 1.10"
};

enum class ControlPlaneState { kUnknown, kOk, kUnreachable, kRefused };

class AgentStatus {
 public:
  static constexpr std::size_t kMaxRecentErrors = 20;

  // "last delivery N s ago" is measured on `clock`, which must outlive the status.
  explicit AgentStatus(const Clock& clock = RealClock()) : clock_(clock) {}

  // Adds a database (state kStarting) or, when it exists, resets nothing; RemoveDatabase forgets
  // one that the configuration no longer lists.
  void AddDatabase(const std::string& name);
  void RemoveDatabase(const std::string& name);

  // The Record* calls for a database not added (or removed) are ignored.
  // A reading succeeded (a snapshot was spooled when `spooled`). `collected_at` is RFC 3339.
  void RecordReading(const std::string& database, const std::string& collected_at, bool spooled);
  // A reading failed; `error` is free of secrets. Also kept as a recent error.
  void RecordDatabaseError(const std::string& database, const std::string& error);
  // A reading succeeded but its snapshot could not be written to the spool (disk full, I/O
  // error) and is lost: recorded like RecordDatabaseError, and counted.
  void RecordSnapshotLost(const std::string& database, const std::string& error);
  // Snapshots lost since the start (for the health file and STATUS=).
  std::uint64_t SnapshotsLost() const;
  // Snapshots lost since the previous call (for the next heartbeat); resets to 0.
  std::uint64_t TakeSnapshotsLost();
  // The server's version and extensions, known after a connection. Changing them changes
  // RegistrationGeneration().
  void RecordServer(const std::string& database, int server_version_num,
                    std::vector<std::string> extensions);

  // Any other error worth reporting in the next heartbeat (free of secrets).
  void RecordError(const std::string& error);
  void RecordControlPlane(ControlPlaneState state);
  void RecordDelivery();

  // Errors recorded since the previous call, oldest first, at most kMaxRecentErrors.
  std::vector<std::string> TakeRecentErrors();
  // Puts errors taken by TakeRecentErrors back, e.g. when the heartbeat carrying them failed.
  void RestoreRecentErrors(std::vector<std::string> errors);

  // What the registration describes; the generation grows whenever it changes.
  std::vector<protocol::DatabaseDescription> Databases() const;
  std::uint64_t RegistrationGeneration() const;

  std::map<std::string, DatabaseStatus> DatabaseStatuses() const;
  std::optional<std::string> LastCollectAt() const;
  // "ok", or "degraded" while a database is failing or the control plane is unreachable.
  std::string Health() const;
  // One line for STATUS=: "2 databases ok, 1 failing (orders); spool 3 (12 KiB); control plane
  // ok, last delivery 4 s ago", followed by "; 2 snapshots lost (spool not writable)" once any
  // was lost.
  std::string Summary(std::size_t spool_depth, std::uint64_t spool_bytes) const;

 private:
  void AddErrorLocked(const std::string& error);

  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, DatabaseStatus> databases_;
  std::deque<std::string> recent_errors_;
  std::uint64_t generation_ = 0;
  ControlPlaneState control_plane_ = ControlPlaneState::kUnknown;
  std::optional<std::chrono::steady_clock::time_point> last_delivery_;
  std::uint64_t snapshots_lost_ = 0;   // since the start
  std::uint64_t lost_unreported_ = 0;  // since the last TakeSnapshotsLost()
};

}  // namespace optischema::delivery
