#include "collector/kpi_reader.h"

#include <charconv>

namespace optischema::collector {

namespace {

int64_t ToInt(const std::optional<std::string>& v) {
  int64_t out = 0;
  if (v) std::from_chars(v->data(), v->data() + v->size(), out);
  return out;
}

int64_t WindowDelta(int64_t prev, int64_t cur) { return cur >= prev ? cur - prev : cur; }

}  // namespace

Result<KpiReading> ReadKpis(PgSession& session) {
  KpiReading k;
  auto db = session.Query(
      "SELECT xact_commit + xact_rollback, blks_hit, blks_read, "
      "(SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend'), "
      "current_setting('max_connections') FROM pg_catalog.pg_stat_database "
      "WHERE datname = pg_catalog.current_database()");
  if (!db.ok()) return std::move(db).error();
  if (!db->rows.empty()) {
    const auto& r = db->rows[0];
    k.xact_total = ToInt(r[0]);
    k.blks_hit = ToInt(r[1]);
    k.blks_read = ToInt(r[2]);
    k.connections_total = ToInt(r[3]);
    k.max_connections = ToInt(r[4]);
  }
  auto act = session.Query(
      "SELECT coalesce(state, 'unknown'), count(*) FROM pg_catalog.pg_stat_activity "
      "WHERE datname = pg_catalog.current_database() AND backend_type = 'client backend' "
      "GROUP BY 1");
  if (!act.ok()) return std::move(act).error();
  for (const auto& r : act->rows) k.connections_by_state[r[0].value_or("unknown")] = ToInt(r[1]);
  return k;
}

protocol::Kpis WindowKpis(const KpiReading& prev, const KpiReading& cur, double window_s) {
  protocol::Kpis out;
  out.connections_by_state = cur.connections_by_state;
  out.connections_total = cur.connections_total;
  out.max_connections = cur.max_connections;
  const int64_t hit = WindowDelta(prev.blks_hit, cur.blks_hit);
  const int64_t read = WindowDelta(prev.blks_read, cur.blks_read);
  if (hit + read > 0) {
    out.cache_hit_ratio = static_cast<double>(hit) / static_cast<double>(hit + read);
  }
  if (window_s > 0) {
    out.tps = static_cast<double>(WindowDelta(prev.xact_total, cur.xact_total)) / window_s;
  }
  return out;
}

}  // namespace optischema::collector
