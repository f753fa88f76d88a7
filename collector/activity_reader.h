#pragma once

// One sample of pg_stat_activity for the activity sampler: one cheap catalog read of the connected
// database's backends (never the `query` column), without the sampling session itself.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "pg/pg_session.h"

namespace optischema::collector {

struct SessionSample {
  int64_t pid = 0;
  std::string backend_type;
  std::optional<std::string> state;  // none for processes that report no state
  std::optional<std::string> wait_event_type;
  std::optional<std::string> wait_event;
  std::optional<int64_t> queryid;  // PostgreSQL 14+; none when 0 or not computed
  std::optional<double> xact_age_s;
  std::optional<double> state_age_s;
  // pg_blocking_pids, read only for sessions waiting on a lock in a statement that has run for
  // kBlockingMinSeconds or more.
  std::vector<int64_t> blocked_by;
  // Table locks held, read only for sessions idle in a transaction for longer than the threshold.
  std::optional<int64_t> locks_held;

  bool active() const { return state && *state == "active"; }
  bool waits_on_lock() const { return wait_event_type && *wait_event_type == "Lock"; }
  bool idle_in_transaction() const;
};
using ActivitySample = std::vector<SessionSample>;

// Sessions waiting on a lock are resolved into blocking chains once their statement has run this
// long: shorter waits are counted in the load (wait class Lock) only.
inline constexpr int kBlockingMinSeconds = 1;

struct ActivityQuery {
  uint32_t database_oid = 0;                // the connected database
  bool has_query_id = false;                // pg_stat_activity.query_id exists (PostgreSQL 14+)
  int64_t idle_in_transaction_warn_s = 60;  // locks are counted beyond this idle time
};

// The query for the connected database: its oid and whether the server has query_id. Errors:
// those of PgSession::Query.
Result<ActivityQuery> ActivityQueryFor(pg::PgSession& session, int64_t idle_in_transaction_warn_s);

// The statement ReadActivity runs: fixed text, only the query's own settings in it.
std::string ActivitySql(const ActivityQuery& query);

// Reads one sample. Errors: those of PgSession::Query.
Result<ActivitySample> ReadActivity(pg::PgSession& session, const ActivityQuery& query);

// The process ids of a pg_blocking_pids array in text form ("{12,34}"); empty for anything else.
std::vector<int64_t> ParsePidArray(std::string_view text);

}  // namespace optischema::collector
