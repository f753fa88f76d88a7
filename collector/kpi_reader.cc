#include "collector/kpi_reader.h"

#include "collector/delta.h"
#include "pg/query_rows.h"

namespace optischema::collector {

Result<KpiReading> ReadKpis(pg::PgSession& session) {
  KpiReading k;
  auto db = session.Query(
      "SELECT xact_commit + xact_rollback, blks_hit, blks_read, "
      "(SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend'), "
      "current_setting('max_connections') FROM pg_catalog.pg_stat_database "
      "WHERE datname = pg_catalog.current_database()");
  RETURN_IF_ERROR(db);
  if (!db->rows.empty()) {
    const auto& r = db->rows[0];
    k.xact_total = pg::NumberIn<int64_t>(r[0]);
    k.blks_hit = pg::NumberIn<int64_t>(r[1]);
    k.blks_read = pg::NumberIn<int64_t>(r[2]);
    k.connections_total = pg::NumberIn<int64_t>(r[3]);
    k.max_connections = pg::NumberIn<int64_t>(r[4]);
  }
  auto act = session.Query(
      "SELECT coalesce(state, 'unknown'), count(*) FROM pg_catalog.pg_stat_activity "
      "WHERE datname = pg_catalog.current_database() AND backend_type = 'client backend' "
      "GROUP BY 1");
  RETURN_IF_ERROR(act);
  for (const auto& r : act->rows)
    k.connections_by_state[r[0].value_or("unknown")] = pg::NumberIn<int64_t>(r[1]);
  return k;
}

protocol::Kpis WindowKpis(const KpiReading& prev, const KpiReading& cur, double window_s) {
  protocol::Kpis out;
  out.connections_by_state = cur.connections_by_state;
  out.connections_total = cur.connections_total;
  out.max_connections = cur.max_connections;
  const int64_t hit = CounterGrowth(prev.blks_hit, cur.blks_hit);
  const int64_t read = CounterGrowth(prev.blks_read, cur.blks_read);
  if (hit + read > 0) {
    out.cache_hit_ratio = static_cast<double>(hit) / static_cast<double>(hit + read);
  }
  if (window_s > 0) {
    out.tps = static_cast<double>(CounterGrowth(prev.xact_total, cur.xact_total)) / window_s;
  }
  return out;
}

}  // namespace optischema::collector
