// The Store's history members: the rolled-up series the console charts (store.h,
// series_records.h).

#include <utility>

#include "controlplane/sqlite_handle.h"
#include "controlplane/store.h"

namespace optischema::controlplane {
namespace {

constexpr Resolution kResolutions[] = {Resolution::kMinute, Resolution::kHour};

int64_t BucketOf(int64_t at_s, Resolution resolution) {
  const auto width = static_cast<int64_t>(resolution);
  return at_s - ((at_s % width) + width) % width;
}

void BindOptionalDouble(SqliteStatement& statement, int index, const std::optional<double>& v) {
  if (v) {
    statement.BindDouble(index, *v);
  } else {
    statement.BindNull(index);
  }
}

Status AddDatabaseBucket(sqlite3* db, const DatabaseSample& sample, Resolution resolution) {
  auto upsert = SqliteStatement::Prepare(db, R"sql(
INSERT INTO database_series (agent_id, database, resolution, bucket_s, window_s, total_exec_ms,
  calls, connections_sum, cache_hit_ratio_sum, tps_sum, samples, cache_hit_samples)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, coalesce(?8, 0), coalesce(?9, 0), coalesce(?10, 0), 1,
  ?9 IS NOT NULL)
ON CONFLICT (agent_id, database, resolution, bucket_s) DO UPDATE SET
  window_s = window_s + excluded.window_s,
  total_exec_ms = total_exec_ms + excluded.total_exec_ms,
  calls = calls + excluded.calls,
  connections_sum = connections_sum + excluded.connections_sum,
  cache_hit_ratio_sum = cache_hit_ratio_sum + excluded.cache_hit_ratio_sum,
  tps_sum = tps_sum + excluded.tps_sum,
  samples = samples + 1,
  cache_hit_samples = cache_hit_samples + excluded.cache_hit_samples)sql");
  RETURN_IF_ERROR(upsert);
  upsert->Bind(1, sample.agent_id);
  upsert->Bind(2, sample.database);
  upsert->Bind(3, static_cast<int64_t>(resolution));
  upsert->Bind(4, BucketOf(sample.collected_s, resolution));
  upsert->BindDouble(5, sample.window_s);
  upsert->BindDouble(6, sample.total_exec_ms);
  upsert->BindDouble(7, sample.calls);
  BindOptionalDouble(*upsert, 8, sample.connections);
  BindOptionalDouble(*upsert, 9, sample.cache_hit_ratio);
  BindOptionalDouble(*upsert, 10, sample.tps);
  return upsert->Run();
}

// The database's latest activity, and its load by wait class in the minute and hour buckets.
Status AddActivity(sqlite3* db, const DatabaseSample& sample, const ActivitySample& activity) {
  auto latest = SqliteStatement::Prepare(db, R"sql(
UPDATE databases SET activity = ?3, activity_collected_s = ?4
WHERE agent_id = ?1 AND database = ?2)sql");
  RETURN_IF_ERROR(latest);
  latest->Bind(1, sample.agent_id);
  latest->Bind(2, sample.database);
  latest->Bind(3, activity.json);
  latest->Bind(4, sample.collected_s);
  if (Status st = latest->Run(); !st.ok()) return st;
  auto upsert = SqliteStatement::Prepare(db, R"sql(
INSERT INTO wait_class_series (agent_id, database, resolution, bucket_s, wait_class, seconds)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (agent_id, database, resolution, bucket_s, wait_class) DO UPDATE SET
  seconds = seconds + excluded.seconds)sql");
  RETURN_IF_ERROR(upsert);
  const auto add = [&](Resolution resolution, const std::string& wait_class, double seconds) {
    upsert->Bind(1, sample.agent_id);
    upsert->Bind(2, sample.database);
    upsert->Bind(3, static_cast<int64_t>(resolution));
    upsert->Bind(4, BucketOf(sample.collected_s, resolution));
    upsert->Bind(5, wait_class);
    upsert->BindDouble(6, seconds);
    Status st = upsert->Run();
    upsert->Reset();
    return st;
  };
  for (const Resolution resolution : kResolutions) {
    if (Status st = add(resolution, "", sample.window_s); !st.ok()) return st;
    for (const WaitClassLoad& c : activity.by_wait_class) {
      if (c.wait_class.empty()) continue;  // '' is the bucket's window
      if (Status st = add(resolution, c.wait_class, c.load * sample.window_s); !st.ok()) return st;
    }
  }
  return OkStatus();
}

StatementInfo InfoFrom(const SqliteStatement& row) {
  StatementInfo info;
  info.agent_id = row.ColumnText(0);
  info.database = row.ColumnText(1);
  info.queryid = row.ColumnText(2);
  info.fingerprint = row.ColumnText(3);
  info.text = row.ColumnOptionalText(4);
  info.duration_class = row.ColumnText(5);
  info.cumulative_min_ms = row.ColumnOptionalDouble(6);
  info.cumulative_max_ms = row.ColumnOptionalDouble(7);
  info.score = row.ColumnDouble(8);
  info.last_seen_s = row.ColumnInt(9);
  return info;
}

constexpr char kInfoColumns[] =
    "s.agent_id, s.database, s.queryid, s.fingerprint, s.text, s.duration_class, "
    "s.cumulative_min_ms, s.cumulative_max_ms, s.score, s.last_seen_s";

}  // namespace

