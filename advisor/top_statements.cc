#include "advisor/top_statements.h"

#include <charconv>

#include "pg/agent_marker.h"
#include "pg/query_rows.h"
#include "pg/sql_identifier.h"
#include "pg/stat_statements_extension.h"

namespace optischema::advisor {

Result<std::vector<TopStatement>> ReadTopStatements(pg::PgSession& session,
                                                    const std::string& database,
                                                    int max_statements) {
  auto extension = pg::DetectExtension(session, database);
  RETURN_IF_ERROR(extension);
  const std::string view = pg::QuoteIdentifier(extension->schema) + ".pg_stat_statements(true)";
  const std::string toplevel = extension->AtLeast(1, 9) ? " AND s.toplevel" : "";
  auto rows = pg::QueryRows(
      session,
      "SELECT s.queryid::text, min(s.query) FROM " + view +
          " s WHERE s.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = "
          "pg_catalog.current_database()) AND s.queryid IS NOT NULL AND s.calls > 0" +
          toplevel + " AND NOT " + pg::MarkedStatementCondition("s.query") +
          " GROUP BY s.queryid ORDER BY sum(s.total_exec_time) DESC LIMIT $1",
      {std::to_string(max_statements)});
  RETURN_IF_ERROR(rows);
  std::vector<TopStatement> out;
  for (const pg::Row& row : *rows) {
    if (!row[0] || !row[1]) continue;
    TopStatement s;
    std::from_chars(row[0]->data(), row[0]->data() + row[0]->size(), s.queryid);
    s.text = *row[1];
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace optischema::advisor
