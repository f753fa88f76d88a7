#include "applier/apply_preflight.h"

#include "applier/executor.h"
#include "applier/settings_allow_list.h"
#include "pg/query_rows.h"
#include "pg/sql_identifier.h"

namespace optischema::applier {
namespace {

constexpr int kTablesNamed = 5;

// ALTER SYSTEM on the allow-listed settings, and the rest of what set_config runs.
CheckItem SetConfigItem(pg::PgSession& session, const std::string& subject, const std::string& role,
                        bool pg15) {
  if (!pg15) {
    auto super = pg::QueryRows(
        session,
        "SELECT r.rolsuper::text FROM pg_catalog.pg_roles r WHERE r.rolname = current_user");
    const bool superuser = super.ok() && !super->empty() && (*super)[0][0] == "true";
    if (superuser) return Ok("alter_system", subject, "role " + role + " may use ALTER SYSTEM");
    return Warn("alter_system", subject,
                "before PostgreSQL 15 only a superuser may use ALTER SYSTEM: set_config "
                "recommendations will be refused (index changes are not affected)",
                "leave set_config unused on this server, or upgrade to PostgreSQL 15");
  }
  std::string names;
  for (const AllowedSetting& s : kAllowedSettings) {
    names += (names.empty() ? "" : ",") + std::string(s.name);
  }
  // Settings this server does not know are skipped (the list spans several versions).
  auto alterable = pg::QueryRows(
      session,
      "SELECT count(*)::text, coalesce(pg_catalog.string_agg(n, ', ' ORDER BY n) FILTER (WHERE "
      "NOT pg_catalog.has_parameter_privilege(n, 'ALTER SYSTEM')), '') FROM "
      "pg_catalog.unnest(pg_catalog.string_to_array($1, ',')) n WHERE EXISTS (SELECT 1 FROM "
      "pg_catalog.pg_settings s WHERE s.name = n) AND pg_catalog.has_parameter_privilege(n, "
      "'ALTER SYSTEM')",
      {names});
  if (!alterable.ok() || alterable->empty()) {
    return Fail(
        "alter_system", subject,
        alterable.ok() ? "ALTER SYSTEM privileges could not be read" : alterable.error().ToString(),
        "check the role the DSN connects as");
  }
  const long granted = pg::NumberIn<long>((*alterable)[0][0]);
  auto missing = MissingSetConfigGrants(session, "work_mem");
  if (!missing.ok()) {
    return Fail("alter_system", subject, missing.error().ToString(),
                "check the role the DSN connects as");
  }
  std::string other;  // the GRANTs besides ALTER SYSTEM that are missing
  for (const std::string& grant : *missing) {
    if (!grant.starts_with("GRANT ALTER SYSTEM")) other += (other.empty() ? "" : " ") + grant + ";";
  }
  if (granted == 0) {
    return Warn("alter_system", subject,
                "role " + role +
                    " may not use ALTER SYSTEM on any allow-listed setting: set_config "
                    "recommendations will be refused (index changes are not affected)",
                "GRANT ALTER SYSTEM ON PARAMETER work_mem, ... TO " + role +
                    "; for each allow-listed setting you want the agent to change" +
                    (other.empty() ? "" : "; " + other));
  }
  if (!other.empty()) {
    // Without these, every set_config is refused before it changes anything.
    return Fail("alter_system", subject,
                "role " + role + " may use ALTER SYSTEM on " + std::to_string(granted) +
                    " allow-listed settings but lacks what set_config also runs "
                    "(pg_reload_conf(), pg_file_settings): every set_config would be refused",
                other);
  }
  return Ok("alter_system", subject,
            "role " + role + " may use ALTER SYSTEM on " + std::to_string(granted) +
                " allow-listed settings, call pg_reload_conf() and read pg_file_settings");
}

}  // namespace

CheckItem PreflightSuperuser(pg::PgSession& session, const std::string& subject, bool apply) {
  auto rows = pg::QueryRows(
      session,
      "SELECT current_user, r.rolsuper::text FROM pg_catalog.pg_roles r WHERE r.rolname = "
      "current_user");
  if (!rows.ok() || rows->empty()) {
    return Fail("superuser", subject,
                rows.ok() ? "the role's attributes could not be read" : rows.error().ToString(),
                "check the role the DSN connects as");
  }
  const std::string role = (*rows)[0][0].value_or("?");
  if ((*rows)[0][1] != "true") {
    return Ok("superuser", subject, "role " + role + " is not a superuser");
  }
  if (apply) {
    return Fail("superuser", subject,
                "role " + role +
                    " is a superuser: the agent refuses to plan statements as a superuser, and "
                    "must not change this database (apply = true) as one, since objects any "
                    "database user creates could then run with superuser rights",
                "connect as a dedicated role without SUPERUSER with the grants of "
                "docs/database-setup.md (ALTER ROLE " +
                    pg::QuoteIdentifier(role) + " NOSUPERUSER; if it is not the bootstrap role)");
  }
  return Warn("superuser", subject,
              "role " + role +
                  " is a superuser: the agent refuses to plan statements as a superuser, so "
                  "index proposals and plan checks are skipped (collection works)",
              "connect as a role with pg_monitor and the grants of docs/database-setup.md");
}

std::vector<CheckItem> PreflightApply(pg::PgSession& session, const std::string& subject) {
  std::vector<CheckItem> items;
  // Role, superuser, standby, whether the server has per-setting ALTER SYSTEM privileges
  // (PostgreSQL 15 or newer: non-NULL), user tables, and up to kTablesNamed of those the role
  // cannot index. has_parameter_privilege() itself cannot appear here: it does not exist before
  // 15, and the whole statement would fail there.
  auto rows = pg::QueryRows(
      session,
      "SELECT current_user, r.rolsuper::text, pg_catalog.pg_is_in_recovery()::text, "
      "CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 150000 THEN 'true' "
      "END, "
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
  const pg::Row& row = (*rows)[0];
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

  const long tables = pg::NumberIn<long>(row[4]);
  const long foreign = pg::NumberIn<long>(row[5]);
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

  items.push_back(SetConfigItem(session, subject, role, row[3].has_value()));
  return items;
}

}  // namespace optischema::applier
