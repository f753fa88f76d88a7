#include "pg/plan_probe.h"

#include <charconv>

#include "pg/query_rows.h"
#include "pg/sql_identifier.h"

namespace optischema::pg {
namespace {

Status Run(PgSession& session, const std::string& sql) {
  auto result = session.Query(sql);
  RETURN_IF_ERROR(result);
  return OkStatus();
}

// The error of planning a statement the agent did not write, in the agent's words: the code and
// SQLSTATE are kept, the server's message (which may quote a value folded from a table) is not.
Error Planning(const Error& error) {
  if (error.code == ErrorCode::kConnectionLost) {
    return MakeError(error.code, "database connection lost while planning", error.sqlstate);
  }
  std::string message = "the statement could not be planned";
  if (error.sqlstate == "57014") message += ": planning took longer than the timeout";
  if (error.code == ErrorCode::kPermissionDenied) {
    message += ": the agent's role may not read a table the statement reads";
  }
  return MakeError(
      error.code == ErrorCode::kPermissionDenied ? error.code : ErrorCode::kQueryFailed, message,
      error.sqlstate);
}

}  // namespace

Result<double> GenericPlanCost(PgSession& session, const ProvenStatement& statement,
                               std::chrono::milliseconds timeout) {
  std::string args;
  for (int i = 0; i < statement.parameters(); ++i) {
    args += (i == 0 ? "(" : ", ") + std::string("NULL");
  }
  if (!args.empty()) args += ")";
  Status status =
      Run(session, "BEGIN READ ONLY; " + std::string(kPinnedSearchPath) +
                       "; SET LOCAL statement_timeout = " + std::to_string(timeout.count()) +
                       "; SET LOCAL plan_cache_mode = force_generic_plan");
  double cost = -1;
  if (status.ok()) {
    // Through the extended protocol, which refuses more than one statement in a text: whatever
    // the text holds, it can only become this one prepared statement.
    status = session.StreamWithParams("PREPARE optischema_plan_probe AS " + statement.text(), {},
                                      [](RowFields) { return true; });
    if (!status.ok()) status = Planning(status.error());
  }
  if (status.ok()) {
    auto plan = session.Query("EXPLAIN (FORMAT JSON) EXECUTE optischema_plan_probe" + args);
    if (!plan.ok()) {
      status = Planning(plan.error());
    } else if (!plan->rows.empty() && plan->rows[0][0]) {
      const std::string& text = *plan->rows[0][0];
      constexpr std::string_view kKey = "\"Total Cost\": ";
      const std::size_t at = text.find(kKey);
      if (at != std::string::npos) {
        const char* begin = text.data() + at + kKey.size();
        double value = -1;
        if (std::from_chars(begin, text.data() + text.size(), value).ec == std::errc()) {
          cost = value;
        }
      }
    }
  }
  (void)Run(session, "ROLLBACK");
  (void)Run(session, "DEALLOCATE optischema_plan_probe");
  RETURN_IF_ERROR(status);
  if (cost < 0) return MakeError(ErrorCode::kQueryFailed, "EXPLAIN returned no total cost");
  return cost;
}

Result<std::optional<std::string>> HypopgSchema(PgSession& session) {
  auto rows = QueryRows(
      session,
      "SELECT n.nspname::text FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON "
      "n.oid = e.extnamespace WHERE e.extname = 'hypopg'");
  RETURN_IF_ERROR(rows);
  if (rows->empty() || !(*rows)[0][0]) return std::optional<std::string>();
  return std::optional<std::string>(*(*rows)[0][0]);
}

Result<int64_t> CreateHypotheticalIndex(PgSession& session, const std::string& hypopg_schema,
                                        const std::string& create_index_sql) {
  const std::string schema = QuoteIdentifier(hypopg_schema);
  auto rows = QueryRows(session,
                        "SELECT " + schema + ".hypopg_relation_size(h.indexrelid)::text FROM " +
                            schema + ".hypopg_create_index($1::pg_catalog.text) h",
                        {create_index_sql});
  RETURN_IF_ERROR(rows);
  int64_t size = 0;
  if (!rows->empty() && (*rows)[0][0]) {
    const std::string& text = *(*rows)[0][0];
    std::from_chars(text.data(), text.data() + text.size(), size);
  }
  return size;
}

Status ResetHypotheticalIndexes(PgSession& session, const std::string& hypopg_schema) {
  return Run(session, "SELECT " + QuoteIdentifier(hypopg_schema) + ".hypopg_reset()");
}

}  // namespace optischema::pg
