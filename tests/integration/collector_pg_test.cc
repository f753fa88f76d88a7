// The collector against a real PostgreSQL 15 with pg_stat_statements.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "collector/collector.h"
#include "core/clock.h"
#include "protocol/snapshot_json.h"
#include "tests/support/collector_readings.h"
#include "tests/support/pg_cluster.h"

namespace optischema::collector {
namespace {

using optischema::testing::ExpectNoNegativeCounter;
using optischema::testing::PgCluster;
using optischema::testing::RepeatStatement;
using optischema::testing::SessionFactoryFor;
using optischema::testing::SnapshotTexts;

class CollectorPgTest : public ::testing::Test {
 protected:
  void SetUp() override { Boot({}); }

  void Boot(const PgCluster::Options& options) {
    cluster_.reset();
    cluster_ = PgCluster::Start(options);
    cluster_->Exec("CREATE EXTENSION pg_stat_statements");
    cluster_->Exec(
        "CREATE TABLE t (id int PRIMARY KEY, v text); "
        "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g");
  }

  std::unique_ptr<Collector> Make(CollectorOptions options = {}) {
    options.database_name = "main";
    return std::make_unique<Collector>(options, SessionFactoryFor(cluster_->ConnectionString()),
                                       clock_);
  }

  // A snapshot of `c`, its texts kept in texts_ (tests/support/collector_readings.h).
  protocol::Snapshot Snapshot(Collector& c) { return texts_.Take(c); }
  const protocol::StatementMetrics* ByText(const protocol::Snapshot& snap,
                                           const std::string& text) {
    return texts_.ByText(snap, text);
  }
  std::string DescribeTexts() const { return texts_.Describe(); }

  std::unique_ptr<PgCluster> cluster_;
  SystemClock clock_;
  SnapshotTexts texts_;
};

TEST_F(CollectorPgTest, KnownWorkloadIsCountedExactly) {
  cluster_->Pgbench({"-i", "-s", "1", "-q"});
  auto c = Make();
  auto baseline = c->Collect();
  ASSERT_TRUE(baseline.ok()) << baseline.error().ToString();
  ASSERT_FALSE(baseline->has_value());

  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 17));
  cluster_->Exec(RepeatStatement("UPDATE t SET v = 'x{}' WHERE id = 5", 4));
  cluster_->Pgbench({"-n", "-c", "1", "-t", "40"});  // TPC-B-like: 5 statements per transaction
  cluster_->Pgbench({"-n", "-c", "1", "-t", "25", "-S"});  // select-only

  protocol::Snapshot snap = Snapshot(*c);
  ExpectNoNegativeCounter(snap);
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
    const auto* s = ByText(snap, e.text);
    ASSERT_NE(s, nullptr) << e.text << "\nseen:\n" << DescribeTexts();
    EXPECT_EQ(s->window.calls, e.calls) << e.text;
    EXPECT_GT(s->window.total_exec_time_ms, 0) << e.text;
    EXPECT_EQ(s->sample_weight, 1.0);
  }
  // Transaction control, session utilities and the agent's own statements are filtered out.
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
  EXPECT_EQ(snap.server.server_version_num / 10000, 15);
  EXPECT_EQ(snap.server.extension_version, "1.10");
  double pct = snap.remainder.time_pct;
  for (const auto& s : snap.statements) pct += s.time_pct * s.sample_weight;
  EXPECT_NEAR(pct, 100.0, 1e-6);
}

TEST_F(CollectorPgTest, ResetBetweenReadingsProducesNoNegativeNumbers) {
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 30));
  auto c = Make();
  ASSERT_TRUE(c->Collect().ok());
  cluster_->Exec("SELECT pg_stat_statements_reset()");
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 3));
  protocol::Snapshot snap = Snapshot(*c);
  EXPECT_TRUE(snap.server.stats_reset_in_window);
  ExpectNoNegativeCounter(snap);
  const auto* s = ByText(snap, "SELECT v FROM t WHERE id = $1");
  ASSERT_NE(s, nullptr) << DescribeTexts();
  EXPECT_EQ(s->window.calls, 3);
}

