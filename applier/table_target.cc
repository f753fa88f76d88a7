#include <string>

#include "applier/executor_support.h"
#include "pg/query_rows.h"

namespace optischema::applier::executor_support {

Result<TargetTable> FindTargetTable(pg::PgSession& session, const std::string& schema,
                                    const std::string& table) {
  const std::string relation = Q(schema) + "." + Q(table);
  // MAINTAIN (ANALYZE, VACUUM, ... without owning the table) exists from PostgreSQL 17 on; the
  // text asked is chosen here, so an older server never sees the privilege name.
  const std::string maintain = session.ServerVersionNum() >= 170000
                                   ? "pg_catalog.has_table_privilege(c.oid, 'MAINTAIN')::text"
                                   : "'false'";
  auto rows = pg::QueryRows(
      session,
      "SELECT c.oid::text, c.relkind::text, c.reltoastrelid::text, "
      "pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')::text, " +
          maintain +
          ", (n.nspname = 'information_schema' OR pg_catalog.starts_with(n.nspname, "
          "'pg_'))::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
          "c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
      {schema, table});
  RETURN_IF_ERROR(rows);
  TargetTable target;
  if (rows->empty()) {
    target.refusal = "table does not exist: " + relation;
    return target;
  }
  const pg::Row& row = (*rows)[0];
  const std::string relkind = row[1].value_or("");
  if (row[5] == "true") {
    target.refusal = relation + " is in a system schema; the agent changes only user tables";
  } else if (relkind != "r" && relkind != "p" && relkind != "m") {
    target.refusal = relation + " is not a table or materialized view";
  }
  if (!target.refusal.empty()) return target;
  target.oid = row[0].value_or("");
  target.relkind = relkind[0];
  target.toast_oid = row[2].value_or("0");
  target.owned = row[3] == "true";
  target.maintain = row[4] == "true";
  return target;
}

}  // namespace optischema::applier::executor_support
