// The applier on each PostgreSQL major of the version matrix (OPTISCHEMA_TEST_PG_MAJOR): CREATE and
// DROP INDEX CONCURRENTLY with their rollbacks, a setting changed with ALTER SYSTEM and reset, and
// an agent killed with SIGKILL in the middle of a concurrent build leaving no INVALID index once
// it is started again.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "applier/executor.h"
#include "applier/index_name.h"
#include "core/clock.h"
#include "tests/support/agent_command.h"
#include "tests/support/agent_process.h"
#include "tests/support/agent_setup.h"
#include "tests/support/applier_fixtures.h"
#include "tests/support/apply_observer.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using protocol::LifecycleEvent;

class ApplierVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("versions-apply");
    cluster_ = PgCluster::Start();
    cluster_->Exec(
        "CREATE TABLE orders (id int PRIMARY KEY, customer_id int, status text, note text);"
        "INSERT INTO orders SELECT g, g % 100, CASE WHEN g % 10 = 0 THEN 'open' ELSE 'done' END, "
        "'n' FROM generate_series(1, 2000) g");
    audit_ = applier::AuditLog::Open(dir_ + "/audit.jsonl", clock_).value();
  }
  void TearDown() override {
    executor_.reset();
    audit_.reset();
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }

  applier::Executor& Executor() {
    pg::ConnectOptions connect;
    connect.dsn = cluster_->ConnectionString();
    connect.mode = pg::SessionMode::kApply;
    executor_ = std::make_unique<applier::Executor>(pg::ConnectLibpq(connect).value(), *audit_,
                                                    "shop", applier::ExecutorOptions{});
    return *executor_;
  }

  std::string dir_;
  SystemClock clock_;
  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<applier::AuditLog> audit_;
  std::unique_ptr<applier::Executor> executor_;
};

TEST_F(ApplierVersionsTest, CreateIndexConcurrentlyBuildsAValidIndexAndRollbackRemovesIt) {
  auto outcome = Executor().Apply(CreateIndexRecommendation("rec-a", "orders", {"customer_id"}));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied) << outcome->detail;
  const std::string name = applier::IndexNameForRecommendation("rec-a");
  EXPECT_EQ(IndexState(*cluster_, name), "true");
  EXPECT_EQ(AuditStepNames(*audit_, "rec-a"), (std::vector<std::string>{"started", "applied"}));
  EXPECT_EQ(audit_->ForRecommendation("rec-a").back().sql,
            "CREATE INDEX CONCURRENTLY \"" + name +
                "\" ON \"public\".\"orders\" USING btree (\"customer_id\")");

  ASSERT_TRUE(executor_->Rollback("rec-a").ok());
  EXPECT_EQ(IndexState(*cluster_, name), "absent");
  EXPECT_EQ(AuditStepNames(*audit_, "rec-a").back(), "rolled_back");
  EXPECT_TRUE(applier::VerifyAuditFile(dir_ + "/audit.jsonl").ok);
}

TEST_F(ApplierVersionsTest, DropIndexConcurrentlyRecordsTheDefinitionAndRollbackRebuildsIt) {
  cluster_->Exec("CREATE INDEX orders_status ON orders (status)");
  auto outcome = Executor().Apply(DropIndexRecommendation("rec-drop", "orders_status"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied) << outcome->detail;
  EXPECT_EQ(IndexState(*cluster_, "orders_status"), "absent");
  EXPECT_EQ(audit_->ForRecommendation("rec-drop").back().rollback_sql,
            "CREATE INDEX CONCURRENTLY orders_status ON public.orders USING btree (status)");
  ASSERT_TRUE(executor_->Rollback("rec-drop").ok());
  EXPECT_EQ(IndexState(*cluster_, "orders_status"), "true");
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), "0");
}

TEST_F(ApplierVersionsTest, ReloadableSettingTakesEffectAndRollbackResetsIt) {
  auto outcome = Executor().Apply(SetConfigRecommendation("rec-wm", "work_mem", "8MB"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied) << outcome->detail;
  EXPECT_EQ(outcome->detail.find("pending_restart"), std::string::npos) << outcome->detail;
  EXPECT_EQ(cluster_->QueryValue("SHOW work_mem"), "8MB");
  ASSERT_TRUE(executor_->Rollback("rec-wm").ok());
  EXPECT_EQ(cluster_->QueryValue("SHOW work_mem"), "4MB");
  EXPECT_EQ(audit_->ForRecommendation("rec-wm").back().sql, "ALTER SYSTEM RESET \"work_mem\"");
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE "
                                 "'%auto.conf'"),
            "0");
}

