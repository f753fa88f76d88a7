#pragma once

// The control plane's data: one SQLite database, DATA_DIR/controlplane.db, in WAL mode with a busy
// timeout, so the CLI's commands can read and write it while `serve` runs.
//
// Bodies (snapshots, heartbeats, events, audit records, recommendations) are stored as the JSON
// text received; the columns next to them are what listings and look-ups need. Timestamps are
// RFC 3339 UTC from the Clock given to Open.
//
// Thread safety: every member function may be called from any thread; calls are serialized on one
// connection by an internal mutex. Several processes may open the same directory.
//
// Errors: kIo for a SQLite or file system failure (the message names the file or statement),
// kTimeout when another process held the write lock for longer than the busy timeout, kConfig for
// a data directory that is missing (kExisting) or was written by a newer control plane.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

struct sqlite3;

namespace optischema::controlplane {

inline constexpr char kDatabaseFileName[] = "controlplane.db";

struct AgentRegistration {
  std::string agent_id;
  std::string hostname;
  std::string version;
  std::string databases_json;  // JSON array as received
};

struct AgentRow {
  AgentRegistration registration;
  std::string registered_at;  // first registration
  std::string last_seen_at;   // last request from the agent that was stored
  int64_t heartbeats = 0;
  std::optional<std::string> last_heartbeat_json;
};

struct SnapshotRecord {
  std::string agent_id;
  std::string snapshot_id;
  std::string database;
  std::string collected_at;
  int64_t statements = 0;
  std::string body_json;
};

struct SnapshotRow {
  SnapshotRecord record;  // body_json is empty unless asked for
  std::string received_at;
};

struct SnapshotFilter {
  std::optional<std::string> agent_id;
  std::optional<std::string> database;
  bool with_bodies = true;
};

struct RecommendationRecord {
  std::string id;
  std::string agent_id;
  std::string status;                     // "pending", "approved", ...
  std::optional<std::string> expires_at;  // RFC 3339; none: never expires
  std::string body_json;
};

// What happened to a request that needs a registered agent.
enum class StoreOutcome {
  kStored,
  kDuplicate,     // a snapshot with this id was already stored for the agent: nothing changed
  kUnknownAgent,  // the agent never registered: nothing changed
};

class Store {
 public:
  enum class OpenMode {
    kCreate,    // create the directory (mode 0700) and the database when missing
    kExisting,  // the database must exist already (kConfig otherwise)
  };

  // `clock` must outlive the store.
  static Result<std::unique_ptr<Store>> Open(const std::string& data_dir, OpenMode mode,
                                             const Clock& clock);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Keys are stored only as the hex SHA-256 of the key.
  Status AddApiKey(const std::string& name, const std::string& sha256_hex);
  Result<std::vector<std::string>> ApiKeyHashes();

  // Inserts or updates the agent; registered_at is kept from the first registration.
  Status UpsertAgent(const AgentRegistration& agent);
  // kStored or kUnknownAgent. Updates the agent's last_seen_at.
  Result<StoreOutcome> AddHeartbeat(const std::string& agent_id, const std::string& body_json);
  // kStored, kDuplicate (same agent and snapshot_id) or kUnknownAgent; one transaction.
  Result<StoreOutcome> AddSnapshot(const SnapshotRecord& snapshot);
  Result<StoreOutcome> AddRecommendationEvent(const std::string& agent_id,
                                              const std::string& recommendation_id,
                                              const std::string& body_json);
  Result<StoreOutcome> AddAuditRecord(const std::string& agent_id, const std::string& body_json);

  Result<bool> AgentExists(const std::string& agent_id);
  // Inserts or replaces the recommendation with this id.
  Status PutRecommendation(const RecommendationRecord& recommendation);
  // Bodies of the agent's recommendations with this status that have not expired, oldest first.
  Result<std::vector<std::string>> Recommendations(const std::string& agent_id,
                                                   const std::string& status);

  // Agents in order of registration.
  Result<std::vector<AgentRow>> ListAgents();
  // Snapshots in order of arrival.
  Result<std::vector<SnapshotRow>> ListSnapshots(const SnapshotFilter& filter);

 private:
  struct DbClose {
    void operator()(sqlite3* db) const;
  };

  Store(std::unique_ptr<sqlite3, DbClose> db, const Clock& clock);
  std::string Now() const;
  // Runs `insert_sql` for a registered agent in one transaction with updating its last_seen_at.
  // Parameters: ?1 agent id, ?2 recommendation id (bound when given), ?3 now, ?4 body.
  Result<StoreOutcome> AddAgentRecord(const char* insert_sql, const std::string& agent_id,
                                      const std::optional<std::string>& recommendation_id,
                                      const std::string& body_json);

  std::mutex mutex_;  // guards db_
  std::unique_ptr<sqlite3, DbClose> db_;
  const Clock& clock_;
};

}  // namespace optischema::controlplane
