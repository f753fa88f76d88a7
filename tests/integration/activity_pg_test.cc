// The activity sampler against a real PostgreSQL 15: load by wait class and statement from a
// pgbench run, and blocking chains rooted at a session idle in its transaction.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "collector/activity_window.h"
#include "collector/collector.h"
#include "core/clock.h"
#include "pg/pg_session.h"
#include "tests/support/collector_readings.h"
#include "tests/support/pg_client.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::collector {
namespace {

using optischema::testing::PgClient;
using optischema::testing::PgCluster;
using optischema::testing::SessionFactoryFor;
using optischema::testing::WaitFor;
using namespace std::chrono_literals;

class ActivityPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = PgCluster::Start();
    cluster_->Exec("CREATE EXTENSION pg_stat_statements");
    cluster_->Exec(
        "CREATE TABLE accounts (id int PRIMARY KEY, balance int, note text); "
        "INSERT INTO accounts SELECT g, 0, '' FROM generate_series(1, 10) g");
  }

  std::unique_ptr<Collector> Make(std::chrono::milliseconds idle_warn = 60s) {
    CollectorOptions options;
    options.database_name = "main";
    options.activity_sample_interval = 100ms;
    options.idle_in_transaction_warn = idle_warn;
    return std::make_unique<Collector>(
        options, SessionFactoryFor(cluster_->MonitoringConnectionString()), clock_);
  }

  // The query_id pg_stat_activity shows for the session running a statement that starts with
  // `prefix`.
  std::string QueryIdOf(const std::string& prefix) {
    return cluster_->QueryValue("SELECT query_id FROM pg_stat_activity WHERE query LIKE '" +
                                prefix +
                                "%' AND pid <> "
                                "pg_backend_pid()");
  }

  int LockWaiters() {
    return std::stoi(cluster_->QueryValue(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
        "query LIKE 'UPDATE accounts%'"));
  }

  std::unique_ptr<PgCluster> cluster_;
  SystemClock clock_;
};

TEST_F(ActivityPgTest, AnIdleTransactionBlockingTwoUpdatesIsAChainOfDepthTwoWithBothQueryids) {
  const std::string dsn = cluster_->ConnectionString();
  PgClient holder(dsn);
  PgClient first(dsn);
  PgClient second(dsn);
  holder.Run("BEGIN");
  holder.Run("UPDATE accounts SET note = 'held' WHERE id = 1");
  // The first update waits on the holder's transaction; the second queues behind the first for
  // the row.
  first.Send("UPDATE accounts SET balance = balance + 10 WHERE id = 1");
  ASSERT_TRUE(WaitFor([&] { return LockWaiters() == 1; }, 10s));
  second.Send("UPDATE accounts SET note = 'second' WHERE id = 1");
  ASSERT_TRUE(WaitFor([&] { return LockWaiters() == 2; }, 10s));
  const std::string first_id = QueryIdOf("UPDATE accounts SET balance");
  const std::string second_id = QueryIdOf("UPDATE accounts SET note = ''second''");
  ASSERT_NE(first_id, second_id);
  const std::string holder_pid = std::to_string(holder.pid());

  auto collector = Make(/*idle_warn=*/1s);
  ASSERT_TRUE(collector->Collect().ok());  // baseline
  // Past the idle threshold and the time a lock wait takes to be resolved into a chain, then a
  // few samples.
  ASSERT_TRUE(WaitFor(
      [&] {
        return cluster_->QueryValue(
                   "SELECT bool_and(now() - state_change > interval '1.2 s') FROM "
                   "pg_stat_activity WHERE query LIKE 'UPDATE accounts%' AND pid <> "
                   "pg_backend_pid()") == "t";
      },
      10s));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(collector->SampleActivity().ok());
  auto snapshot = collector->Collect();
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().ToString();
  ASSERT_TRUE(snapshot->has_value());
  ASSERT_TRUE((*snapshot)->activity);
  const protocol::Activity& a = *(*snapshot)->activity;
  EXPECT_EQ(a.samples, 3);
  EXPECT_EQ(a.lock_wait_samples, 3);
  ASSERT_EQ(a.blocking.size(), 1u);
  const protocol::BlockingChain& chain = a.blocking[0];
  EXPECT_EQ(std::to_string(chain.root.pid), holder_pid);
  EXPECT_EQ(chain.root.state, "idle in transaction");
  EXPECT_EQ(chain.depth, 2);
  EXPECT_EQ(chain.samples, 3);
  ASSERT_EQ(chain.blocked.size(), 2u);
  EXPECT_EQ(chain.blocked[0].level, 1);
  EXPECT_EQ(chain.blocked[1].level, 2);
  ASSERT_TRUE(chain.blocked[0].queryid && chain.blocked[1].queryid);
  EXPECT_EQ(std::to_string(*chain.blocked[0].queryid), first_id);
  EXPECT_EQ(std::to_string(*chain.blocked[1].queryid), second_id);
  EXPECT_EQ(chain.blocked[0].wait_class, "Lock");
  EXPECT_GT(chain.longest_wait_s, 1.0);

  ASSERT_EQ(a.idle_in_transaction.size(), 1u);
  const protocol::IdleInTransaction& idle = a.idle_in_transaction[0];
  EXPECT_EQ(std::to_string(idle.pid), holder_pid);
  EXPECT_GE(idle.locks_held, 1);
  EXPECT_EQ(idle.blocking, 2);
  EXPECT_GE(idle.idle_s, 1.2);

  // `advise` reads the same right now, from one sample of its own.
  auto session = SessionFactoryFor(cluster_->MonitoringConnectionString())();
  ASSERT_TRUE(session.ok());
  auto now = ActivityNow(**session, 1);
  ASSERT_TRUE(now.ok()) << now.error().ToString();
  ASSERT_EQ(now->blocking.size(), 1u);
  EXPECT_EQ(now->blocking[0].depth, 2);

  // Released, both updates finish, and pg_stat_statements keeps them under the same queryids.
  holder.Run("ROLLBACK");
  first.Finish();
  second.Finish();
  const std::string recorded =
      cluster_->QueryValue("SELECT count(*) FROM pg_stat_statements WHERE queryid::text IN ('" +
                           first_id + "', '" + second_id + "')");
  EXPECT_EQ(recorded, "2");
}

