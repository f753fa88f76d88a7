// The counters a snapshot carries on each PostgreSQL major of the version matrix: exactly those of
// the server's pg_stat_statements version (protocol/extra_counters.h), present in every statement
// and in the remainder, absent (not zero) when the version lacks them, and their values measured.

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "collector/collector.h"
#include "core/clock.h"
#include "pg/stat_statements_extension.h"
#include "protocol/extra_counters.h"
#include "protocol/snapshot_json.h"
#include "tests/support/collector_readings.h"
#include "tests/support/pg_cluster.h"

namespace optischema::testing {
namespace {

// kExtraCounters' index of `name`.
std::size_t ExtraIndex(const std::string& name) {
  for (std::size_t i = 0; i < protocol::kExtraCounterCount; ++i) {
    if (name == protocol::kExtraCounters[i].name) return i;
  }
  ADD_FAILURE() << "no extra counter " << name;
  return 0;
}

TEST(SnapshotCountersVersionsTest, ExtraCountersAreThoseOfTheExtensionVersionWithMeasuredValues) {
  PgCluster::Options options;
  options.settings = {{"pg_stat_statements.track_planning", "on"}};
  auto cluster = PgCluster::Start(options);
  cluster->Exec("CREATE EXTENSION pg_stat_statements");
  cluster->Exec(
      "CREATE TABLE big (id int, v text); "
      "INSERT INTO big SELECT g, 'v' || g FROM generate_series(1, 20000) g; ANALYZE big");
  SystemClock clock;
  collector::CollectorOptions collector_options;
  collector_options.database_name = "main";
  collector::Collector c(collector_options, SessionFactoryFor(cluster->ConnectionString()), clock);
  auto baseline = c.Collect();
  ASSERT_TRUE(baseline.ok()) << baseline.error().ToString();

  // Local blocks from a temporary table; parallel workers from a scan the planner must
  // parallelize; planning counted (track_planning).
  cluster->Exec(
      "CREATE TEMP TABLE scratch AS SELECT g AS id FROM generate_series(1, 5000) g; "
      "SELECT count(*) FROM scratch WHERE id > 10; "
      "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
      "SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2; "
      "SELECT count(*) FROM big WHERE v LIKE 'v1%'");

  SnapshotTexts texts;
  const protocol::Snapshot snap = texts.Take(c);
  int major = 0;
  int minor = 0;
  ASSERT_TRUE(pg::ParseExtensionVersion(snap.server.extension_version, &major, &minor));
  ASSERT_EQ(snap.server.extra_counters, protocol::ExtraCountersOfVersion(major, minor));
  const nlohmann::json json = nlohmann::json::parse(protocol::SnapshotToJson(snap));
  ASSERT_FALSE(json["statements"].empty());
  for (std::size_t i = 0; i < protocol::kExtraCounterCount; ++i) {
    const protocol::ExtraCounterSpec& spec = protocol::kExtraCounters[i];
    const bool has = protocol::HasExtraCounter(snap.server.extra_counters, i);
    EXPECT_EQ(json["remainder"].contains(spec.name), has) << spec.name;
    for (const auto& statement : json["statements"]) {
      EXPECT_EQ(statement.contains(spec.name), has) << spec.name << " in " << statement.dump();
    }
  }
  // The newest counters are there exactly from the version that added them.
  const int server_major = cluster->major();
  EXPECT_EQ(json["statements"][0].contains("jit_functions"), server_major >= 15);
  EXPECT_EQ(json["statements"][0].contains("shared_blk_read_time_ms"), server_major >= 17);
  EXPECT_EQ(json["statements"][0].contains("parallel_workers_launched"), server_major >= 18);

  const protocol::StatementMetrics* temp_scan =
      texts.ByText(snap, "SELECT count(*) FROM scratch WHERE id > $1");
  ASSERT_NE(temp_scan, nullptr) << texts.Describe();
  EXPECT_GT(temp_scan->extra[ExtraIndex("local_blks_hit")] +
                temp_scan->extra[ExtraIndex("local_blks_read")],
            0);
  EXPECT_GE(temp_scan->extra[ExtraIndex("plans")], 1);
  const protocol::StatementMetrics* parallel =
      texts.ByText(snap, "SELECT count(*) FROM big WHERE v LIKE $1");
  ASSERT_NE(parallel, nullptr) << texts.Describe();
  if (server_major >= 18) {
    EXPECT_GE(parallel->extra[ExtraIndex("parallel_workers_to_launch")], 1);
    EXPECT_GE(parallel->extra[ExtraIndex("parallel_workers_launched")], 1);
  }
}

}  // namespace
}  // namespace optischema::testing
