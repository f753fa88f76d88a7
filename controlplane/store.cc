#include "controlplane/store.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <utility>

#include "controlplane/data_directory.h"
#include "controlplane/sqlite_handle.h"
#include "core/file_io.h"
#include "core/time_format.h"

namespace optischema::controlplane {
namespace {

constexpr int kSchemaVersion = 5;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS api_keys (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agents (
  agent_id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  version TEXT NOT NULL,
  databases TEXT NOT NULL,
  registered_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeats (
  id INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents (agent_id),
  received_at TEXT NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS heartbeats_by_agent ON heartbeats (agent_id, id);
CREATE TABLE IF NOT EXISTS snapshots (
  seq INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents (agent_id),
  snapshot_id TEXT NOT NULL,
  database TEXT NOT NULL,
  collected_at TEXT NOT NULL,
  received_at TEXT NOT NULL,
  statements INTEGER NOT NULL,
  body TEXT NOT NULL,
  UNIQUE (agent_id, snapshot_id));
CREATE TABLE IF NOT EXISTS recommendations (
  id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  status TEXT NOT NULL,
  expires_at TEXT,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recommendations_by_agent ON recommendations (agent_id, status);
CREATE TABLE IF NOT EXISTS recommendation_events (
  id INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents (agent_id),
  recommendation_id TEXT NOT NULL,
  received_at TEXT NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recommendation_events_by_recommendation
  ON recommendation_events (recommendation_id, id);
CREATE TABLE IF NOT EXISTS audit_records (
  id INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents (agent_id),
  received_at TEXT NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_records_by_agent ON audit_records (agent_id, id);
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  totp_secret TEXT,
  disabled INTEGER NOT NULL,
  failed_login_attempts INTEGER NOT NULL,
  locked_until_s INTEGER,
  created_at TEXT NOT NULL,
  must_change_password INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS console_sessions (
  id_sha256 TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES users (name),
  csrf_token TEXT NOT NULL,
  created_s INTEGER NOT NULL,
  last_seen_s INTEGER NOT NULL,
  address TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS console_audit (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  user TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  address TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS recommendation_decisions (
  id INTEGER PRIMARY KEY,
  recommendation_id TEXT NOT NULL,
  user TEXT NOT NULL,
  decision TEXT NOT NULL,
  note TEXT NOT NULL,
  at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recommendation_decisions_by_recommendation
  ON recommendation_decisions (recommendation_id, id);
CREATE TABLE IF NOT EXISTS databases (
  agent_id TEXT NOT NULL,
  database TEXT NOT NULL,
  last_collected_s INTEGER NOT NULL,
  advice TEXT,
  advice_collected_s INTEGER,
  activity TEXT,
  activity_collected_s INTEGER,
  PRIMARY KEY (agent_id, database));
CREATE TABLE IF NOT EXISTS database_series (
  agent_id TEXT NOT NULL,
  database TEXT NOT NULL,
  resolution INTEGER NOT NULL,
  bucket_s INTEGER NOT NULL,
  window_s REAL NOT NULL,
  total_exec_ms REAL NOT NULL,
  calls REAL NOT NULL,
  connections_sum REAL NOT NULL,
  cache_hit_ratio_sum REAL NOT NULL,
  tps_sum REAL NOT NULL,
  samples INTEGER NOT NULL,
  cache_hit_samples INTEGER NOT NULL,
  PRIMARY KEY (agent_id, database, resolution, bucket_s)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS statements (
  agent_id TEXT NOT NULL,
  database TEXT NOT NULL,
  queryid TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  text TEXT,
  duration_class TEXT NOT NULL,
  cumulative_min_ms REAL,
  cumulative_max_ms REAL,
  score REAL NOT NULL,
  last_seen_s INTEGER NOT NULL,
  PRIMARY KEY (agent_id, database, queryid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS statement_series (
  agent_id TEXT NOT NULL,
  database TEXT NOT NULL,
  queryid TEXT NOT NULL,
  resolution INTEGER NOT NULL,
  bucket_s INTEGER NOT NULL,
  calls REAL NOT NULL,
  total_exec_ms REAL NOT NULL,
  rows REAL NOT NULL,
  PRIMARY KEY (agent_id, database, queryid, resolution, bucket_s)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS statement_series_by_bucket
  ON statement_series (agent_id, database, resolution, bucket_s);
-- seconds: for a wait class, its active-session-seconds in the bucket; for wait_class '', the
-- window seconds of the bucket's snapshots that carried activity (series_records.h).
CREATE TABLE IF NOT EXISTS wait_class_series (
  agent_id TEXT NOT NULL,
  database TEXT NOT NULL,
  resolution INTEGER NOT NULL,
  bucket_s INTEGER NOT NULL,
  wait_class TEXT NOT NULL,
  seconds REAL NOT NULL,
  PRIMARY KEY (agent_id, database, resolution, bucket_s, wait_class)) WITHOUT ROWID;
PRAGMA user_version = 5;
)sql";

// Schema 1 to 2: recommendations may name an agent that has not registered yet (no foreign key)
// and record when they last changed. Runs before kSchema, in the same transaction.
constexpr char kMigrateFrom1[] = R"sql(
CREATE TABLE recommendations_2 (
  id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  status TEXT NOT NULL,
  expires_at TEXT,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
INSERT INTO recommendations_2 (id, agent_id, status, expires_at, body, created_at, updated_at)
  SELECT id, agent_id, status, expires_at, body, created_at, created_at FROM recommendations
  ORDER BY rowid;
DROP TABLE recommendations;
ALTER TABLE recommendations_2 RENAME TO recommendations;
)sql";

// Schema 3 to 4: a user whose password someone else chose must choose their own.
constexpr char kMigrateFrom3[] = R"sql(
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
)sql";

// Schema 4 to 5: each database keeps its latest activity (wait_class_series is new, kSchema
// makes it).
constexpr char kMigrateFrom4[] = R"sql(
ALTER TABLE databases ADD COLUMN activity TEXT;
ALTER TABLE databases ADD COLUMN activity_collected_s INTEGER;
)sql";

// Creates `dir` with mode 0700 unless it exists.
Status EnsureDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return OkStatus();
  return IoErrorFromErrno(dir, "cannot create directory");
}

// The database's user_version; the statement is finished on return, so that the schema can be
// changed afterwards.
Result<int64_t> SchemaVersion(sqlite3* db) {
  auto version = SqliteStatement::Prepare(db, "PRAGMA user_version");
  RETURN_IF_ERROR(version);
  auto row = version->Step();
  RETURN_IF_ERROR(row);
  return *row ? version->ColumnInt(0) : 0;
}

// Whether a databases table exists without the activity columns (schemas before 4 may have no
// databases table yet: kSchema then makes it whole). Finished on return, like SchemaVersion.
Result<bool> LacksActivityColumns(sqlite3* db) {
  auto columns = SqliteStatement::Prepare(
      db, "SELECT count(*), coalesce(sum(name = 'activity'), 0) "
          "FROM pragma_table_info('databases')");
  RETURN_IF_ERROR(columns);
  auto row = columns->Step();
  RETURN_IF_ERROR(row);
  return *row && columns->ColumnInt(0) > 0 && columns->ColumnInt(1) == 0;
}

Status CreateOrCheckSchema(sqlite3* db, const std::string& path) {
  auto tx = SqliteTransaction::Begin(db);
  RETURN_IF_ERROR(tx);
  auto version = SchemaVersion(db);
  RETURN_IF_ERROR(version);
  const int64_t found = *version;
  if (found > kSchemaVersion) {
    return MakeError(ErrorCode::kConfig, path + " was written by a newer control plane (schema " +
                                             std::to_string(found) + ", this one knows " +
                                             std::to_string(kSchemaVersion) + ")");
  }
  if (found == 1) {
    if (Status st = ExecSql(db, kMigrateFrom1); !st.ok()) return st;
  }
  if (found == 3) {
    auto has_column = SqliteStatement::Prepare(
        db, "SELECT 1 FROM pragma_table_info('users') WHERE name = 'must_change_password'");
    RETURN_IF_ERROR(has_column);
    auto present = has_column->Step();
    RETURN_IF_ERROR(present);
    if (!*present) {
      if (Status st = ExecSql(db, kMigrateFrom3); !st.ok()) return st;
    }
  }
  if (found >= 1) {
    auto migrate = LacksActivityColumns(db);
    RETURN_IF_ERROR(migrate);
    if (*migrate) {
      if (Status st = ExecSql(db, kMigrateFrom4); !st.ok()) return st;
    }
  }
  if (Status st = ExecSql(db, kSchema); !st.ok()) return st;
  return tx->Commit();
}

// Whether `agent_id` is registered; the caller holds the store's mutex.
Result<bool> AgentRegistered(sqlite3* db, const std::string& agent_id) {
  auto query = SqliteStatement::Prepare(db, "SELECT 1 FROM agents WHERE agent_id = ?1");
  RETURN_IF_ERROR(query);
  query->Bind(1, agent_id);
  return query->Step();
}

Status TouchAgent(sqlite3* db, const std::string& agent_id, const std::string& now) {
  auto update =
      SqliteStatement::Prepare(db, "UPDATE agents SET last_seen_at = ?2 WHERE agent_id = ?1");
  RETURN_IF_ERROR(update);
  update->Bind(1, agent_id);
  update->Bind(2, now);
  return update->Run();
}

}  // namespace

void Store::DbClose::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Result<std::unique_ptr<Store>> Store::Open(const std::string& data_dir, OpenMode mode,
                                           const Clock& clock) {
  const std::string path = data_dir + "/" + kDatabaseFileName;
  if (mode == OpenMode::kCreate) {
    if (Status st = EnsureDirectory(data_dir); !st.ok()) return std::move(st).error();
  } else if (std::error_code ec; !std::filesystem::exists(path, ec)) {
    return MakeError(ErrorCode::kConfig, "no control plane database at " + path +
                                             " (start `serve` or run `api-keys create` with "
                                             "this --data first)");
  }
  // Before opening, so that nothing is readable by others while the store runs; after the schema
  // again, for the files SQLite has just made (-wal and -shm take the database's mode, the
  // database the process's umask).
  if (Status st = MakeDataDirectoryPrivate(data_dir); !st.ok()) return std::move(st).error();
  auto db = OpenSqlite(path, mode == OpenMode::kCreate);
  RETURN_IF_ERROR(db);
  if (Status st = CreateOrCheckSchema(db->get(), path); !st.ok()) return std::move(st).error();
  if (Status st = MakeDataDirectoryPrivate(data_dir); !st.ok()) return std::move(st).error();
  return std::unique_ptr<Store>(new Store(std::unique_ptr<sqlite3, DbClose>(db->release()), clock));
}

Store::Store(std::unique_ptr<sqlite3, DbClose> db, const Clock& clock)
    : db_(std::move(db)), clock_(clock) {}

Store::~Store() = default;

std::string Store::Now() const { return FormatRfc3339(clock_.Now()); }

Status Store::AddApiKey(const std::string& name, const std::string& sha256_hex) {
  std::lock_guard lock(mutex_);
  auto insert = SqliteStatement::Prepare(
      db_.get(), "INSERT INTO api_keys (name, sha256, created_at) VALUES (?1, ?2, ?3)");
  RETURN_IF_ERROR(insert);
  insert->Bind(1, name);
  insert->Bind(2, sha256_hex);
  insert->Bind(3, Now());
  return insert->Run();
}

Result<std::vector<std::string>> Store::ApiKeyHashes() {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), "SELECT sha256 FROM api_keys");
  RETURN_IF_ERROR(query);
  std::vector<std::string> hashes;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return hashes;
    hashes.push_back(query->ColumnText(0));
  }
}

Status Store::UpsertAgent(const AgentRegistration& agent) {
  std::lock_guard lock(mutex_);
  auto upsert = SqliteStatement::Prepare(db_.get(), R"sql(
INSERT INTO agents (agent_id, hostname, version, databases, registered_at, last_seen_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?5)
ON CONFLICT (agent_id) DO UPDATE SET
  hostname = excluded.hostname, version = excluded.version, databases = excluded.databases,
  last_seen_at = excluded.last_seen_at)sql");
  RETURN_IF_ERROR(upsert);
  upsert->Bind(1, agent.agent_id);
  upsert->Bind(2, agent.hostname);
  upsert->Bind(3, agent.version);
  upsert->Bind(4, agent.databases_json);
  upsert->Bind(5, Now());
  return upsert->Run();
}

Result<StoreOutcome> Store::AddHeartbeat(const std::string& agent_id,
                                         const std::string& body_json) {
  return AddAgentRecords("INSERT INTO heartbeats (agent_id, received_at, body) VALUES (?1, ?2, ?3)",
                         agent_id, {body_json});
}

Result<StoreOutcome> Store::AddAuditRecords(const std::string& agent_id,
                                            const std::vector<std::string>& bodies_json) {
  return AddAgentRecords(
      "INSERT INTO audit_records (agent_id, received_at, body) VALUES (?1, ?2, ?3)", agent_id,
      bodies_json);
}

Result<StoreOutcome> Store::AddAgentRecords(const char* insert_sql, const std::string& agent_id,
                                            const std::vector<std::string>& bodies_json) {
  std::lock_guard lock(mutex_);
  auto tx = SqliteTransaction::Begin(db_.get());
  RETURN_IF_ERROR(tx);
  auto known = AgentRegistered(db_.get(), agent_id);
  RETURN_IF_ERROR(known);
  if (!*known) return StoreOutcome::kUnknownAgent;
  const std::string now = Now();
  for (const std::string& body : bodies_json) {
    auto insert = SqliteStatement::Prepare(db_.get(), insert_sql);
    RETURN_IF_ERROR(insert);
    insert->Bind(1, agent_id);
    insert->Bind(2, now);
    insert->Bind(3, body);
    if (Status st = insert->Run(); !st.ok()) return std::move(st).error();
  }
  if (Status st = TouchAgent(db_.get(), agent_id, now); !st.ok()) return std::move(st).error();
  if (Status st = tx->Commit(); !st.ok()) return std::move(st).error();
  return StoreOutcome::kStored;
}

Result<StoreOutcome> Store::AddRecommendationEvent(const std::string& agent_id,
                                                   const std::string& recommendation_id,
                                                   const std::string& status,
                                                   const std::string& body_json) {
  std::lock_guard lock(mutex_);
  auto tx = SqliteTransaction::Begin(db_.get());
  RETURN_IF_ERROR(tx);
  auto known = AgentRegistered(db_.get(), agent_id);
  RETURN_IF_ERROR(known);
  if (!*known) return StoreOutcome::kUnknownAgent;
  const std::string now = Now();
  auto update = SqliteStatement::Prepare(db_.get(), R"sql(
UPDATE recommendations
SET status = CASE WHEN status = ?6 AND ?3 NOT IN ('rolled_back', 'failed', 'rejected')
                  THEN status
                  WHEN ?3 = 'rejected' AND status NOT IN ('approved', 'validated', ?6)
                  THEN status ELSE ?3 END,
    updated_at = ?4
WHERE id = ?1 AND agent_id = ?2 AND status <> ?5)sql");
  RETURN_IF_ERROR(update);
  update->Bind(1, recommendation_id);
  update->Bind(2, agent_id);
  update->Bind(3, status);
  update->Bind(4, now);
  update->Bind(5, kStatusProposed);
  update->Bind(6, kStatusRollbackRequested);
  if (Status st = update->Run(); !st.ok()) return std::move(st).error();
  if (sqlite3_changes(db_.get()) == 0) return StoreOutcome::kUnknownRecommendation;
  auto insert = SqliteStatement::Prepare(db_.get(), R"sql(
INSERT INTO recommendation_events (agent_id, recommendation_id, received_at, body)
VALUES (?1, ?2, ?3, ?4))sql");
  RETURN_IF_ERROR(insert);
  insert->Bind(1, agent_id);
  insert->Bind(2, recommendation_id);
  insert->Bind(3, now);
  insert->Bind(4, body_json);
  if (Status st = insert->Run(); !st.ok()) return std::move(st).error();
  if (Status st = TouchAgent(db_.get(), agent_id, now); !st.ok()) return std::move(st).error();
  if (Status st = tx->Commit(); !st.ok()) return std::move(st).error();
  return StoreOutcome::kStored;
}

Result<StoreOutcome> Store::AddSnapshot(const SnapshotRecord& snapshot) {
  std::lock_guard lock(mutex_);
  auto tx = SqliteTransaction::Begin(db_.get());
  RETURN_IF_ERROR(tx);
  auto known = AgentRegistered(db_.get(), snapshot.agent_id);
  RETURN_IF_ERROR(known);
  if (!*known) return StoreOutcome::kUnknownAgent;
  auto insert = SqliteStatement::Prepare(db_.get(), R"sql(
INSERT INTO snapshots
  (agent_id, snapshot_id, database, collected_at, received_at, statements, body)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (agent_id, snapshot_id) DO NOTHING)sql");
  RETURN_IF_ERROR(insert);
  const std::string now = Now();
  insert->Bind(1, snapshot.agent_id);
  insert->Bind(2, snapshot.snapshot_id);
  insert->Bind(3, snapshot.database);
  insert->Bind(4, snapshot.collected_at);
  insert->Bind(5, now);
  insert->Bind(6, snapshot.statements);
  insert->Bind(7, snapshot.body_json);
  if (Status st = insert->Run(); !st.ok()) return std::move(st).error();
  const bool stored = sqlite3_changes(db_.get()) == 1;
  if (Status st = TouchAgent(db_.get(), snapshot.agent_id, now); !st.ok()) {
    return std::move(st).error();
  }
  if (Status st = tx->Commit(); !st.ok()) return std::move(st).error();
  return stored ? StoreOutcome::kStored : StoreOutcome::kDuplicate;
}

Result<PruneCounts> Store::PruneReceivedBefore(std::chrono::system_clock::time_point cutoff) {
  std::lock_guard lock(mutex_);
  auto tx = SqliteTransaction::Begin(db_.get());
  RETURN_IF_ERROR(tx);
  // received_at is FormatRfc3339 text throughout: one width, so text order is time order.
  const std::string before = FormatRfc3339(cutoff);
  PruneCounts counts;
  auto heartbeats = SqliteStatement::Prepare(db_.get(), R"sql(
DELETE FROM heartbeats WHERE received_at < ?1
  AND id NOT IN (SELECT MAX(id) FROM heartbeats GROUP BY agent_id))sql");
  RETURN_IF_ERROR(heartbeats);
  heartbeats->Bind(1, before);
  if (Status st = heartbeats->Run(); !st.ok()) return std::move(st).error();
  counts.heartbeats = sqlite3_changes(db_.get());
  auto snapshots =
      SqliteStatement::Prepare(db_.get(), "DELETE FROM snapshots WHERE received_at < ?1");
  RETURN_IF_ERROR(snapshots);
  snapshots->Bind(1, before);
  if (Status st = snapshots->Run(); !st.ok()) return std::move(st).error();
  counts.snapshots = sqlite3_changes(db_.get());
  if (Status st = tx->Commit(); !st.ok()) return std::move(st).error();
  return counts;
}

Result<bool> Store::AgentExists(const std::string& agent_id) {
  std::lock_guard lock(mutex_);
  return AgentRegistered(db_.get(), agent_id);
}

Result<std::vector<AgentRow>> Store::ListAgents(bool count_heartbeats) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT a.agent_id, a.hostname, a.version, a.databases, a.registered_at, a.last_seen_at,
  CASE WHEN ?1 THEN (SELECT COUNT(*) FROM heartbeats h WHERE h.agent_id = a.agent_id) ELSE 0 END,
  (SELECT h.body FROM heartbeats h WHERE h.agent_id = a.agent_id ORDER BY h.id DESC LIMIT 1)
FROM agents a ORDER BY a.registered_at, a.agent_id)sql");
  RETURN_IF_ERROR(query);
  query->Bind(1, int64_t{count_heartbeats ? 1 : 0});
  std::vector<AgentRow> agents;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return agents;
    AgentRow agent;
    agent.registration = {query->ColumnText(0), query->ColumnText(1), query->ColumnText(2),
                          query->ColumnText(3)};
    agent.registered_at = query->ColumnText(4);
    agent.last_seen_at = query->ColumnText(5);
    agent.heartbeats = query->ColumnInt(6);
    agent.last_heartbeat_json = query->ColumnOptionalText(7);
    agents.push_back(std::move(agent));
  }
}

Result<std::vector<SnapshotRow>> Store::ListSnapshots(const SnapshotFilter& filter) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT agent_id, snapshot_id, database, collected_at, statements,
  CASE WHEN ?3 THEN body ELSE '' END, received_at
FROM snapshots
WHERE (?1 IS NULL OR agent_id = ?1) AND (?2 IS NULL OR database = ?2)
ORDER BY seq)sql");
  RETURN_IF_ERROR(query);
  if (filter.agent_id) query->Bind(1, *filter.agent_id);
  if (filter.database) query->Bind(2, *filter.database);
  query->Bind(3, int64_t{filter.with_bodies ? 1 : 0});
  std::vector<SnapshotRow> snapshots;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return snapshots;
    SnapshotRow snapshot;
    snapshot.record = {query->ColumnText(0), query->ColumnText(1), query->ColumnText(2),
                       query->ColumnText(3), query->ColumnInt(4),  query->ColumnText(5)};
    snapshot.received_at = query->ColumnText(6);
    snapshots.push_back(std::move(snapshot));
  }
}

Result<std::vector<AuditRow>> Store::ListAuditRecords(const std::optional<std::string>& agent_id) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT agent_id, received_at, body FROM audit_records
WHERE ?1 IS NULL OR agent_id = ?1
ORDER BY id)sql");
  RETURN_IF_ERROR(query);
  if (agent_id) query->Bind(1, *agent_id);
  std::vector<AuditRow> records;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return records;
    records.push_back({query->ColumnText(0), query->ColumnText(1), query->ColumnText(2)});
  }
}

}  // namespace optischema::controlplane