// The agent daemon, applying with a signing control plane, killed while its CREATE INDEX
// CONCURRENTLY waits for a writer: the index is in the catalog and INVALID at that moment.
TEST(ApplierKillVersionsTest, AgentKilledDuringAConcurrentBuildLeavesNoInvalidIndexAfterRestart) {
  const auto servers = SuiteServers::Start();
  PgCluster& cluster = *servers->cluster;
  cluster.Exec(
      "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, status text);"
      "INSERT INTO orders SELECT g, g % 500, 'done' FROM generate_series(1, 20000) g;"
      "ANALYZE orders");
  const std::string public_key = servers->control_plane->InitKeys();
  const std::string dir = MakeScratchDir("versions-kill");
  std::ofstream(dir + "/api-key") << servers->api_key << "\n";
  AgentSettings settings;
  settings.state_dir = dir + "/state";
  settings.url = servers->control_plane->base_url();
  settings.ca_file = servers->control_plane->ca_file();
  settings.api_key_file = dir + "/api-key";
  settings.dsn = cluster.ConnectionString();
  settings.interval = "5s";
  settings.extra_control_plane =
      "recommendations_interval = \"500ms\"\nrecommendation_public_key = \"" + public_key + "\"\n";
  settings.extra_database = "apply = true\n";
  const std::string config = AgentToml(settings);
  std::ofstream(dir + "/agent.toml") << config;
  auto agent = AgentProcess::Start(dir, {config, {}});
  std::string agent_id;
  ASSERT_TRUE(WaitFor(
      [&] {
        agent_id = ReadAgentId(settings.state_dir);
        if (agent_id.empty()) return false;
        for (const json& a : servers->control_plane->ListAgents()) {
          if (a.value("agent_id", "") == agent_id) return true;
        }
        return false;
      },
      20s))
      << agent->Log();

  // A writer transaction: the concurrent build waits for it before building.
  PgConn writer = Connect(cluster.ConnectionString());
  RunSql(writer.get(), "BEGIN; UPDATE orders SET status = 'held' WHERE id = 1");
  const std::string id = servers->control_plane->RecommendApproved(
      agent_id, "shop", "create_index",
      {{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}});
  const std::string index = applier::IndexNameForRecommendation(id);
  ASSERT_TRUE(WaitFor(
      [&] {
        return !cluster
                    .Query(
                        "SELECT 1 FROM pg_stat_progress_create_index WHERE phase = "
                        "'waiting for writers before build'")
                    .empty();
      },
      60s, 20ms))
      << "steps: " << json(AuditSteps(settings.state_dir, id)).dump() << "\n"
      << agent->Log();
  ASSERT_EQ(IndexState(cluster, index), "false");
  std::set<std::string> orphans;
  for (const auto& row : AgentDdlSessions(cluster)) orphans.insert(row[0]);
  agent->Signal(SIGKILL);
  ASSERT_EQ(agent->WaitExit(10s), std::optional<int>(128 + SIGKILL));

  agent = AgentProcess::Start(dir, {config, {}});
  // The restarted agent stops the build its predecessor left running; then the writer goes.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& row : AgentDdlSessions(cluster)) {
          if (orphans.contains(row[0])) return false;
        }
        return true;
      },
      30s))
      << "orphaned statements still run: " << json(AgentDdlSessions(cluster)).dump() << "\n"
      << agent->Log();
  writer.reset();

  const auto status = [&] {
    return servers->control_plane->FindRecommendation(id).value("status", "");
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string s = status();
        return (s == "applied" || s == "failed") && s == LastAuditOutcome(settings.state_dir, id) &&
               AgentDdlSessions(cluster).empty();
      },
      60s))
      << "status " << status() << ", audit " << json(AuditSteps(settings.state_dir, id)).dump()
      << "\n"
      << agent->Log();
  EXPECT_EQ(cluster.QueryValue("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), "0");
  EXPECT_EQ(IndexState(cluster, index), status() == "applied" ? "true" : "absent") << status();
  const AgentRun verified = RunAgent("", "--config " + dir + "/agent.toml audit verify");
  EXPECT_EQ(verified.status, 0) << verified.out << verified.err;

  agent->Signal(SIGTERM);
  agent->WaitExit(10s);
  agent.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace optischema::testing
