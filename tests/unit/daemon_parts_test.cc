// Logic of the daemon's parts that needs no thread or server: retry pacing and the status board.

#include <gtest/gtest.h>

#include "agent/database_worker.h"
#include "delivery/agent_status.h"
#include "tests/support/manual_clock.h"

namespace optischema::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RetryDelay, FirstThreeRetriesKeepTheIntervalSoARestartIsPickedUpAtOnce) {
  EXPECT_EQ(RetryDelay(seconds(1), 1), seconds(1));
  EXPECT_EQ(RetryDelay(seconds(1), 3), seconds(1));
  EXPECT_EQ(RetryDelay(seconds(1), 4), seconds(2));
  EXPECT_EQ(RetryDelay(seconds(1), 5), seconds(4));
}

TEST(RetryDelay, GrowthStopsAtFiveMinutesOrTheIntervalIfLonger) {
  EXPECT_EQ(RetryDelay(seconds(30), 50), std::chrono::minutes(5));
  EXPECT_EQ(RetryDelay(std::chrono::minutes(10), 50), std::chrono::minutes(10));
  EXPECT_EQ(RetryDelay(seconds(1), 1000), std::chrono::minutes(5));
}

TEST(AgentStatus, FailingDatabaseMakesTheAgentDegradedAndIsNamed) {
  delivery::AgentStatus status;
  status.AddDatabase("orders");
  status.AddDatabase("billing");
  status.RecordReading("billing", "2026-11-22T10:00:00Z", true);
  status.RecordDatabaseError("orders", "connection refused");
  EXPECT_EQ(status.Health(), "degraded");
  const std::string line = status.Summary(3, 2048);
  EXPECT_NE(line.find("1 database ok, 1 failing (orders)"), std::string::npos) << line;
  EXPECT_NE(line.find("spool 3 (2 KiB)"), std::string::npos) << line;
  status.RecordReading("orders", "2026-11-22T10:00:01Z", false);
  EXPECT_EQ(status.Health(), "ok");
  EXPECT_EQ(status.LastCollectAt(), "2026-11-22T10:00:01Z");
}

TEST(AgentStatus, LastDeliveryAgeIsMeasuredOnTheStatusClock) {
  testing::ManualClock clock;
  delivery::AgentStatus status(clock);
  EXPECT_EQ(status.Summary(0, 0).find("last delivery"), std::string::npos);
  status.RecordDelivery();
  clock.Advance(seconds(4));
  const std::string line = status.Summary(0, 0);
  EXPECT_NE(line.find("control plane ok, last delivery 4 s ago"), std::string::npos) << line;
}

TEST(AgentStatus, SnapshotsLostToAFullSpoolAreCountedShownAndTakenForTheHeartbeat) {
  delivery::AgentStatus status;
  status.AddDatabase("orders");
  status.RecordReading("orders", "2026-11-22T10:00:00Z", true);
  EXPECT_EQ(status.Summary(0, 0).find("lost"), std::string::npos);
  status.RecordSnapshotLost("orders", "spool: No space left on device");
  status.RecordSnapshotLost("orders", "spool: No space left on device");
  EXPECT_EQ(status.Health(), "degraded");
  EXPECT_EQ(status.SnapshotsLost(), 2u);
  const std::string line = status.Summary(0, 0);
  EXPECT_NE(line.find("2 snapshots lost (spool not writable)"), std::string::npos) << line;
  const auto errors = status.TakeRecentErrors();
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.back().find("snapshot lost: spool: No space left"), std::string::npos);
  // Taken once for a heartbeat; the count since the start stays.
  EXPECT_EQ(status.TakeSnapshotsLost(), 2u);
  EXPECT_EQ(status.TakeSnapshotsLost(), 0u);
  status.RecordSnapshotLost("orders", "spool: No space left on device");
  EXPECT_EQ(status.TakeSnapshotsLost(), 1u);
  EXPECT_EQ(status.SnapshotsLost(), 3u);
  status.RecordReading("orders", "2026-11-22T10:00:05Z", true);
  EXPECT_EQ(status.Health(), "ok");
}

TEST(AgentStatus, RecentErrorsAreTakenOnceAndRestoredWhenTheHeartbeatFails) {
  delivery::AgentStatus status;
  status.RecordError("first");
  status.RecordError("second");
  status.RecordError("second");  // repeated: kept once
  auto taken = status.TakeRecentErrors();
  EXPECT_EQ(taken, (std::vector<std::string>{"first", "second"}));
  EXPECT_TRUE(status.TakeRecentErrors().empty());
  status.RecordError("third");
  status.RestoreRecentErrors(taken);
  EXPECT_EQ(status.TakeRecentErrors(), (std::vector<std::string>{"first", "second", "third"}));
}

TEST(AgentStatus, ServerDetailsChangeTheRegistrationGenerationOnlyWhenTheyChange) {
  delivery::AgentStatus status;
  status.AddDatabase("orders");
  const auto g0 = status.RegistrationGeneration();
  status.RecordServer("orders", 150004, {"pg_stat_statements 1.10"});
  const auto g1 = status.RegistrationGeneration();
  EXPECT_GT(g1, g0);
  status.RecordServer("orders", 150004, {"pg_stat_statements 1.10"});
  EXPECT_EQ(status.RegistrationGeneration(), g1);
  const auto databases = status.Databases();
  ASSERT_EQ(databases.size(), 1u);
  EXPECT_EQ(databases[0].server_version_num, 150004);
}

}  // namespace
}  // namespace optischema::agent
