#pragma once

// The guard's figures and verdict: whether a change made the statements it affects slower.
// Executor::Measure and Executor::MeasureText read the figures from pg_stat_statements; the caller
// takes one reading at apply time and one after the guard's window, and JudgeGuard compares them.

#include <cstdint>
#include <string>

namespace optischema::applier {

// Cumulative figures of the affected statements (summed over users and databases).
struct StatementFigures {
  double calls = 0;
  double total_ms = 0;
  double mean_ms() const { return calls > 0 ? total_ms / calls : 0; }
};

struct GuardVerdict {
  bool judged = false;  // false: no call of the affected statements in the window
  bool regressed = false;
  double before_mean_ms = 0;  // cumulative mean at apply time
  double after_mean_ms = 0;   // mean over the window
  std::string detail;
};

// Compares the mean over the window (after - at_apply) with the cumulative mean at apply time.
GuardVerdict JudgeGuard(const StatementFigures& at_apply, const StatementFigures& after,
                        int64_t max_regression_pct);

}  // namespace optischema::applier
