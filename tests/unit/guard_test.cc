#include <gtest/gtest.h>

#include "applier/executor.h"

namespace optischema::applier {
namespace {

TEST(JudgeGuard, SlowerBeyondTheLimitIsARegressionAndNoCallsIsNoVerdict) {
  const StatementFigures at_apply{100, 1000};                       // 10 ms mean
  EXPECT_FALSE(JudgeGuard(at_apply, {200, 2050}, 10).regressed);    // 10.5 ms: within +10%
  const GuardVerdict slow = JudgeGuard(at_apply, {200, 2200}, 10);  // 12 ms
  EXPECT_TRUE(slow.judged);
  EXPECT_TRUE(slow.regressed);
  EXPECT_DOUBLE_EQ(slow.after_mean_ms, 12);
  EXPECT_FALSE(JudgeGuard(at_apply, at_apply, 10).judged);
}

}  // namespace
}  // namespace optischema::applier
