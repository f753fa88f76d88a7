#include "applier/apply_preflight.h"

#include "collector/query_rows.h"

namespace optischema::applier {
namespace {

constexpr int kTablesNamed = 5;

}  // namespace

std::vector<CheckItem> PreflightApply(collector::PgSession& session, const std::string& subject) {
  std::vector<CheckItem> items;
  // Role, superuser, standby, PostgreSQL 15's per-setting ALTER SYSTEM privilege (work_mem as the
  // example), user tables, and up to kTablesNamed of those the role cannot index.
  auto rows = collector::QueryRows(
      session,
      "SELECT current_user, r.rolsuper::text, pg_catalog.pg_is_in_recovery()::text, "
      "CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 150000 THEN "
      "pg_catalog.has_parameter_privilege('work_mem', 'ALTER SYSTEM')::text END, "
      "(SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
      "c.relnamespace WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', "
      "'information_schema') AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_')::text, "
      "(SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
      "c.relnamespace WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', "
      "'information_schema') AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_' AND NOT "
      "pg_catalog.pg_has_role(c.relowner, 'USAGE'))::text, "
      "(SELECT pg_catalog.string_agg(q.name, ', ') FROM (SELECT n.nspname || '.' || c.relname AS "
      "name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_' AND NOT "
      "pg_catalog.pg_has_role(c.relowner, 'USAGE') ORDER BY 1 LIMIT " +
          std::to_string(kTablesNamed) +
          ") q), (SELECT pg_catalog.string_agg(n.nspname, ', ' ORDER BY n.nspname) FROM "
          "pg_catalog.pg_namespace n WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
          "AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_' AND EXISTS (SELECT 1 FROM "
          "pg_catalog.pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'm')) AND NOT "
          "pg_catalog.has_schema_privilege(n.oid, 'CREATE')) FROM pg_catalog.pg_roles r WHERE "
          "r.rolname = current_user");
  if (!rows.ok() || rows->empty()) {
    items.push_back(
        Fail("apply_privileges", subject,
             rows.ok() ? "the role's privileges could not be read" : rows.error().ToString(),
             "check the role the DSN connects as"));
    return items;
  }
  const collector::Row& row = (*rows)[0];
  const std::string role = row[0].value_or("?");
  const bool superuser = row[1] == "true";
  if (row[2] == "true") {
    items.push_back(Fail("standby", subject,
                         "the server is a standby (in recovery): changes cannot be applied here",
                         "point this [[database]] entry with apply = true at the primary, or set "
                         "apply = false"));
  } else {
    items.push_back(Ok("standby", subject, "the server is a primary: changes can be applied"));
  }

  const long tables = collector::NumberIn<long>(row[4]);
  const long foreign = collector::NumberIn<long>(row[5]);
  if (superuser || foreign == 0) {
    items.push_back(Ok("index_privileges", subject,
                       superuser ? "role " + role + " is a superuser: it can build and drop indexes"
                                 : "role " + role + " owns (or is a member of the owner of) all " +
                                       std::to_string(tables) +
                                       " tables: it can build and drop their indexes"));
  } else {
    const std::string message = "role " + role + " does not own " + std::to_string(foreign) +
                                " of " + std::to_string(tables) + " tables (" +
                                row[6].value_or("") + (foreign > kTablesNamed ? ", …" : "") +
                                "): index changes on them will fail";
    const std::string fix =
        "CREATE INDEX and DROP INDEX need the table's owner: GRANT <owner role> TO " + role +
        "; for each owner (or connect as the owner)";
    items.push_back(foreign == tables ? Fail("index_privileges", subject, message, fix)
                                      : Warn("index_privileges", subject, message, fix));
  }

  // CREATE INDEX also needs CREATE on the table's schema (the index goes there).
  if (superuser || !row[7]) {
    items.push_back(Ok("schema_privileges", subject,
                       "role " + role + " may create indexes in every schema holding tables"));
  } else {
    items.push_back(Warn("schema_privileges", subject,
                         "role " + role + " lacks CREATE on schema(s) " + *row[7] +
                             ": index builds on their tables will fail",
                         "GRANT CREATE ON SCHEMA " + *row[7] + " TO " + role + ";"));
  }

  if (superuser || row[3] == "true") {
    items.push_back(Ok("alter_system", subject,
                       superuser
                           ? "role " + role + " is a superuser: ALTER SYSTEM allowed"
                           : "role " + role + " may use ALTER SYSTEM (checked for work_mem)"));
  } else {
    items.push_back(Warn("alter_system", subject,
                         "role " + role +
                             " may not use ALTER SYSTEM: set_config recommendations will be "
                             "refused (index changes are not affected)",
                         "PostgreSQL 15+: GRANT ALTER SYSTEM ON PARAMETER work_mem, ... TO " +
                             role + "; for each setting you want the agent to change"));
  }
  return items;
}

}  // namespace optischema::applier
