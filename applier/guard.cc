#include "applier/guard.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "applier/executor.h"
#include "pg/query_rows.h"

namespace optischema::applier {

Result<StatementFigures> Executor::Measure(const std::vector<int64_t>& queryids) {
  std::string array = "{";
  for (std::size_t i = 0; i < queryids.size(); ++i) {
    array += (i == 0 ? "" : ",") + std::to_string(queryids[i]);
  }
  array += "}";
  return SumFigures("queryid = ANY ($1::bigint[])", array);
}

Result<StatementFigures> Executor::MeasureText(const std::string& text) {
  return SumFigures("query = $1", text);
}

Result<StatementFigures> Executor::SumFigures(std::string_view condition,
                                              const std::string& parameter) {
  auto view = StatementsView();
  RETURN_IF_ERROR(view);
  auto rows = pg::QueryRows(*session_,
                            "SELECT coalesce(sum(calls), 0)::text, coalesce(sum(total_exec_time), "
                            "0)::text FROM " +
                                *view + " WHERE " + std::string(condition),
                            {parameter});
  RETURN_IF_ERROR(rows);
  StatementFigures figures;
  if (!rows->empty()) {
    figures.calls = std::stod((*rows)[0][0].value_or("0"));
    figures.total_ms = std::stod((*rows)[0][1].value_or("0"));
  }
  return figures;
}

GuardVerdict JudgeGuard(const StatementFigures& at_apply, const StatementFigures& after,
                        int64_t max_regression_pct) {
  GuardVerdict verdict;
  verdict.before_mean_ms = at_apply.mean_ms();
  const double calls = after.calls - at_apply.calls;
  if (calls <= 0 || at_apply.calls <= 0) {
    verdict.detail = "no calls of the affected statements to compare; nothing to judge";
    return verdict;
  }
  verdict.judged = true;
  verdict.after_mean_ms = (after.total_ms - at_apply.total_ms) / calls;
  const double limit =
      verdict.before_mean_ms * (1.0 + static_cast<double>(max_regression_pct) / 100);
  verdict.regressed = verdict.after_mean_ms > limit;
  verdict.detail = "mean " + std::to_string(verdict.before_mean_ms) + " ms before, " +
                   std::to_string(verdict.after_mean_ms) + " ms over " +
                   std::to_string(static_cast<int64_t>(calls)) + " calls after (limit +" +
                   std::to_string(max_regression_pct) + "%)";
  return verdict;
}

}  // namespace optischema::applier
