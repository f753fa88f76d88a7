#pragma once

// Table health of the connected database: per table and materialized view of the user's schemas
// (not pg_catalog, information_schema, TOAST or temporary schemas) its tuple counts, when it was
// last vacuumed and analyzed, its size, the age of its oldest unfrozen transaction and
// multixact ids, and its autovacuum reloptions; plus the server's autovacuum settings. Two fixed
// catalog reads (pg_settings; pg_class with pg_stat_all_tables), schema-qualified.
//
// Bounded: the kMaxTablesPerOrder tables with most dead tuples and the kMaxTablesPerOrder with
// the oldest relfrozenxid are read (at most twice that many); the others are only counted.
//
// Reloptions are kept only when protocol/table_options_allow_list.h allows their name (a TOAST
// table's as "toast.<name>") and value, in its canonical form (a boolean spelled "on", "off",
// "yes"... first becomes "true"/"false"); anything else is dropped.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pg/pg_session.h"
#include "protocol/advice.h"

namespace optischema::advisor {

inline constexpr int64_t kMaxTablesPerOrder = 1000;

struct TableHealthReading {
  uint32_t oid = 0;
  protocol::TableHealth health;  // read_by left empty
};

struct TableHealthReadings {
  protocol::AutovacuumSettings settings;
  std::vector<TableHealthReading> tables;  // by schema, then name
  int64_t tables_omitted = 0;
};

// Parses one pg_class.reloptions element ("name=value") into `options` under `prefix` + name
// when the name and value are allowed (see above); otherwise leaves it unchanged.
void AddTableOption(std::string_view element, std::string_view prefix,
                    std::map<std::string, std::string>& options);

// Errors: those of PgSession.
Result<TableHealthReadings> ReadTableHealth(pg::PgSession& session);

}  // namespace optischema::advisor
