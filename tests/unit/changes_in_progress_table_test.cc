// The apply worker's table changes (set_table_options, analyze_table), as the advisor sees them:
// a proposal the change in progress already makes is held back.

#include <gtest/gtest.h>

#include "advisor/changes_in_progress.h"
#include "tests/support/manual_clock.h"

namespace optischema::advisor {
namespace {

protocol::IndexProposal ProposeOptions(std::map<std::string, std::string> options) {
  protocol::IndexProposal p;
  p.kind = "set_table_options";
  p.schema = "public";
  p.table = "events";
  p.table_options = std::move(options);
  return p;
}

protocol::IndexProposal ProposeAnalyze(const std::string& table) {
  protocol::IndexProposal p;
  p.kind = "analyze_table";
  p.schema = "public";
  p.table = table;
  return p;
}

TEST(ChangesInProgressTableTest, TableOptionsInProgressHoldBackAProposalOfTheSameOptions) {
  testing::ManualClock clock;
  ChangesInProgress changes(clock);
  protocol::SetTableOptionsSpec spec;
  spec.schema = "public";
  spec.table = "events";
  spec.options = {{"autovacuum_enabled", "true"}, {"autovacuum_vacuum_scale_factor", "0.05"}};
  const auto applying = changes.Begin("shop", spec);

  EXPECT_TRUE(changes.Holds("shop", ProposeOptions({{"autovacuum_enabled", "true"}})));
  EXPECT_TRUE(changes.Holds("shop", ProposeOptions({{"autovacuum_enabled", "true"},
                                                    {"autovacuum_vacuum_scale_factor", "0.05"}})));
  EXPECT_FALSE(changes.Holds("shop", ProposeOptions({{"autovacuum_vacuum_scale_factor", "0.01"}})));
  EXPECT_FALSE(changes.Holds("billing", ProposeOptions({{"autovacuum_enabled", "true"}})));
  EXPECT_FALSE(changes.Holds("shop", ProposeAnalyze("events")));
}

TEST(ChangesInProgressTableTest, AnalyzeInProgressHoldsBackTheSameTableOnly) {
  testing::ManualClock clock;
  ChangesInProgress changes(clock);
  protocol::AnalyzeTableSpec spec;
  spec.schema = "public";
  spec.table = "events";
  auto analyzing = changes.Begin("shop", spec);

  EXPECT_TRUE(changes.Holds("shop", ProposeAnalyze("events")));
  EXPECT_FALSE(changes.Holds("shop", ProposeAnalyze("orders")));
  analyzing.Discard();
  EXPECT_FALSE(changes.Holds("shop", ProposeAnalyze("events")));
}

}  // namespace
}  // namespace optischema::advisor
