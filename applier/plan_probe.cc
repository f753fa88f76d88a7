#include "applier/plan_probe.h"

#include <charconv>

#include "collector/query_rows.h"

namespace optischema::applier {
namespace {

Status Run(collector::PgSession& session, const std::string& sql) {
  auto result = session.Query(sql);
  if (!result.ok()) return std::move(result).error();
  return OkStatus();
}

}  // namespace

Result<double> GenericPlanCost(collector::PgSession& session, const std::string& select_sql,
                               int parameters, std::chrono::milliseconds timeout) {
  std::string args;
  for (int i = 0; i < parameters; ++i) args += (i == 0 ? "(" : ", ") + std::string("NULL");
  if (!args.empty()) args += ")";
  Status status = Run(
      session, "BEGIN READ ONLY; SET LOCAL statement_timeout = " + std::to_string(timeout.count()) +
                   "; SET LOCAL plan_cache_mode = force_generic_plan");
  double cost = -1;
  if (status.ok()) {
    // Through the extended protocol, which refuses more than one statement in a text: whatever
    // the text holds, it can only become this one prepared statement.
    status = session.StreamWithParams("PREPARE optischema_plan_probe AS " + select_sql, {},
                                      [](collector::RowFields) { return true; });
  }
  if (status.ok()) {
    auto plan = session.Query("EXPLAIN (FORMAT JSON) EXECUTE optischema_plan_probe" + args);
    if (!plan.ok()) {
      status = std::move(plan).error();
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
  if (!status.ok()) return std::move(status).error();
  if (cost < 0) return MakeError(ErrorCode::kQueryFailed, "EXPLAIN returned no total cost");
  return cost;
}

Result<bool> HypopgInstalled(collector::PgSession& session) {
  auto rows = collector::QueryRows(
      session, "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'hypopg'");
  if (!rows.ok()) return std::move(rows).error();
  return !rows->empty();
}

Result<int64_t> CreateHypotheticalIndex(collector::PgSession& session,
                                        const std::string& create_index_sql) {
  auto rows = collector::QueryRows(session,
                                   "SELECT hypopg_relation_size(indexrelid)::text FROM "
                                   "hypopg_create_index($1)",
                                   {create_index_sql});
  if (!rows.ok()) return std::move(rows).error();
  int64_t size = 0;
  if (!rows->empty() && (*rows)[0][0]) {
    const std::string& text = *(*rows)[0][0];
    std::from_chars(text.data(), text.data() + text.size(), size);
  }
  return size;
}

Status ResetHypotheticalIndexes(collector::PgSession& session) {
  return Run(session, "SELECT hypopg_reset()");
}

}  // namespace optischema::applier
