// The collector on each PostgreSQL major of the version matrix (the cluster's major comes from
// OPTISCHEMA_TEST_PG_MAJOR): a known workload counted exactly, resets and evictions never giving
// negative numbers, entry restarts told by stats_since where the extension has it (1.11, PG 17+),
// and the agent's own statements kept out of the snapshot.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "collector/collector.h"
#include "core/clock.h"
#include "pg/pg_session.h"
#include "tests/support/collector_readings.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

// The pg_stat_statements version CREATE EXTENSION installs on each major.
const std::map<int, std::string> kDefaultExtensionVersion = {
    {13, "1.8"}, {14, "1.9"}, {15, "1.10"}, {16, "1.10"}, {17, "1.11"}, {18, "1.12"}};

class CollectorVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override { Boot(PgCluster::Options{}); }

  void Boot(const PgCluster::Options& options) {
    cluster_.reset();
    cluster_ = PgCluster::Start(options);
    cluster_->Exec("CREATE EXTENSION pg_stat_statements");
    cluster_->Exec(
        "CREATE TABLE t (id int PRIMARY KEY, v text); "
        "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g");
  }

  std::unique_ptr<collector::Collector> Make() {
    collector::CollectorOptions options;
    options.database_name = "main";
    return std::make_unique<collector::Collector>(
        options, SessionFactoryFor(cluster_->ConnectionString()), clock_);
  }

  // The server's own queryids of the statements the agent ran (marked with kAgentMarker).
  std::set<int64_t> AgentQueryIds() {
    std::set<int64_t> ids;
    for (const auto& row :
         cluster_->Query("SELECT queryid FROM pg_stat_statements WHERE " +
                         pg::MarkedStatementCondition("query"))) {
      ids.insert(std::stoll(row[0]));
    }
    return ids;
  }

  std::unique_ptr<PgCluster> cluster_;
  SystemClock clock_;
  SnapshotTexts texts_;
};

TEST_F(CollectorVersionsTest, KnownWorkloadIsCountedExactlyWithoutTheAgentsOwnStatements) {
  cluster_->Pgbench({"-i", "-s", "1", "-q"});
  auto c = Make();
  auto baseline = c->Collect();
  ASSERT_TRUE(baseline.ok()) << baseline.error().ToString();
  ASSERT_FALSE(baseline->has_value());
  const auto commits = [this] {
    return std::stoll(cluster_->QueryValue(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"));
  };
  const long long commits_before = commits();

  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 17));
  cluster_->Exec(RepeatStatement("UPDATE t SET v = 'x{}' WHERE id = 5", 4));
  cluster_->Pgbench({"-n", "-c", "1", "-t", "40"});        // TPC-B-like: 5 statements a transaction
  cluster_->Pgbench({"-n", "-c", "1", "-t", "25", "-S"});  // select-only
  // PostgreSQL 13 and 14 send database statistics through the statistics collector, a moment
  // after each backend ends: the window's KPIs are read once the pgbench transactions show.
  ASSERT_TRUE(WaitFor([&] { return commits() >= commits_before + 65; }, std::chrono::seconds(30),
                      std::chrono::milliseconds(50)));

  const protocol::Snapshot snap = texts_.Take(*c);
  ExpectNoNegativeCounter(snap);
  EXPECT_EQ(snap.server.server_version_num / 10000, cluster_->major());
  EXPECT_EQ(snap.server.extension_version, kDefaultExtensionVersion.at(cluster_->major()));
  struct Expected {
    const char* text;
    int64_t calls;
  };
  for (const Expected& e : {
           Expected{"SELECT v FROM t WHERE id = $1", 17},
           Expected{"UPDATE t SET v = $1 WHERE id = $2", 4},
           Expected{"UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2", 40},
           Expected{"UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2", 40},
           Expected{"UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2", 40},
           Expected{"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, "
                    "$4, CURRENT_TIMESTAMP)",
                    40},
           Expected{"SELECT abalance FROM pgbench_accounts WHERE aid = $1", 65},
       }) {
    const auto* s = texts_.ByText(snap, e.text);
    ASSERT_NE(s, nullptr) << e.text << "\nseen:\n" << texts_.Describe();
    EXPECT_EQ(s->window.calls, e.calls) << e.text;
    EXPECT_EQ(s->window.rows, e.calls) << e.text;  // each call reads or writes one row
    EXPECT_GT(s->window.total_exec_time_ms, 0) << e.text;
    EXPECT_EQ(s->sample_weight, 1.0);
  }
  double pct = snap.remainder.time_pct;
  for (const auto& s : snap.statements) pct += s.time_pct * s.sample_weight;
  EXPECT_NEAR(pct, 100.0, 1e-6);

  // The agent's statements are in pg_stat_statements, and none of them is in the snapshot;
  // neither are transaction control and the catalog reads.
  const std::set<int64_t> own = AgentQueryIds();
  EXPECT_FALSE(own.empty());
  for (const auto& s : snap.statements) {
    EXPECT_FALSE(own.contains(s.queryid)) << "the agent's statement " << s.queryid << " was sent";
  }
  for (const auto& [id, text] : texts_.texts()) {
    EXPECT_EQ(text.find("BEGIN"), std::string::npos) << text;
    EXPECT_EQ(text.find("END"), std::string::npos) << text;
    EXPECT_EQ(text.find("pg_stat_statements"), std::string::npos) << text;
    EXPECT_EQ(text.find("pg_stat_activity"), std::string::npos) << text;
  }
  EXPECT_GT(snap.excluded_statements, 0);
  EXPECT_GT(snap.kpis.tps, 0);
  ASSERT_TRUE(snap.kpis.cache_hit_ratio.has_value());
  EXPECT_GT(*snap.kpis.cache_hit_ratio, 0.5);
}