Status Store::AddSeriesSamples(const DatabaseSample& database,
                               const std::vector<StatementSample>& statements,
                               const std::optional<std::string>& advice_json) {
  std::lock_guard lock(mutex_);
  auto tx = SqliteTransaction::Begin(db_.get());
  RETURN_IF_ERROR(tx);
  auto known = SqliteStatement::Prepare(db_.get(), R"sql(
INSERT INTO databases (agent_id, database, last_collected_s, advice, advice_collected_s)
VALUES (?1, ?2, ?3, ?4, CASE WHEN ?4 IS NULL THEN NULL ELSE ?3 END)
ON CONFLICT (agent_id, database) DO UPDATE SET
  last_collected_s = max(last_collected_s, excluded.last_collected_s),
  advice = coalesce(excluded.advice, advice),
  advice_collected_s = coalesce(excluded.advice_collected_s, advice_collected_s))sql");
  RETURN_IF_ERROR(known);
  known->Bind(1, database.agent_id);
  known->Bind(2, database.database);
  known->Bind(3, database.collected_s);
  known->BindOptional(4, advice_json);
  if (Status st = known->Run(); !st.ok()) return st;
  for (const Resolution resolution : kResolutions) {
    if (Status st = AddDatabaseBucket(db_.get(), database, resolution); !st.ok()) return st;
  }
  if (database.activity) {
    if (Status st = AddActivity(db_.get(), database, *database.activity); !st.ok()) return st;
  }

  auto info = SqliteStatement::Prepare(db_.get(), R"sql(
INSERT INTO statements (agent_id, database, queryid, fingerprint, text, duration_class,
  cumulative_min_ms, cumulative_max_ms, score, last_seen_s)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (agent_id, database, queryid) DO UPDATE SET
  fingerprint = excluded.fingerprint,
  text = coalesce(text, excluded.text),
  duration_class = excluded.duration_class,
  cumulative_min_ms = coalesce(excluded.cumulative_min_ms, cumulative_min_ms),
  cumulative_max_ms = coalesce(excluded.cumulative_max_ms, cumulative_max_ms),
  score = excluded.score,
  last_seen_s = max(last_seen_s, excluded.last_seen_s))sql");
  RETURN_IF_ERROR(info);
  auto series = SqliteStatement::Prepare(db_.get(), R"sql(
INSERT INTO statement_series (agent_id, database, queryid, resolution, bucket_s, calls,
  total_exec_ms, rows)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (agent_id, database, queryid, resolution, bucket_s) DO UPDATE SET
  calls = calls + excluded.calls,
  total_exec_ms = total_exec_ms + excluded.total_exec_ms,
  rows = rows + excluded.rows)sql");
  RETURN_IF_ERROR(series);
  for (const StatementSample& s : statements) {
    info->Bind(1, database.agent_id);
    info->Bind(2, database.database);
    info->Bind(3, s.queryid);
    info->Bind(4, s.fingerprint);
    info->BindOptional(5, s.text);
    info->Bind(6, s.duration_class);
    BindOptionalDouble(*info, 7, s.cumulative_min_ms);
    BindOptionalDouble(*info, 8, s.cumulative_max_ms);
    info->BindDouble(9, s.score);
    info->Bind(10, database.collected_s);
    if (Status st = info->Run(); !st.ok()) return st;
    info->Reset();
    for (const Resolution resolution : kResolutions) {
      series->Bind(1, database.agent_id);
      series->Bind(2, database.database);
      series->Bind(3, s.queryid);
      series->Bind(4, static_cast<int64_t>(resolution));
      series->Bind(5, BucketOf(database.collected_s, resolution));
      series->BindDouble(6, s.calls);
      series->BindDouble(7, s.total_exec_ms);
      series->BindDouble(8, s.rows);
      if (Status st = series->Run(); !st.ok()) return st;
      series->Reset();
    }
  }
  return tx->Commit();
}

