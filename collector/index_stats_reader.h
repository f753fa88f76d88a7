#pragma once

// Index statistics of the connected database: every index of the user's schemas with its size,
// scan count, flags and the cumulative write count of its table, plus how old the statistics
// are. Catalog reads only (pg_index, pg_class, pg_stat_all_indexes, pg_stat_all_tables,
// pg_stat_progress_create_index); every statement carries the agent marker.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "pg/pg_session.h"
#include "protocol/advice.h"

namespace optischema::collector {

struct IndexReading {
  // scans_window and table_writes_per_s left empty; an expression column is anonymized.
  protocol::IndexStat stat;
  uint32_t oid = 0;
  uint32_t table_oid = 0;
  // One entry per key column, equal exactly when two indexes index that position the same way:
  // "attnum/opclass/collation/option" (attnum 0 for an expression).
  std::vector<std::string> key_signature;
  int include_columns = 0;   // INCLUDE (non-key) columns
  std::string expressions;   // pg_get_expr of indexprs, "" when none
  std::string predicate;     // pg_get_expr of indpred, "" when none
  int64_t table_writes = 0;  // n_tup_ins + n_tup_upd + n_tup_del of its table, cumulative
  // Writes that maintain its entries: inserts and non-HOT updates of its table, cumulative.
  int64_t index_writes = 0;
  bool partitioned = false;  // the index of a partitioned table (relkind 'I'): no storage
  bool attached = false;     // a partition's index attached to a partitioned index
};

struct IndexStatsReading {
  std::vector<IndexReading> indexes;  // ordered by schema, table, index name
  protocol::IndexStatsInfo stats;     // window_s left empty
};

// Errors: those of PgSession.
Result<IndexStatsReading> ReadIndexStats(pg::PgSession& session);

}  // namespace optischema::collector
