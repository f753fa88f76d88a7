#pragma once

// What `optischema-agent check` verifies in a database before the agent collects from it: the
// server version, pg_stat_statements preloaded and installed (with its version), the privilege to
// see every role's statements, and HypoPG for index proposals. Read-only catalog queries.

#include <string>
#include <vector>

#include "core/preflight.h"
#include "pg/pg_session.h"

namespace optischema::collector {

// `subject` names the database in every item ("database orders"). Never fails: a query that
// fails becomes a FAIL item with its message.
std::vector<CheckItem> PreflightCollection(pg::PgSession& session, const std::string& database,
                                           const std::string& subject);

}  // namespace optischema::collector