TEST_F(CollectorVersionsTest, ResetBetweenReadingsGivesTheCountsSinceTheResetAndNoNegativeNumber) {
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 30));
  auto c = Make();
  ASSERT_TRUE(c->Collect().ok());
  cluster_->Exec("SELECT pg_stat_statements_reset()");
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 3));
  const protocol::Snapshot snap = texts_.Take(*c);
  ExpectNoNegativeCounter(snap);
  const auto* s = texts_.ByText(snap, "SELECT v FROM t WHERE id = $1");
  ASSERT_NE(s, nullptr) << texts_.Describe();
  EXPECT_EQ(s->window.calls, 3);
  // pg_stat_statements_info, which dates the reset, exists from 1.9 (PostgreSQL 14) on.
  if (cluster_->major() >= 14) {
    EXPECT_TRUE(snap.server.stats_reset_in_window);
    EXPECT_TRUE(snap.server.stats_reset.has_value());
  }
}

TEST_F(CollectorVersionsTest, EntryResetAndRunMoreOftenThanBeforeIsCountedFromItsStatsSince) {
  if (cluster_->major() < 17) {
    GTEST_SKIP() << "pg_stat_statements has stats_since from 1.11 (PostgreSQL 17) on; before, an "
                    "entry reset and run more often than before cannot be told from one that "
                    "went on";
  }
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 3));
  auto c = Make();
  ASSERT_TRUE(c->Collect().ok());
  // Only this entry restarts: the global stats_reset stays, and its calls end up higher than
  // before, so only stats_since tells.
  cluster_->Exec(
      "SELECT pg_stat_statements_reset(0, 0, queryid) FROM pg_stat_statements "
      "WHERE query = 'SELECT v FROM t WHERE id = $1'");
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 5));
  const protocol::Snapshot snap = texts_.Take(*c);
  EXPECT_FALSE(snap.server.stats_reset_in_window);
  ExpectNoNegativeCounter(snap);
  const auto* s = texts_.ByText(snap, "SELECT v FROM t WHERE id = $1");
  ASSERT_NE(s, nullptr) << texts_.Describe();
  EXPECT_EQ(s->window.calls, 5);
}

TEST_F(CollectorVersionsTest, EvictionUnderASmallMaxIsReportedAndNeverNegative) {
  Boot({.settings = {{"pg_stat_statements.max", "100"}}});
  auto c = Make();
  ASSERT_TRUE(c->Collect().ok());
  // 300 distinct statements: target lists of different lengths (PostgreSQL 18 merges IN lists
  // of constants whatever their length, so those would be one entry there).
  std::string sql;
  std::string columns = "id";
  for (int i = 2; i <= 300; ++i) {
    columns += ", id";
    sql += "SELECT " + columns + " FROM t WHERE id = 1;\n";
  }
  cluster_->Exec(sql);
  const protocol::Snapshot snap = texts_.Take(*c);
  ExpectNoNegativeCounter(snap);
  EXPECT_GT(snap.statements.size(), 10u);
  EXPECT_EQ(snap.server.server_version_num / 10000, cluster_->major());
  // Evictions are counted by pg_stat_statements_info.dealloc, from 1.9 (PostgreSQL 14) on; on 13
  // the snapshot cannot say.
  if (cluster_->major() >= 14) {
    EXPECT_GT(snap.server.dealloc_delta, 0);
  }
  EXPECT_GE(snap.server.dealloc_delta, 0);
}

}  // namespace
}  // namespace optischema::testing
