#pragma once

// The control plane's data: one SQLite database, DATA_DIR/controlplane.db, in WAL mode with a busy
// timeout, so the CLI's commands can read and write it while `serve` runs.
//
// Bodies (snapshots, heartbeats, events, audit records, recommendations) are stored as JSON text,
// as received unless noted; the columns next to them are what listings and look-ups need.
// Timestamps are RFC 3339 UTC from the Clock given to Open.
//
// Thread safety: every member function may be called from any thread; calls are serialized on one
// connection by an internal mutex. Several processes may open the same directory.
//
// Errors: kIo for a SQLite or file system failure (the message names the file or statement),
// kTimeout when another process held the write lock for longer than the busy timeout, kConfig for
// a data directory that is missing (kExisting) or was written by a newer control plane.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/console_records.h"
#include "controlplane/series_records.h"
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

// Recommendation statuses. Once the agent reports on an approved recommendation, its status is
// the name of the event (validated, rejected, started, applied, failed, verified, regressed,
// rolled_back), or rollback_requested while a person's rollback request waits for the agent.
inline constexpr char kStatusProposed[] = "proposed";  // recorded, not approved: never served
inline constexpr char kStatusApproved[] = "approved";  // signed, waiting for the agent
inline constexpr char kStatusRollbackRequested[] = "rollback_requested";

struct RecommendationRecord {
  std::string id;
  std::string agent_id;  // need not be registered
  std::string status;
  // UTC as FormatRfc3339 writes it (the body may spell the same instant another way); none:
  // never expires.
  std::optional<std::string> expires_at;
  std::string body_json;  // approved and later: the signed text, byte for byte as served
};

struct RecommendationRow {
  RecommendationRecord record;
  std::string created_at;
  std::string updated_at;                      // last change or event
  std::optional<std::string> last_event_json;  // the last event received, as received
};

struct AuditRow {
  std::string agent_id;
  std::string received_at;
  std::string body_json;
};

// What one retention sweep deleted.
struct PruneCounts {
  int64_t heartbeats = 0;
  int64_t snapshots = 0;
  int64_t series_rows = 0;  // the console's history buckets
  int64_t sessions = 0;     // console sessions past their idle timeout or lifetime
};

// What happened to a request that needs a registered agent; anything but kStored changed nothing.
enum class StoreOutcome {
  kStored,
  kDuplicate,              // a snapshot with this id was already stored for the agent
  kUnknownAgent,           // the agent never registered
  kUnknownRecommendation,  // no recommendation with this id was ever served to this agent
};

class Store {
 public:
  enum class OpenMode {
    kCreate,    // create the directory and the database when missing
    kExisting,  // the database must exist already (kConfig otherwise)
  };

  // Makes the directory and its files private whatever their modes were (data_directory.h).
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
  // Stores the event and sets the recommendation's status to `status`, in one transaction; a
  // requested rollback stays requested until the agent answers it (rolled_back, failed or
  // rejected), so that a late event (e.g. verified) does not cancel it; `rejected` (refused
  // before anything ran) replaces only approved, validated or rollback_requested, so that a late
  // refusal of a replay never hides a change that was made. kUnknownRecommendation
  // when the agent has no recommendation `recommendation_id` other than a proposed one (a
  // proposal is never served, so no agent can report on it).
  Result<StoreOutcome> AddRecommendationEvent(const std::string& agent_id,
                                              const std::string& recommendation_id,
                                              const std::string& status,
                                              const std::string& body_json);
  // Stores every record, in one transaction: kStored or kUnknownAgent.
  Result<StoreOutcome> AddAuditRecords(const std::string& agent_id,
                                       const std::vector<std::string>& bodies_json);

  Result<bool> AgentExists(const std::string& agent_id);
  // kInvalidArgument when a recommendation with this id exists already.
  Status AddRecommendation(const RecommendationRecord& recommendation);
  // Stores the recommendation and returns true, or returns false, changing nothing, when one with
  // this id exists already (whatever its status); the check and the insert are one transaction.
  Result<bool> AddRecommendationIfAbsent(const RecommendationRecord& recommendation);
  // The recommendation, or nullopt when there is none with this id.
  Result<std::optional<RecommendationRow>> GetRecommendation(const std::string& id);
  // Compare-and-set: when the status of `id` is one of `from`, sets it to `to` (and the body to
  // `body_json` when given) and returns true; returns false, changing nothing, otherwise.
  Result<bool> TransitionRecommendation(const std::string& id, const std::vector<std::string>& from,
                                        const std::string& to,
                                        const std::optional<std::string>& body_json);
  // Bodies of the agent's recommendations with this status, oldest first; expired ones only with
  // `include_expired`.
  Result<std::vector<std::string>> Recommendations(const std::string& agent_id,
                                                   const std::string& status, bool include_expired);

  // Retention: deletes the heartbeats and snapshots received before `cutoff`, except each
  // agent's latest heartbeat (agents list shows it); one transaction. Registrations,
  // recommendations, events and audit records are kept. A deleted snapshot_id sent again is
  // stored again.
  Result<PruneCounts> PruneReceivedBefore(std::chrono::system_clock::time_point cutoff);

