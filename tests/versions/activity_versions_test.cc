// The activity sampler on each PostgreSQL major of the version matrix: load by wait class
// everywhere, attributed to statements from 14 on (pg_stat_activity.query_id), and on 13 the
// snapshot says why it is not.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "collector/collector.h"
#include "core/clock.h"
#include "tests/support/collector_readings.h"
#include "tests/support/pg_client.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;

TEST(ActivityVersionsTest, ASleepingStatementIsTimeoutLoadAttributedFrom14On) {
  auto cluster = PgCluster::Start(PgCluster::Options{});
  cluster->Exec("CREATE EXTENSION pg_stat_statements");
  collector::CollectorOptions options;
  options.database_name = "main";
  options.activity_sample_interval = 100ms;
  SystemClock clock;
  collector::Collector collector(options, SessionFactoryFor(cluster->ConnectionString()), clock);
  ASSERT_TRUE(collector.Collect().ok());

  PgClient sleeper(cluster->ConnectionString());
  sleeper.Send("SELECT pg_catalog.pg_sleep(30)");
  ASSERT_TRUE(WaitFor(
      [&] {
        return cluster->QueryValue(
                   "SELECT count(*) FROM pg_stat_activity WHERE wait_event = "
                   "'PgSleep'") == "1";
      },
      10s));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(collector.SampleActivity().ok());
  auto snapshot = collector.Collect();
  ASSERT_TRUE(snapshot.ok() && snapshot->has_value());
  ASSERT_TRUE((*snapshot)->activity);
  const protocol::Activity& a = *(*snapshot)->activity;
  EXPECT_EQ(a.samples, 3);
  EXPECT_GE(a.load, 1.0);
  ASSERT_FALSE(a.top_waits.empty());
  EXPECT_EQ(a.top_waits[0].wait_class, "Timeout");
  EXPECT_EQ(a.top_waits[0].wait_event, "PgSleep");
  if (cluster->major() >= 14) {
    EXPECT_TRUE(a.statement_attribution);
    EXPECT_FALSE(a.attribution_note);
    const std::string sleep_id =
        cluster->QueryValue("SELECT query_id FROM pg_stat_activity WHERE wait_event = 'PgSleep'");
    ASSERT_FALSE(a.by_statement.empty());
    EXPECT_EQ(std::to_string(a.by_statement[0].queryid), sleep_id);
    EXPECT_EQ(a.by_statement[0].wait_class, "Timeout");
  } else {
    EXPECT_FALSE(a.statement_attribution);
    ASSERT_TRUE(a.attribution_note);
    EXPECT_NE(a.attribution_note->find("13"), std::string::npos);
    EXPECT_TRUE(a.by_statement.empty());
  }
  cluster->Exec("SELECT pg_cancel_backend(" + std::to_string(sleeper.pid()) + ")");
  sleeper.Finish();
}

}  // namespace
}  // namespace optischema::testing
