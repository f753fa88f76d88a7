// The index advisor on each PostgreSQL major of the version matrix (OPTISCHEMA_TEST_PG_MAJOR):
// redundant and unused indexes, schema drift, and index proposals verified with HypoPG where the
// server has it (Debian's PostgreSQL 15) or the note saying why there are none.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "advisor/advisor.h"
#include "core/clock.h"
#include "tests/support/advisor_fixtures.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using advisor::Advisor;

class AdvisorVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = PgCluster::Start();
    cluster_->Exec("CREATE EXTENSION pg_stat_statements");
    monitoring_dsn_ = cluster_->MonitoringConnectionString();
  }

  protocol::Advice Advise(Advisor& advisor) { return AdviseOnce(advisor, monitoring_dsn_); }

  SystemClock clock_;
  std::unique_ptr<PgCluster> cluster_;
  std::string monitoring_dsn_;
};

TEST_F(AdvisorVersionsTest, PrefixIndexIsRedundantAndAnUnscannedIndexUnusedUntilAScan) {
  cluster_->Exec(
      "CREATE TABLE pairs (a int, b int, c int);"
      "INSERT INTO pairs SELECT g, g, g FROM generate_series(1, 10000) g;"
      "CREATE INDEX pairs_a ON pairs (a); CREATE INDEX pairs_a_b ON pairs (a, b);"
      "CREATE UNIQUE INDEX pairs_a_unique ON pairs (a); CREATE INDEX pairs_c ON pairs (c);"
      "ANALYZE pairs");
  advisor::AdvisorOptions options = KeyedAdvisorOptions();
  options.findings.unused_min_bytes = 0;
  options.findings.unused_min_stats_age_s = 0;
  Advisor advisor(options, clock_);
  const protocol::Advice advice = Advise(advisor);
  const protocol::IndexFinding* redundant = FindingFor(advice, "pairs_a");
  ASSERT_NE(redundant, nullptr);
  EXPECT_EQ(redundant->kind, protocol::FindingKind::kRedundant);
  EXPECT_TRUE(redundant->covered_by.has_value());
  EXPECT_EQ(FindingFor(advice, "pairs_a_unique"), nullptr);
  const protocol::IndexFinding* unused = FindingFor(advice, "pairs_c");
  ASSERT_NE(unused, nullptr);
  EXPECT_EQ(unused->kind, protocol::FindingKind::kUnused);

  // A scan makes it used once the statistics show it (PostgreSQL 13 and 14 send them through the
  // statistics collector, later ones from shared memory).
  cluster_->Exec("SET enable_seqscan = off; SELECT * FROM pairs WHERE c = 5");
  ASSERT_TRUE(WaitFor(
      [&] {
        return cluster_->QueryValue(
                   "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'pairs_c'") ==
               "1";
      },
      std::chrono::seconds(30)));
  Advisor again(options, clock_);
  EXPECT_EQ(FindingFor(Advise(again), "pairs_c"), nullptr);
}

TEST_F(AdvisorVersionsTest, AddedColumnIsReportedAsSchemaDrift) {
  cluster_->Exec(
      "CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL DEFAULT 'nobody@x.org');"
      "CREATE TABLE other (id int)");
  Advisor advisor(KeyedAdvisorOptions(), clock_);
  const protocol::Advice first = Advise(advisor);
  ASSERT_TRUE(first.schema.has_value());
  EXPECT_TRUE(first.schema->full);
  EXPECT_TRUE(first.schema->drift.empty());
  const std::string old_digest = first.schema->digests.at("public.accounts");

  const protocol::Advice unchanged = Advise(advisor);
  ASSERT_TRUE(unchanged.schema.has_value());
  EXPECT_TRUE(unchanged.schema->drift.empty());
  EXPECT_EQ(unchanged.schema->digests.at("public.accounts"), old_digest);

  cluster_->Exec("ALTER TABLE accounts ADD COLUMN plan text");
  const protocol::Advice changed = Advise(advisor);
  ASSERT_TRUE(changed.schema.has_value());
  ASSERT_EQ(changed.schema->drift.size(), 1u);
  EXPECT_EQ(changed.schema->drift[0].table, "public.accounts");
  EXPECT_EQ(changed.schema->drift[0].change, "column_added");
  EXPECT_EQ(changed.schema->drift[0].name, "plan");
  EXPECT_NE(changed.schema->digests.at("public.accounts"), old_digest);
  EXPECT_EQ(changed.schema->digests.at("public.other"), first.schema->digests.at("public.other"));
}

TEST_F(AdvisorVersionsTest, ProposesAnIndexWithHypopgOrSaysWhyThereIsNoProposal) {
  // Debian's PostgreSQL 15 has HypoPG; the other majors' packages do not.
  ASSERT_EQ(cluster_->has_hypopg(), cluster_->major() == 15);
  if (cluster_->has_hypopg()) cluster_->Exec("CREATE EXTENSION hypopg");
  cluster_->Exec(
      "CREATE TABLE events (id int PRIMARY KEY, kind int, payload text);"
      "INSERT INTO events SELECT g, g % 20000, md5(g::text) FROM generate_series(1, 200000) g;"
      "ANALYZE events");
  for (int i = 0; i < 5; ++i) {
    cluster_->Exec("SELECT * FROM events WHERE kind = " + std::to_string(i * 7));
  }
  Advisor advisor(KeyedAdvisorOptions(), clock_);
  const protocol::Advice advice = Advise(advisor);
  std::vector<const protocol::IndexProposal*> creates;
  for (const auto& p : advice.proposals) {
    if (p.kind == "create_index") creates.push_back(&p);
  }
  if (cluster_->has_hypopg()) {
    EXPECT_TRUE(advice.hypopg);
    ASSERT_EQ(creates.size(), 1u);
    EXPECT_EQ(creates[0]->table, "events");
    EXPECT_EQ(creates[0]->columns, std::vector<std::string>{"kind"});
    EXPECT_GE(creates[0]->saving_pct, 50.0);
    EXPECT_FALSE(creates[0]->table_digest.empty());
  } else {
    EXPECT_FALSE(advice.hypopg);
    EXPECT_TRUE(creates.empty());
    ASSERT_FALSE(advice.notes.empty());
    EXPECT_NE(advice.notes[0].find("hypopg is not installed"), std::string::npos)
        << advice.notes[0];
    EXPECT_NE(advice.notes[0].find("CREATE EXTENSION hypopg"), std::string::npos)
        << advice.notes[0];
  }
  // Nothing was left behind in the catalog.
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_indexes WHERE tablename = 'events'"),
            "1");
}

}  // namespace
}  // namespace optischema::testing