TEST_F(CollectorPgTest, EntryRemovedAndRecreatedProducesNoNegativeNumbers) {
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 20));
  auto c = Make();
  ASSERT_TRUE(c->Collect().ok());
  // Remove just this entry, as eviction would; the global stats_reset does not change.
  cluster_->Exec(
      "SELECT pg_stat_statements_reset(0, 0, queryid) FROM pg_stat_statements "
      "WHERE query = 'SELECT v FROM t WHERE id = $1'");
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 3));
  protocol::Snapshot snap = Snapshot(*c);
  EXPECT_FALSE(snap.server.stats_reset_in_window);
  ExpectNoNegativeCounter(snap);
  const auto* s = ByText(snap, "SELECT v FROM t WHERE id = $1");
  ASSERT_NE(s, nullptr) << DescribeTexts();
  EXPECT_EQ(s->window.calls, 3);
}

TEST_F(CollectorPgTest, EvictionUnderSmallMaxIsReportedAndNeverNegative) {
  Boot({{{"pg_stat_statements.max", "100"}}});
  auto c = Make();
  ASSERT_TRUE(c->Collect().ok());
  // 300 distinct statements: IN lists of different lengths have different queryids in PG 15.
  std::string sql;
  std::string list = "1";
  for (int i = 2; i <= 300; ++i) {
    list += "," + std::to_string(i);
    sql += "SELECT count(*) FROM t WHERE id IN (" + list + ");\n";
  }
  cluster_->Exec(sql);
  protocol::Snapshot snap = Snapshot(*c);
  EXPECT_GT(snap.server.dealloc_delta, 0);
  ExpectNoNegativeCounter(snap);
  EXPECT_GT(snap.statements.size(), 10u);
}

TEST_F(CollectorPgTest, SteadyStateCyclePerformsZeroTextReads) {
  auto c = Make();
  ASSERT_TRUE(c->Collect().ok());
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 5));
  Snapshot(*c);
  EXPECT_EQ(c->counters().text_reads, 1u);
  // Nothing new: known statements run again, and the agent's own statements repeat.
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 5));
  protocol::Snapshot busy = Snapshot(*c);
  EXPECT_EQ(c->counters().text_reads, 1u);
  EXPECT_EQ(busy.remainder.unclassified_statements, 0);
  for (int i = 0; i < 3; ++i) {
    protocol::Snapshot idle = Snapshot(*c);
    EXPECT_EQ(idle.remainder.unclassified_statements, 0);
    EXPECT_TRUE(idle.statements.empty()) << protocol::SnapshotToJson(idle);
  }
  EXPECT_EQ(c->counters().text_reads, 1u);
}

TEST_F(CollectorPgTest, SecretsInRealStatementsNeverReachTheSnapshot) {
  auto c = Make();
  ASSERT_TRUE(c->Collect().ok());
  cluster_->Exec("CREATE ROLE secretive LOGIN PASSWORD 'hunter2-secret'");
  cluster_->Exec("ALTER ROLE secretive PASSWORD 'swordfish-secret'");
  cluster_->Exec("SELECT /* ask alice@example.com */ v FROM t WHERE v = 'card-4111111111111111'");
  cluster_->Exec("CREATE TABLE notes (body text DEFAULT 'default-secret')");
  protocol::Snapshot snap = Snapshot(*c);
  const std::string json = protocol::SnapshotToJson(snap);
  for (const char* secret :
       {"hunter2", "swordfish", "alice@", "4111111111111111", "default-secret"}) {
    EXPECT_EQ(json.find(secret), std::string::npos) << secret << " leaked:\n" << json;
  }
  EXPECT_NE(ByText(snap, "ALTER ROLE secretive PASSWORD $1"), nullptr) << DescribeTexts();
}