Result<std::vector<DatabaseInfo>> Store::ListDatabases() {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT agent_id, database, last_collected_s, advice, advice_collected_s FROM databases
ORDER BY agent_id, database)sql");
  RETURN_IF_ERROR(query);
  std::vector<DatabaseInfo> databases;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return databases;
    databases.push_back({query->ColumnText(0), query->ColumnText(1), query->ColumnInt(2),
                         query->ColumnOptionalText(3), query->ColumnOptionalInt(4)});
  }
}

Result<std::vector<DatabasePoint>> Store::DatabaseSeries(const std::string& agent_id,
                                                         const std::string& database,
                                                         Resolution resolution, int64_t since_s) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT bucket_s, window_s, total_exec_ms, calls, connections_sum, cache_hit_ratio_sum, tps_sum,
  samples, cache_hit_samples
FROM database_series
WHERE agent_id = ?1 AND database = ?2 AND resolution = ?3 AND bucket_s >= ?4
ORDER BY bucket_s)sql");
  RETURN_IF_ERROR(query);
  query->Bind(1, agent_id);
  query->Bind(2, database);
  query->Bind(3, static_cast<int64_t>(resolution));
  query->Bind(4, since_s);
  std::vector<DatabasePoint> points;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return points;
    points.push_back({query->ColumnInt(0), query->ColumnDouble(1), query->ColumnDouble(2),
                      query->ColumnDouble(3), query->ColumnDouble(4), query->ColumnDouble(5),
                      query->ColumnDouble(6), query->ColumnInt(7), query->ColumnInt(8)});
  }
}

Result<std::vector<WaitClassPoint>> Store::WaitClassSeries(const std::string& agent_id,
                                                           const std::string& database,
                                                           Resolution resolution,
                                                           int64_t since_s) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT c.bucket_s, c.wait_class, c.seconds, w.seconds
FROM wait_class_series c
JOIN wait_class_series w ON w.agent_id = c.agent_id AND w.database = c.database
  AND w.resolution = c.resolution AND w.bucket_s = c.bucket_s AND w.wait_class = ''
WHERE c.agent_id = ?1 AND c.database = ?2 AND c.resolution = ?3 AND c.bucket_s >= ?4
  AND c.wait_class <> ''
ORDER BY c.bucket_s, c.wait_class)sql");
  RETURN_IF_ERROR(query);
  query->Bind(1, agent_id);
  query->Bind(2, database);
  query->Bind(3, static_cast<int64_t>(resolution));
  query->Bind(4, since_s);
  std::vector<WaitClassPoint> points;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return points;
    points.push_back({query->ColumnInt(0), query->ColumnText(1), query->ColumnDouble(2),
                      query->ColumnDouble(3)});
  }
}

Result<std::optional<LatestActivity>> Store::GetLatestActivity(const std::string& agent_id,
                                                               const std::string& database) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT activity, activity_collected_s FROM databases
WHERE agent_id = ?1 AND database = ?2 AND activity IS NOT NULL)sql");
  RETURN_IF_ERROR(query);
  query->Bind(1, agent_id);
  query->Bind(2, database);
  auto row = query->Step();
  RETURN_IF_ERROR(row);
  if (!*row) return std::optional<LatestActivity>();
  return std::optional<LatestActivity>(LatestActivity{query->ColumnText(0), query->ColumnInt(1)});
}

Result<std::vector<StatementPoint>> Store::StatementSeries(const std::string& agent_id,
                                                           const std::string& database,
                                                           const std::string& queryid,
                                                           Resolution resolution,
                                                           int64_t since_s) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT s.bucket_s, s.calls, s.total_exec_ms, s.rows, coalesce(d.window_s, 0),
  coalesce(d.total_exec_ms, 0)
FROM statement_series s
LEFT JOIN database_series d ON d.agent_id = s.agent_id AND d.database = s.database
  AND d.resolution = s.resolution AND d.bucket_s = s.bucket_s
