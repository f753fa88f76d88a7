#pragma once

// Private to the Executor's .cc files (applier/executor.h): the small helpers its kinds share.
// Not part of the applier's interface; nothing outside applier/ includes it.

#include <string>
#include <string_view>
#include <vector>

#include "applier/executor.h"
#include "core/result.h"
#include "pg/pg_session.h"

namespace optischema::applier::executor_support {

// `identifier` double-quoted for SQL (pg::QuoteIdentifier).
std::string Q(std::string_view identifier);

// The outcome of a change a precondition refused: nothing ran. Executor::Apply audits it.
ApplyOutcome Rejected(std::string detail);

// A server error for an event detail or the audit log, on one line: libpq's "ERROR:  " prefix and
// the LINE/caret lines that follow the primary message dropped, the SQLSTATE kept.
std::string OneLine(const Error& error);

// `sql` preceded by "SET LOCAL statement_timeout = '<timeout>'; ": sent as one simple query, the
// two share an implicit transaction, so the timeout bounds `sql` only and ends with it.
std::string WithStatementTimeout(std::string_view sql, std::string_view timeout);

// The statement timeouts of set_table_options (an ALTER TABLE that changes only pg_class) and of
// analyze_table (ANALYZE reads a sample of the table).
inline constexpr std::string_view kTableOptionsTimeout = "1min";
inline constexpr std::string_view kAnalyzeTimeout = "10min";

// The table a set_table_options or analyze_table names, as the apply role sees it.
struct TargetTable {
  std::string refusal;  // non-empty: why the change is refused (nothing ran); the rest unset
  std::string oid;
  char relkind = 'r';     // 'r' table, 'p' partitioned table, 'm' materialized view
  std::string toast_oid;  // "0" when it has no TOAST table
  bool owned = false;     // the role is the owner or a member of the owner role (may ALTER it)
  bool maintain = false;  // PostgreSQL 17+: the role holds MAINTAIN on it (may ANALYZE it)
};
// schema.table when it is a table, partitioned table or materialized view outside the system
// schemas (pg_catalog, information_schema, pg_toast and every other pg_* schema); otherwise a
// refusal naming it. Read-only. kQueryFailed (with SQLSTATE) when the catalog cannot be read.
// Defined in table_target.cc.
Result<TargetTable> FindTargetTable(pg::PgSession& session, const std::string& schema,
                                    const std::string& table);

// Makes the server re-read its configuration files (pg_reload_conf()). Defined in
// setting_change.cc; crash recovery and rollbacks of set_config use it too.
Status Reload(pg::PgSession& session);

}  // namespace optischema::applier::executor_support
