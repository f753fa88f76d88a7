#include "collector/preflight.h"

#include <charconv>
#include <sstream>

#include "collector/stat_reader.h"
#include "pg/query_rows.h"
#include "pg/sql_identifier.h"

namespace optischema::collector {
namespace {

// Whether the comma-separated list `libraries` (as current_setting prints it, entries possibly
// quoted) names `name`.
bool ListsLibrary(const std::string& libraries, const std::string& name) {
  std::stringstream in(libraries);
  for (std::string entry; std::getline(in, entry, ',');) {
    std::string trimmed;
    for (char c : entry) {
      if (c != ' ' && c != '"' && c != '\t') trimmed.push_back(c);
    }
    if (trimmed == name) return true;
  }
  return false;
}

constexpr char kPreloadFix[] =
    "add it: shared_preload_libraries = 'pg_stat_statements' in postgresql.conf (keep the "
    "libraries already listed), or ALTER SYSTEM SET shared_preload_libraries = "
    "'pg_stat_statements'; then restart PostgreSQL";

}  // namespace

std::vector<CheckItem> PreflightCollection(pg::PgSession& session, const std::string& database,
                                           const std::string& subject) {
  std::vector<CheckItem> items;
  auto server = pg::QueryRows(session,
                              "SELECT current_setting('server_version'), current_user, "
                              "current_setting('server_version_num')");
  if (!server.ok() || server->empty()) {
    items.push_back(Fail("server", subject,
                         server.ok() ? "no answer to a trivial query" : server.error().ToString(),
                         "check that the DSN points at a PostgreSQL server"));
    return items;
  }
  const pg::Row& row = (*server)[0];
  const std::string role = row[1].value_or("?");
  const std::string version_num = row[2].value_or("0");
  items.push_back(Ok("connection", subject,
                     "connected to PostgreSQL " + row[0].value_or("?") + " as role " + role));
  int server_version_num = 0;
  std::from_chars(version_num.data(), version_num.data() + version_num.size(), server_version_num);
  if (server_version_num < 130000) {
    items.push_back(Fail("server_version", subject,
                         "PostgreSQL " + row[0].value_or("?") + " is too old",
                         "the agent needs PostgreSQL 13 or newer (pg_stat_statements 1.8+)"));
  }

  auto extension = pg::DetectExtension(session, database);
  if (extension.ok()) {
    items.push_back(Ok("pg_stat_statements", subject,
                       "extension pg_stat_statements " + extension->version +
                           " installed (schema " + extension->schema + ")"));
  } else {
    const bool missing = extension.error().code == ErrorCode::kExtensionMissing;
    items.push_back(Fail("pg_stat_statements", subject, extension.error().message,
                         missing ? "connect to this database as a superuser and run CREATE "
                                   "EXTENSION pg_stat_statements;"
                                 : "run ALTER EXTENSION pg_stat_statements UPDATE; (PostgreSQL "
                                   "13 or newer needed)"));
  }

  // shared_preload_libraries is readable only with pg_read_all_settings (part of pg_monitor);
  // without it, whether pg_stat_statements(false) answers tells the same.
  auto preload = pg::QueryRows(session, "SELECT current_setting('shared_preload_libraries')");
  if (preload.ok() && !preload->empty()) {
    const std::string libraries = (*preload)[0][0].value_or("");
    if (ListsLibrary(libraries, "pg_stat_statements")) {
      items.push_back(Ok("shared_preload_libraries", subject,
                         "pg_stat_statements is in shared_preload_libraries"));
    } else {
      items.push_back(Fail("shared_preload_libraries", subject,
                           "pg_stat_statements is not in shared_preload_libraries (it is '" +
                               libraries + "'): the server does not track statements",
                           kPreloadFix));
    }
  } else if (extension.ok()) {
    auto probe = pg::QueryRows(session, "SELECT 1 FROM " + pg::QuoteIdentifier(extension->schema) +
                                            ".pg_stat_statements(false) LIMIT 1");
    if (probe.ok()) {
      items.push_back(Ok("shared_preload_libraries", subject,
                         "pg_stat_statements is loaded (the role cannot read "
                         "shared_preload_libraries itself)"));
    } else {
      items.push_back(Fail("shared_preload_libraries", subject,
                           "pg_stat_statements cannot be read: " + probe.error().ToString(),
                           kPreloadFix));
    }
  } else {
    items.push_back(Warn("shared_preload_libraries", subject,
                         "the role may not read shared_preload_libraries: " +
                             (preload.ok() ? std::string("no answer") : preload.error().ToString()),
                         "GRANT pg_monitor TO " + role + "; then run check again"));
  }

  if (Status privilege = CheckStatsPrivilege(session); privilege.ok()) {
    items.push_back(Ok("privileges", subject,
                       "role " + role + " can see every role's statements (pg_read_all_stats)"));
  } else {
    items.push_back(Fail(
        "privileges", subject, "role " + role + " cannot see other roles' statements",
        privilege.error().code == ErrorCode::kPermissionDenied ? "GRANT pg_monitor TO " + role + ";"
                                                               : privilege.error().ToString()));
  }

  auto hypopg =
      pg::QueryRows(session,
                    "SELECT (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = "
                    "'hypopg'), EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions "
                    "WHERE name = 'hypopg')::text");
  if (!hypopg.ok() || hypopg->empty()) {
    items.push_back(Warn("hypopg", subject,
                         "could not look for hypopg: " +
                             (hypopg.ok() ? std::string("no answer") : hypopg.error().ToString()),
                         "index proposals need the hypopg extension"));
  } else if ((*hypopg)[0][0]) {
    items.push_back(Ok("hypopg", subject,
                       "extension hypopg " + *(*hypopg)[0][0] + " installed: index proposals on"));
  } else if ((*hypopg)[0][1] == "true") {
    items.push_back(Warn("hypopg", subject,
                         "hypopg is available on the server but not created in this database: no "
                         "index proposals (findings and schema drift still work)",
                         "CREATE EXTENSION hypopg; in this database (it only adds functions; "
                         "hypothetical indexes live in the agent's session memory)"));
  } else {
    items.push_back(Warn("hypopg", subject,
                         "hypopg is not installed on the server: no index proposals (findings and "
                         "schema drift still work)",
                         "install the server package (Debian: postgresql-" +
                             std::to_string(server_version_num / 10000) +
                             "-hypopg), then CREATE EXTENSION hypopg; in this database"));
  }
  return items;
}

}  // namespace optischema::collector
