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

namespace {

// The first row's first value of `sql`, "" when there is none.
Result<std::string> FirstValue(PgSession& session, const std::string& sql) {
  auto result = session.Query(sql);
  RETURN_IF_ERROR(result);
  if (result->rows.empty() || result->rows[0].empty() || !result->rows[0][0]) return std::string();
  return *result->rows[0][0];
}

// EXPLAIN (GENERIC_PLAN) of the text itself, in the simple query protocol: the $n parameters stay
// unbound (bound ones, even NULLs, would be folded into the plan as constants). A text without
// any ';' byte is one statement to every SQL lexer, whatever the server's settings, so this path
// is taken only for such a text; the caller has pinned the transaction.
Result<std::string> ExplainGenericPlan(PgSession& session, const ProvenStatement& statement) {
  auto plan = FirstValue(session, "EXPLAIN (GENERIC_PLAN, FORMAT JSON) " + statement.text());
  if (!plan.ok()) return Planning(plan.error());
  return plan;
}

// PREPARE under plan_cache_mode = force_generic_plan, through the extended protocol (which
// refuses more than one statement in a text, so whatever the text holds it can only become this
// one prepared statement), then EXPLAIN EXECUTE with NULL arguments, which the generic plan does
// not look at.
Result<std::string> ExplainPreparedGenericPlan(PgSession& session,
                                               const ProvenStatement& statement) {
  Status status = Run(session, "SET LOCAL plan_cache_mode = force_generic_plan");
  if (status.ok()) {
    status = session.StreamWithParams("PREPARE optischema_plan_probe AS " + statement.text(), {},
                                      [](RowFields) { return true; });
    if (!status.ok()) status = Planning(status.error());
  }
  RETURN_IF_ERROR(status);
  std::string args;
  for (int i = 0; i < statement.parameters(); ++i) {
    args += (i == 0 ? "(" : ", ") + std::string("NULL");
  }
  if (!args.empty()) args += ")";
  auto plan = FirstValue(session, "EXPLAIN (FORMAT JSON) EXECUTE optischema_plan_probe" + args);
  if (!plan.ok()) return Planning(plan.error());
  return plan;
}

}  // namespace

bool UsesExplainGenericPlan(int server_version_num, const ProvenStatement& statement) {
  return server_version_num >= 160000 && statement.text().find(';') == std::string::npos;
}

Result<std::string> GenericPlanJson(PgSession& session, const ProvenStatement& statement,
                                    std::chrono::milliseconds timeout) {
  const bool generic_plan_option = UsesExplainGenericPlan(session.ServerVersionNum(), statement);
  Status status =
      Run(session, "BEGIN READ ONLY; " + std::string(kPinnedSearchPath) +
                       "; SET LOCAL statement_timeout = " + std::to_string(timeout.count()));
  Result<std::string> plan = std::string();
  if (!status.ok()) {
    plan = std::move(status).error();
  } else if (generic_plan_option) {
    plan = ExplainGenericPlan(session, statement);
  } else {
    plan = ExplainPreparedGenericPlan(session, statement);
  }
  (void)Run(session, "ROLLBACK");
  if (!generic_plan_option) (void)Run(session, "DEALLOCATE optischema_plan_probe");
  RETURN_IF_ERROR(plan);
  if (plan->empty()) return MakeError(ErrorCode::kQueryFailed, "EXPLAIN returned no plan");
  return plan;
}

Result<double> GenericPlanCost(PgSession& session, const ProvenStatement& statement,
                               std::chrono::milliseconds timeout) {
  auto plan = GenericPlanJson(session, statement, timeout);
  RETURN_IF_ERROR(plan);
  constexpr std::string_view kKey = "\"Total Cost\": ";
  const std::size_t at = plan->find(kKey);
  double cost = -1;
  if (at != std::string::npos) {
    const char* begin = plan->data() + at + kKey.size();
    std::from_chars(begin, plan->data() + plan->size(), cost);
  }
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