WHERE s.agent_id = ?1 AND s.database = ?2 AND s.queryid = ?3 AND s.resolution = ?4
  AND s.bucket_s >= ?5
ORDER BY s.bucket_s)sql");
  RETURN_IF_ERROR(query);
  query->Bind(1, agent_id);
  query->Bind(2, database);
  query->Bind(3, queryid);
  query->Bind(4, static_cast<int64_t>(resolution));
  query->Bind(5, since_s);
  std::vector<StatementPoint> points;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return points;
    points.push_back({query->ColumnInt(0), query->ColumnDouble(1), query->ColumnDouble(2),
                      query->ColumnDouble(3), query->ColumnDouble(4), query->ColumnDouble(5)});
  }
}

Result<std::vector<StatementTotals>> Store::TopStatements(const std::string& agent_id,
                                                          const std::string& database,
                                                          int64_t since_s, int64_t limit) {
  std::lock_guard lock(mutex_);
  // Driven from the database's statements (CROSS JOIN keeps that order), so that each
  // statement's buckets of the period are one range of the series' primary key, rather than a
  // scan of every bucket the database ever had.
  auto query = SqliteStatement::Prepare(
      db_.get(), std::string("SELECT ") + kInfoColumns +
                     R"sql(, sum(x.calls), sum(x.total_exec_ms) AS total_exec_ms
FROM statements s
CROSS JOIN statement_series x ON x.agent_id = s.agent_id AND x.database = s.database
  AND x.queryid = s.queryid AND x.resolution = ?3 AND x.bucket_s >= ?4
WHERE s.agent_id = ?1 AND s.database = ?2
GROUP BY s.queryid ORDER BY total_exec_ms DESC LIMIT ?5)sql");
  RETURN_IF_ERROR(query);
  query->Bind(1, agent_id);
  query->Bind(2, database);
  query->Bind(3, static_cast<int64_t>(Resolution::kHour));
  query->Bind(4, since_s);
  query->Bind(5, limit);
  std::vector<StatementTotals> top;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return top;
    top.push_back({InfoFrom(*query), query->ColumnDouble(10), query->ColumnDouble(11)});
  }
}

Result<std::optional<StatementInfo>> Store::GetStatementInfo(const std::string& agent_id,
                                                             const std::string& database,
                                                             const std::string& queryid) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(
      db_.get(), std::string("SELECT ") + kInfoColumns +
                     " FROM statements s WHERE s.agent_id = ?1 AND s.database = ?2 AND "
                     "s.queryid = ?3");
  RETURN_IF_ERROR(query);
  query->Bind(1, agent_id);
  query->Bind(2, database);
  query->Bind(3, queryid);
  auto row = query->Step();
  RETURN_IF_ERROR(row);
  if (!*row) return std::optional<StatementInfo>();
  return std::optional<StatementInfo>(InfoFrom(*query));
}

Result<int64_t> Store::PruneSeries(int64_t minute_cutoff_s, int64_t hour_cutoff_s) {
  std::lock_guard lock(mutex_);
  auto tx = SqliteTransaction::Begin(db_.get());
  RETURN_IF_ERROR(tx);
  int64_t deleted = 0;
  for (const char* table : {"statement_series", "database_series", "wait_class_series"}) {
    auto remove = SqliteStatement::Prepare(
        db_.get(), std::string("DELETE FROM ") + table +
                       " WHERE (resolution = ?1 AND bucket_s < ?2) OR "
                       "(resolution = ?3 AND bucket_s < ?4)");
    RETURN_IF_ERROR(remove);
    remove->Bind(1, static_cast<int64_t>(Resolution::kMinute));
    remove->Bind(2, minute_cutoff_s);
    remove->Bind(3, static_cast<int64_t>(Resolution::kHour));
    remove->Bind(4, hour_cutoff_s);
    if (Status st = remove->Run(); !st.ok()) return std::move(st).error();
    deleted += sqlite3_changes(db_.get());
  }
  // Statements no bucket names any more.
  auto orphans = SqliteStatement::Prepare(db_.get(), R"sql(
DELETE FROM statements WHERE last_seen_s < ?1)sql");
  RETURN_IF_ERROR(orphans);
  orphans->Bind(1, hour_cutoff_s);
  if (Status st = orphans->Run(); !st.ok()) return std::move(st).error();
  if (Status st = tx->Commit(); !st.ok()) return std::move(st).error();
  return deleted;
}

}  // namespace optischema::controlplane
