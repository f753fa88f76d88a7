// `optischema-agent advise` as a table: the table health section with the vacuum findings and
// their evidence, and the table proposals.

#include "cli/advice_table.h"

#include <gtest/gtest.h>

#include <string>

namespace optischema::cli {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(AdviceTable, TableHealthShowsTablesWithFindingsTheirEvidenceAndTheTableProposals) {
  protocol::Advice advice;
  protocol::TableHealthReport report;
  report.settings.autovacuum = false;
  protocol::TableHealth churn;
  churn.schema = "public";
  churn.name = "churn";
  churn.dead_tuples = 1000000;
  churn.xid_age = 4242;
  churn.options = {{"autovacuum_enabled", "false"}};
  report.tables.push_back(churn);
  report.tables_omitted = 7;
  advice.table_health = report;
  protocol::VacuumFinding dead;
  dead.kind = protocol::VacuumFindingKind::kDeadTuples;
  dead.schema = "public";
  dead.table = "churn";
  dead.severity = "critical";
  dead.metric = "n_dead_tup";
  dead.value = 1000000;
  dead.threshold = 50;
  dead.reason = "public.churn has 1000000 dead tuples";
  advice.vacuum_findings.push_back(dead);
  protocol::IndexProposal enable;
  enable.kind = "set_table_options";
  enable.schema = "public";
  enable.table = "churn";
  enable.table_options = {{"autovacuum_enabled", "true"}};
  enable.queryids = {77};
  advice.proposals.push_back(enable);

  const std::string out = FormatAdviceTable("orders", advice);

  EXPECT_TRUE(Contains(out, "table health:")) << out;
  EXPECT_TRUE(Contains(out, "autovacuum off")) << out;
  EXPECT_TRUE(Contains(out, "public.churn")) << out;
  EXPECT_TRUE(Contains(out, "autovacuum_enabled=false")) << out;
  EXPECT_TRUE(Contains(out, "4242")) << out;
  EXPECT_TRUE(Contains(out, "7 not read")) << out;
  EXPECT_TRUE(Contains(out, "vacuum findings:")) << out;
  EXPECT_TRUE(Contains(out, "dead_tuples  critical")) << out;
  EXPECT_TRUE(Contains(out, "public.churn has 1000000 dead tuples")) << out;
  EXPECT_TRUE(Contains(out, "set_table_options  public.churn (autovacuum_enabled=true)")) << out;
  EXPECT_TRUE(Contains(out, "77")) << out;
}

TEST(AdviceTable, MissingTableHealthIsSaidSo) {
  const std::string out = FormatAdviceTable("orders", protocol::Advice{});
  EXPECT_TRUE(Contains(out, "table health:\n  not read")) << out;
  EXPECT_TRUE(Contains(out, "vacuum findings:\n  none")) << out;
}

}  // namespace
}  // namespace optischema::cli