  // Agents in order of registration; AgentRow::heartbeats is counted only when asked for (it
  // reads every stored heartbeat).
  Result<std::vector<AgentRow>> ListAgents(bool count_heartbeats = true);
  // Snapshots in order of arrival.
  Result<std::vector<SnapshotRow>> ListSnapshots(const SnapshotFilter& filter);
  // Recommendations (of one agent, when given) oldest first.
  Result<std::vector<RecommendationRow>> ListRecommendations(
      const std::optional<std::string>& agent_id);
  // Audit records (of one agent, when given) in order of arrival.
  Result<std::vector<AuditRow>> ListAuditRecords(const std::optional<std::string>& agent_id);
  // The recommendation's events as received, oldest first.
  Result<std::vector<std::string>> RecommendationEvents(const std::string& recommendation_id);

  // ---- The console's users, sessions and records (store_console.cc) ----

  // kInvalidArgument when a user with this name exists already.
  Status AddUser(const ConsoleUser& user);
  Result<std::optional<ConsoleUser>> GetUser(const std::string& name);
  Result<std::vector<ConsoleUser>> ListUsers();  // by name
  // Writes every member of the user `user.name` (kInvalidArgument when there is none).
  Status UpdateUser(const ConsoleUser& user);

  Status AddSession(const ConsoleSession& session);
  Result<std::optional<ConsoleSession>> GetSession(const std::string& id_sha256);
  Status TouchSession(const std::string& id_sha256, int64_t last_seen_s);
  Status DeleteSession(const std::string& id_sha256);
  // Ends every session of `user` (disabled, password reset).
  Status DeleteUserSessions(const std::string& user);
  // Ends every session of `user` but the one with `keep_sha256` (a password changed from it).
  Status DeleteUserSessionsExcept(const std::string& user, const std::string& keep_sha256);
  // Deletes sessions idle since before `idle_before_s` or made before `created_before_s`;
  // returns how many.
  Result<int64_t> PruneSessions(int64_t idle_before_s, int64_t created_before_s);

  // Sets `record.at` to now.
  Status AddConsoleAudit(ConsoleAuditRecord record);
  // Newest first, at most `limit`.
  Result<std::vector<ConsoleAuditRecord>> ListConsoleAudit(int64_t limit);

  // Sets `decision.at` to now.
  Status AddDecision(RecommendationDecision decision);
  // The recommendation's decisions, oldest first.
  Result<std::vector<RecommendationDecision>> Decisions(const std::string& recommendation_id);

  // ---- History for the console's charts (store_series.cc, series_records.h) ----

  // Adds the snapshot's figures to the minute and hour buckets it falls in (its load by wait
  // class too when it carried activity), and records the statements' fingerprints, texts (the
  // first one sent is kept) and latest figures; one transaction. `advice_json`, when given,
  // replaces the database's latest advice; `database.activity`, when given, its latest activity.
  Status AddSeriesSamples(const DatabaseSample& database,
                          const std::vector<StatementSample>& statements,
                          const std::optional<std::string>& advice_json);
  // Databases by agent and name.
  Result<std::vector<DatabaseInfo>> ListDatabases();
  // Buckets from `since_s` on, oldest first.
  Result<std::vector<DatabasePoint>> DatabaseSeries(const std::string& agent_id,
                                                    const std::string& database,
                                                    Resolution resolution, int64_t since_s);
  // Load by wait class: the buckets from `since_s` on, oldest first, by wait class within one.
  Result<std::vector<WaitClassPoint>> WaitClassSeries(const std::string& agent_id,
                                                      const std::string& database,
                                                      Resolution resolution, int64_t since_s);
  // The `activity` member of the database's last snapshot that carried one, or nullopt.
  Result<std::optional<LatestActivity>> GetLatestActivity(const std::string& agent_id,
                                                          const std::string& database);
  Result<std::vector<StatementPoint>> StatementSeries(const std::string& agent_id,
                                                      const std::string& database,
                                                      const std::string& queryid,
                                                      Resolution resolution, int64_t since_s);
  // The `limit` statements with the most time in the hour buckets from `since_s` on, most first.
  Result<std::vector<StatementTotals>> TopStatements(const std::string& agent_id,
                                                     const std::string& database,
                                                     int64_t since_s, int64_t limit);
  Result<std::optional<StatementInfo>> GetStatementInfo(const std::string& agent_id,
                                                        const std::string& database,
                                                        const std::string& queryid);
  // Deletes minute buckets before `minute_cutoff_s` and hour buckets before `hour_cutoff_s`;
  // returns how many rows went.
  Result<int64_t> PruneSeries(int64_t minute_cutoff_s, int64_t hour_cutoff_s);

 private:
  struct DbClose {
    void operator()(sqlite3* db) const;
  };

  Store(std::unique_ptr<sqlite3, DbClose> db, const Clock& clock);
  std::string Now() const;
  // Runs `insert_sql` once per body for a registered agent, in one transaction with updating its
  // last_seen_at. Parameters: ?1 agent id, ?2 now, ?3 body.
  Result<StoreOutcome> AddAgentRecords(const char* insert_sql, const std::string& agent_id,
                                       const std::vector<std::string>& bodies_json);

  std::mutex mutex_;  // guards db_
  std::unique_ptr<sqlite3, DbClose> db_;
  const Clock& clock_;
};

}  // namespace optischema::controlplane
