#pragma once

// Database-level KPIs from pg_stat_activity and pg_stat_database.

#include <cstdint>
#include <map>
#include <string>

#include "core/result.h"
#include "pg/pg_session.h"
#include "protocol/snapshot.h"

namespace optischema::collector {

struct KpiReading {
  int64_t xact_total = 0;  // xact_commit + xact_rollback, cumulative
  int64_t blks_hit = 0;
  int64_t blks_read = 0;
  std::map<std::string, int64_t> connections_by_state;  // this database's client backends
  int64_t connections_total = 0;                        // all client backends of the instance
  int64_t max_connections = 0;
};

// Two small catalog queries. Errors as PgSession::Query.
Result<KpiReading> ReadKpis(pg::PgSession& session);

// KPIs of the window between two readings. Counters that went down (statistics reset) count
// from zero, never negative.
protocol::Kpis WindowKpis(const KpiReading& prev, const KpiReading& cur, double window_s);

}  // namespace optischema::collector