TEST_F(CollectorPgTest, SendQueryTextNoneSendsNoTextAtAll) {
  CollectorOptions options;
  options.send_text = false;
  auto c = Make(options);
  ASSERT_TRUE(c->Collect().ok());
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 5));
  protocol::Snapshot snap = Snapshot(*c);
  ASSERT_FALSE(snap.statements.empty());
  const auto json = nlohmann::json::parse(protocol::SnapshotToJson(snap));
  for (const auto& s : json["statements"]) {
    EXPECT_FALSE(s.contains("text"));
    EXPECT_EQ(s["fingerprint"].get<std::string>().size(), 16u);
  }
}

TEST_F(CollectorPgTest, MissingExtensionNamesCreateExtension) {
  cluster_->Exec("DROP EXTENSION pg_stat_statements");
  auto c = Make();
  auto r = c->Collect();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kExtensionMissing);
  EXPECT_NE(r.error().message.find("CREATE EXTENSION pg_stat_statements"), std::string::npos);
}

TEST_F(CollectorPgTest, ExtensionNotPreloadedNamesSharedPreloadLibraries) {
  Boot({{{"shared_preload_libraries", ""}}});
  auto c = Make();
  auto r = c->Collect();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kExtensionMissing);
  EXPECT_NE(r.error().message.find("shared_preload_libraries"), std::string::npos)
      << r.error().message;
}

TEST_F(CollectorPgTest, RoleWithoutPgMonitorIsToldWhatToGrant) {
  cluster_->Exec("CREATE ROLE watcher LOGIN");
  CollectorOptions options;
  options.database_name = "main";
  Collector c(options, SessionFactoryFor(cluster_->ConnectionString("postgres", "watcher")),
              clock_);
  auto r = c.Collect();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("GRANT pg_monitor TO \"watcher\""), std::string::npos)
      << r.error().message;
  cluster_->Exec("GRANT pg_monitor TO watcher");
  EXPECT_TRUE(c.Collect().ok());
}

TEST_F(CollectorPgTest, ConnectionRefusedIsARetryableError) {
  const std::string dsn = cluster_->ConnectionString();
  cluster_.reset();  // server gone
  CollectorOptions options;
  options.database_name = "main";
  Collector c(options, SessionFactoryFor(dsn), clock_);
  auto r = c.Collect();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConnectionFailed);
  EXPECT_TRUE(r.error().Retryable());
}

TEST_F(CollectorPgTest, BadPasswordIsAnAuthenticationError) {
  cluster_->Exec("CREATE ROLE pwuser LOGIN PASSWORD 'right-password'; GRANT pg_monitor TO pwuser");
  {
    // Password authentication for this role over TCP; everything else stays trusted.
    const std::string hba = cluster_->socket_dir() + "/data/pg_hba.conf";
    std::ifstream in(hba);
    std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(hba, std::ios::trunc);
    out << "host all pwuser 127.0.0.1/32 scram-sha-256\n" << rest;
  }
  cluster_->Exec("SELECT pg_reload_conf()");
  const std::string base =
      "host=127.0.0.1 port=" + std::to_string(cluster_->port()) + " dbname=postgres user=pwuser";
  CollectorOptions options;
  options.database_name = "main";
  Collector bad(options, SessionFactoryFor(base + " password=wrong-password"), clock_);
  auto r = bad.Collect();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAuthFailed) << r.error().message;
  EXPECT_EQ(r.error().message.find("wrong-password"), std::string::npos);
  Collector good(options, SessionFactoryFor(base + " password=right-password"), clock_);
  auto ok = good.Collect();
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

TEST_F(CollectorPgTest, RestartedServerIsReconnectedWithANewBaseline) {
  auto c = Make();
  ASSERT_TRUE(c->Collect().ok());
  cluster_->Restart();
  auto lost = c->Collect();
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code, ErrorCode::kConnectionLost) << lost.error().message;
  auto baseline = c->Collect();
  ASSERT_TRUE(baseline.ok()) << baseline.error().message;
  EXPECT_FALSE(baseline->has_value());
  cluster_->Exec(RepeatStatement("SELECT v FROM t WHERE id = {}", 2));
  protocol::Snapshot snap = Snapshot(*c);
  ExpectNoNegativeCounter(snap);
}

}  // namespace
}  // namespace optischema::collector
