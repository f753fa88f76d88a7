#include "collector/activity_reader.h"

#include <charconv>

#include "pg/query_rows.h"

namespace optischema::collector {

bool SessionSample::idle_in_transaction() const {
  return state && (*state == "idle in transaction" || *state == "idle in transaction (aborted)");
}

namespace {

// pg_stat_activity.query_id exists from PostgreSQL 14 on.
constexpr int kQueryIdVersionNum = 140000;

}  // namespace

Result<ActivityQuery> ActivityQueryFor(pg::PgSession& session, int64_t idle_in_transaction_warn_s) {
  auto res = session.Query(
      "SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()");
  RETURN_IF_ERROR(res);
  ActivityQuery query;
  if (!res->rows.empty()) query.database_oid = pg::NumberIn<uint32_t>(res->rows[0][0]);
  query.has_query_id = session.ServerVersionNum() >= kQueryIdVersionNum;
  query.idle_in_transaction_warn_s = idle_in_transaction_warn_s;
  return query;
}

std::string ActivitySql(const ActivityQuery& query) {
  // pg_blocking_pids takes the lock manager's partition locks and walks the lock table, and
  // pg_locks copies the whole lock table: each runs only for the rows that need it (CASE evaluates
  // lazily). Brief lock waits, which a busy server has at every instant, count in the load but are
  // not resolved into chains: only a statement that has run for kBlockingMinSeconds.
  std::string sql = "SELECT a.pid, a.backend_type, a.state, a.wait_event_type, a.wait_event, ";
  sql += query.has_query_id ? "a.query_id" : "NULL::pg_catalog.int8";
  sql +=
      ", pg_catalog.date_part('epoch', pg_catalog.statement_timestamp() - a.xact_start), "
      "pg_catalog.date_part('epoch', pg_catalog.statement_timestamp() - a.state_change), "
      "CASE WHEN a.wait_event_type = 'Lock' AND a.state_change < "
      "pg_catalog.statement_timestamp() - pg_catalog.make_interval(secs => ";
  sql += std::to_string(kBlockingMinSeconds);
  sql +=
      ") THEN pg_catalog.pg_blocking_pids(a.pid) END, "
      "CASE WHEN a.state IN ('idle in transaction', 'idle in transaction (aborted)') AND "
      "a.state_change < pg_catalog.statement_timestamp() - pg_catalog.make_interval(secs => ";
  sql += std::to_string(query.idle_in_transaction_warn_s);
  sql +=
      ") THEN (SELECT pg_catalog.count(*) FROM pg_catalog.pg_locks l WHERE l.pid = a.pid AND "
      "l.granted AND l.locktype = 'relation') END "
      "FROM pg_catalog.pg_stat_activity a WHERE a.datid = ";
  sql += std::to_string(query.database_oid);
  // Idle sessions (most connections of a pooled application) are neither load nor waiting: not
  // read. One that blocks (a session-level advisory lock) is a chain root in state "unknown".
  sql +=
      "::pg_catalog.oid AND a.pid <> pg_catalog.pg_backend_pid() AND a.state IS DISTINCT FROM "
      "'idle'";
  return sql;
}

std::vector<int64_t> ParsePidArray(std::string_view text) {
  std::vector<int64_t> pids;
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return pids;
  text = text.substr(1, text.size() - 2);
  while (!text.empty()) {
    int64_t pid = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (ec != std::errc() || pid <= 0) return {};
    pids.push_back(pid);
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    if (!text.empty()) {
      if (text.front() != ',') return {};
      text.remove_prefix(1);
    }
  }
  return pids;
}

Result<ActivitySample> ReadActivity(pg::PgSession& session, const ActivityQuery& query) {
  auto res = session.Query(ActivitySql(query));
  RETURN_IF_ERROR(res);
  ActivitySample sample;
  sample.reserve(res->rows.size());
  auto optional_double = [](const std::optional<std::string>& field) -> std::optional<double> {
    if (!field) return std::nullopt;
    return pg::NumberIn<double>(field);
  };
  for (auto& row : res->rows) {
    if (row.size() < 10) continue;
    SessionSample s;
    s.pid = pg::NumberIn<int64_t>(row[0]);
    s.backend_type = row[1].value_or("");
    s.state = std::move(row[2]);
    s.wait_event_type = std::move(row[3]);
    s.wait_event = std::move(row[4]);
    if (const auto id = pg::NumberIn<int64_t>(row[5]); id != 0) s.queryid = id;
    s.xact_age_s = optional_double(row[6]);
    s.state_age_s = optional_double(row[7]);
    if (row[8]) s.blocked_by = ParsePidArray(*row[8]);
    if (row[9]) s.locks_held = pg::NumberIn<int64_t>(row[9]);
    sample.push_back(std::move(s));
  }
  return sample;
}

}  // namespace optischema::collector
