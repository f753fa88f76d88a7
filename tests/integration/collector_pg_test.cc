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
