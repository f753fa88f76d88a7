#pragma once

// The statements of the connected database that took most execution time: pg_stat_statements'
// top-level statements (the agent's own left out), by total execution time, with their text
// (which never leaves the agent). Errors: those of PgSession, and those of pg::DetectExtension
// (kExtensionMissing, kUnsupportedVersion).

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "pg/pg_session.h"

namespace optischema::advisor {

struct TopStatement {
  int64_t queryid = 0;
  std::string text;
};

// At most `max_statements`, the most time first. `database` names the database in messages.
Result<std::vector<TopStatement>> ReadTopStatements(pg::PgSession& session,
                                                    const std::string& database,
                                                    int max_statements);

}  // namespace optischema::advisor