TEST_F(ActivityPgTest, ASleepHeavyPgbenchRunIsLoadOfItsStatementInTheTimeoutClass) {
  std::string script_path =
      ::testing::TempDir() + "optischema_sleepy_" + std::to_string(cluster_->port()) + ".sql";
  {
    std::ofstream out(script_path);
    out << "SELECT pg_catalog.pg_sleep(0.02);\n";
  }
  auto collector = Make();
  ASSERT_TRUE(collector->Collect().ok());  // baseline
  std::string pgbench_output;
  std::atomic<bool> done{false};
  std::thread bench([&] {
    try {
      pgbench_output = cluster_->Pgbench({"-n", "-c", "4", "-T", "3", "-f", script_path});
    } catch (const std::exception& e) {
      pgbench_output = e.what();
    }
    done = true;
  });
  // Sample at the sampler's pace while pgbench runs.
  int samples = 0;
  WaitFor(
      [&] {
        if (collector->SampleActivity().ok()) ++samples;
        return done.load();
      },
      60s, 100ms);
  bench.join();
  std::remove(script_path.c_str());
  ASSERT_GE(samples, 10) << pgbench_output;
  auto snapshot = collector->Collect();
  ASSERT_TRUE(snapshot.ok() && snapshot->has_value());
  ASSERT_TRUE((*snapshot)->activity);
  const protocol::Activity& a = *(*snapshot)->activity;
  const std::string sleep_id = cluster_->QueryValue(
      "SELECT queryid FROM pg_stat_statements WHERE query LIKE 'SELECT pg_catalog.pg_sleep%'");
  EXPECT_TRUE(a.statement_attribution);
  ASSERT_FALSE(a.by_wait_class.empty());
  EXPECT_EQ(a.by_wait_class[0].wait_class, "Timeout");
  EXPECT_GT(a.load, 1.0);  // four clients, nearly always asleep
  ASSERT_FALSE(a.top_waits.empty());
  EXPECT_EQ(a.top_waits[0].wait_class, "Timeout");
  EXPECT_EQ(a.top_waits[0].wait_event, "PgSleep");
  ASSERT_FALSE(a.by_statement.empty());
  EXPECT_EQ(std::to_string(a.by_statement[0].queryid), sleep_id);
  EXPECT_EQ(a.by_statement[0].wait_class, "Timeout");
  EXPECT_GT(a.by_statement[0].load, 1.0);
  // The sampler's own statement is not a statement of the snapshot.
  for (const auto& s : (*snapshot)->statements) {
    EXPECT_FALSE(s.text && s.text->find("pg_blocking_pids") != std::string::npos);
  }
}

TEST_F(ActivityPgTest, SamplingOffMeansNoActivityInTheSnapshot) {
  CollectorOptions options;
  options.database_name = "main";
  options.activity_sample_interval = 0ms;
  Collector collector(options, SessionFactoryFor(cluster_->MonitoringConnectionString()), clock_);
  ASSERT_TRUE(collector.Collect().ok());
  EXPECT_TRUE(collector.SampleActivity().ok());
  auto snapshot = collector.Collect();
  ASSERT_TRUE(snapshot.ok() && snapshot->has_value());
  EXPECT_FALSE((*snapshot)->activity);
  EXPECT_EQ(collector.counters().activity_samples, 0u);
}

}  // namespace
}  // namespace optischema::collector
