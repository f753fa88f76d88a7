// Table health and the vacuum advisor against a real PostgreSQL 15, started with autovacuum off
// and the lowest autovacuum_freeze_max_age (100,000): a table with autovacuum disabled and a
// million dead tuples, a table past 80 % of the freeze max age, and a table whose statistics are
// stale after a bulk load that a top statement reads.

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "advisor/advisor.h"
#include "core/clock.h"
#include "protocol/advice_json.h"
#include "tests/support/advisor_fixtures.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::advisor {
namespace {

using protocol::VacuumFindingKind;
using testing::KeyedAdvisorOptions;
using testing::PgCluster;
using testing::WaitFor;

class TableHealthPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PgCluster::Options options;
    options.settings = {{"autovacuum", "off"}, {"autovacuum_freeze_max_age", "100000"}};
    cluster_ = PgCluster::Start(options);
    cluster_->Exec("CREATE EXTENSION pg_stat_statements");
    monitoring_dsn_ = cluster_->MonitoringConnectionString();
  }

  protocol::Advice Advise() {
    Advisor advisor(KeyedAdvisorOptions(), clock_);
    return testing::AdviseOnce(advisor, monitoring_dsn_);
  }

  // Waits until the cumulative statistics show `column` of `table` at least `at_least`.
  void WaitForStatistic(const std::string& table, const std::string& column, int64_t at_least) {
    const bool shown = WaitFor(
        [&] {
          const std::string value = cluster_->QueryValue(
              "SELECT coalesce(" + column + ", 0) FROM pg_stat_user_tables WHERE relname = '" +
              table + "'");
          return std::stoll(value) >= at_least;
        },
        std::chrono::seconds(20));
    ASSERT_TRUE(shown) << table << "." << column << " never reached " << at_least;
  }

  static const protocol::VacuumFinding* Finding(const protocol::Advice& advice,
                                                VacuumFindingKind kind, const std::string& table,
                                                const std::string& metric = "") {
    for (const auto& f : advice.vacuum_findings) {
      if (f.kind == kind && f.table == table && (metric.empty() || f.metric == metric)) return &f;
    }
    return nullptr;
  }

  static const protocol::IndexProposal* Proposal(const protocol::Advice& advice,
                                                 const std::string& kind,
                                                 const std::string& table) {
    for (const auto& p : advice.proposals) {
      if (p.kind == kind && p.table == table) return &p;
    }
    return nullptr;
  }

  SystemClock clock_;
  std::unique_ptr<PgCluster> cluster_;
  std::string monitoring_dsn_;
};

TEST_F(TableHealthPgTest, MillionDeadTuplesWithAutovacuumDisabledGiveAFindingAndEnableIt) {
  cluster_->Exec(
      "CREATE TABLE churn (id int, payload text) WITH (autovacuum_enabled = off);"
      "INSERT INTO churn SELECT g, 'x' FROM generate_series(1, 1000000) g;"
      "DELETE FROM churn");
  WaitForStatistic("churn", "n_dead_tup", 1000000);

  const protocol::Advice advice = Advise();

  ASSERT_TRUE(advice.table_health.has_value());
  EXPECT_FALSE(advice.table_health->settings.autovacuum);
  ASSERT_FALSE(advice.table_health->tables.empty());
  const protocol::TableHealth& health = advice.table_health->tables[0];  // findings first
  EXPECT_EQ(health.name, "churn");
  EXPECT_EQ(health.dead_tuples, 1000000);
  EXPECT_EQ(health.options.at("autovacuum_enabled"), "false");  // "off" as the server keeps it
  EXPECT_GT(health.table_bytes, 0);
  const protocol::VacuumFinding* dead = Finding(advice, VacuumFindingKind::kDeadTuples, "churn");
  ASSERT_NE(dead, nullptr);
  EXPECT_EQ(dead->value, 1000000);
  EXPECT_EQ(dead->threshold, 50);  // 50 + 0.2 x 0 live rows (reltuples not counted yet)
  EXPECT_EQ(dead->severity, "critical");
  EXPECT_FALSE(dead->since_s.has_value());
  EXPECT_NE(dead->reason.find("autovacuum_enabled=false"), std::string::npos) << dead->reason;

  const protocol::IndexProposal* enable = Proposal(advice, "set_table_options", "churn");
  ASSERT_NE(enable, nullptr);
  const nlohmann::json written = nlohmann::json::parse(protocol::AdviceToJson("postgres", advice));
  nlohmann::json spec;
  for (const auto& p : written["proposals"]) {
    if (p["kind"] == "set_table_options") spec = p["spec"];
  }
  EXPECT_EQ(spec, nlohmann::json::parse(R"({"schema":"public","table":"churn","options":{
                "autovacuum_enabled":"true","autovacuum_vacuum_scale_factor":"0.05"}})"));
}

