// The wall clock jumping forward and back (NTP stepping it, a VM resumed, an operator fixing the
// date) under the real collector, spool, sender and health judgement, driven through the Clock
// seam: windows are measured on the monotonic clock and stay exact, snapshots carry the wall time
// as it was, the spool delivers in the order the snapshots were taken whatever their timestamps,
// nothing is lost, and the health check does not fail because the clock went back.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/health_file.h"
#include "collector/collector.h"
#include "core/time_format.h"
#include "delivery/snapshot_sender.h"
#include "delivery/spool.h"
#include "protocol/snapshot_json.h"
#include "tests/support/fake_http_client.h"
#include "tests/support/fake_pg_session.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

// A clock whose wall time can be stepped without its monotonic time moving, as the kernel does.
class SteppableClock final : public Clock {
 public:
  system_clock::time_point Now() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    std::lock_guard lock(mu_);
    return mono_;
  }
  // Time passes: both clocks move.
  void Pass(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    wall_ += d;
    mono_ += d;
  }
  // The wall clock is set: only it moves (either way).
  void StepWall(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    wall_ += d;
  }

 private:
  mutable std::mutex mu_;
  system_clock::time_point wall_ = system_clock::time_point(std::chrono::seconds(1'790'000'000));
  std::chrono::steady_clock::time_point mono_ = std::chrono::steady_clock::time_point(1h);
};

TEST(ClockJumpTest, WallClockStepsKeepWindowsExactAndSnapshotsDeliveredOnceInTakingOrder) {
  std::string dir = (std::filesystem::temp_directory_path() / "reliab-clock-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  FakeServer server;
  FakeEntry entry;
  entry.queryid = 42;
  entry.text = "SELECT * FROM orders WHERE id = $1";
  server.entries = {entry};
  SteppableClock clock;
  collector::CollectorOptions options;
  options.database_name = "orders";
  collector::Collector collector(options, server.Factory(), clock);
  delivery::Spool spool(dir + "/spool");
  ASSERT_TRUE(spool.Open().ok());

  auto first = collector.Collect();
  ASSERT_TRUE(first.ok() && !first->has_value()) << "the first reading is a baseline";
  // Each reading 30 s of real time later; in between, the wall clock is stepped.
  const std::vector<std::chrono::milliseconds> steps = {0h, 1h, -2h, -24h, 0h, 72h, -1h, 0h};
  std::vector<std::string> taken;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    clock.StepWall(steps[i]);
    clock.Pass(30s);
    server.entries[0].calls += 10;
    server.entries[0].total_exec_time_ms += 5;
    const system_clock::time_point wall = clock.Now();
    auto reading = collector.Collect();
    ASSERT_TRUE(reading.ok()) << reading.error().message;
    ASSERT_TRUE(reading->has_value()) << "reading " << i << " taken as a baseline";
    const protocol::Snapshot& snapshot = **reading;
    // The window is real elapsed time, whatever the wall clock did.
    EXPECT_DOUBLE_EQ(snapshot.window_s, 30.0) << "reading " << i;
    EXPECT_EQ(snapshot.collected_at, FormatRfc3339(wall)) << "reading " << i;
    ASSERT_EQ(snapshot.statements.size(), 1u);
    EXPECT_EQ(snapshot.statements[0].window.calls, 10) << "reading " << i;
    ASSERT_TRUE(spool.Append(snapshot.snapshot_id, protocol::SnapshotToJson(snapshot)).ok());
    taken.push_back(snapshot.snapshot_id);
  }

  // Delivered in the order taken (not by timestamp), each once.
  FakeHttpClient http;
  delivery::SnapshotSender sender(spool, http, "agent-1", delivery::Backoff(1s, 1min, 1));
  while (sender.DeliverOne().kind == delivery::SendOutcome::Kind::kDelivered) {
  }
  std::vector<std::string> delivered;
  for (const delivery::HttpRequest& request : http.Requests()) {
    delivered.push_back(request.idempotency_key);
  }
  EXPECT_EQ(delivered, taken);
  EXPECT_EQ(spool.Depth(), 0u);
  std::filesystem::remove_all(dir);
}

TEST(ClockJumpTest, WallClockSetBackDoesNotMakeARunningAgentUnhealthy) {
  const system_clock::time_point now = system_clock::now();
  agent::HealthRecord record;
  record.pid = 1;
  record.interval = 30s;
  // Written before the clock was set back an hour: every time in it lies in the "future".
  record.started_at = now + 1h - 10min;
  record.loop_at = now + 1h;
  record.last_collect_at = now + 1h - 5s;
  record.summary = "1 database ok";
  const agent::HealthVerdict verdict = agent::JudgeHealth(record, now, /*process_alive=*/true);
  EXPECT_TRUE(verdict.healthy) << verdict.reason;
}

}  // namespace
}  // namespace optischema::testing