TEST_F(TableHealthPgTest, TablePastTheFreezeMaxAgeFractionGivesAWraparoundFinding) {
  cluster_->Exec("CREATE TABLE frozen (id int); INSERT INTO frozen VALUES (1)");
  // 85,000 transactions of one xid each: 85 % of the lowered autovacuum_freeze_max_age, past the
  // finding's 80 %, below the age at which the server would force an autovacuum.
  const auto started = std::chrono::steady_clock::now();
  cluster_->Exec(
      "DO $$ BEGIN FOR i IN 1..85000 LOOP PERFORM pg_catalog.txid_current(); COMMIT; END LOOP; "
      "END $$");
  const auto spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  std::cout << "85,000 xids consumed in " << spent.count() << " s\n";
  ASSERT_GE(std::stoll(cluster_->QueryValue(
                "SELECT pg_catalog.age(relfrozenxid) FROM pg_class WHERE relname = 'frozen'")),
            85000);

  const protocol::Advice advice = Advise();

  ASSERT_TRUE(advice.table_health.has_value());
  EXPECT_EQ(advice.table_health->settings.freeze_max_age, 100000);
  const protocol::VacuumFinding* wraparound =
      Finding(advice, VacuumFindingKind::kWraparound, "frozen", "age(relfrozenxid)");
  ASSERT_NE(wraparound, nullptr);
  EXPECT_GE(wraparound->value, 85000);
  EXPECT_EQ(wraparound->threshold, 80000);
  EXPECT_EQ(wraparound->severity, "warning");
  EXPECT_NE(wraparound->reason.find("autovacuum_freeze_max_age 100000"), std::string::npos)
      << wraparound->reason;
  EXPECT_EQ(Finding(advice, VacuumFindingKind::kWraparound, "frozen", "mxid_age(relminmxid)"),
            nullptr);
}

TEST_F(TableHealthPgTest, BulkLoadWithoutAnalyzeGivesStaleStatisticsAndAnAnalyzeProposal) {
  cluster_->Exec("CREATE EXTENSION hypopg");
  cluster_->Exec(
      "CREATE TABLE loaded (id int, amount int);"
      "INSERT INTO loaded SELECT g, g % 100 FROM generate_series(1, 100000) g");
  for (int i = 0; i < 3; ++i) {
    cluster_->Exec("SELECT * FROM loaded WHERE amount = " + std::to_string(i));
  }
  const int64_t reader = std::stoll(cluster_->QueryValue(
      "SELECT queryid FROM pg_stat_statements WHERE query LIKE '%FROM loaded WHERE amount%'"));
  WaitForStatistic("loaded", "n_mod_since_analyze", 100000);

  const protocol::Advice advice = Advise();

  const protocol::VacuumFinding* stale =
      Finding(advice, VacuumFindingKind::kStaleStatistics, "loaded");
  ASSERT_NE(stale, nullptr);
  EXPECT_EQ(stale->metric, "n_mod_since_analyze");
  EXPECT_EQ(stale->value, 100000);
  EXPECT_EQ(stale->threshold, 10050);  // 50 + 0.1 x 100,000 live rows
  EXPECT_EQ(stale->queryids, std::vector<int64_t>{reader});
  const protocol::IndexProposal* analyze = Proposal(advice, "analyze_table", "loaded");
  ASSERT_NE(analyze, nullptr);
  EXPECT_EQ(analyze->schema, "public");
  EXPECT_EQ(analyze->queryids, std::vector<int64_t>{reader});
  EXPECT_EQ(Proposal(advice, "set_table_options", "loaded"), nullptr);  // no dead tuples

  // Analyzed: the finding and the proposal are gone.
  cluster_->Exec("ANALYZE loaded");
  WaitFor(
      [&] {
        return cluster_->QueryValue(
                   "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = "
                   "'loaded'") == "0";
      },
      std::chrono::seconds(20));
  const protocol::Advice after = Advise();
  EXPECT_EQ(Finding(after, VacuumFindingKind::kStaleStatistics, "loaded"), nullptr);
  EXPECT_EQ(Proposal(after, "analyze_table", "loaded"), nullptr);
}

}  // namespace
}  // namespace optischema::advisor
