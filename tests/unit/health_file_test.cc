// The daemon's health file and how `health` judges it.

#include "agent/health_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace optischema::agent {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

HealthRecord Record(system_clock::time_point now) {
  HealthRecord r;
  r.pid = 42;
  r.started_at = now - 10min;
  r.loop_at = now - 2s;
  r.interval = 30s;
  r.last_collect_at = now - 20s;
  r.summary = "1 database ok";
  return r;
}

TEST(HealthFile, WrittenRecordReadsBackAndIsRemoved) {
  std::string dir = (std::filesystem::temp_directory_path() / "health-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const auto now = system_clock::now();
  ASSERT_TRUE(WriteHealthFile(dir, Record(now)).ok());
  auto read = ReadHealthFile(dir);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->pid, 42);
  EXPECT_EQ(read->interval, 30s);
  ASSERT_TRUE(read->last_collect_at.has_value());
  EXPECT_LT(std::chrono::abs(*read->last_collect_at - (now - 20s)), 1ms);
  EXPECT_EQ(read->summary, "1 database ok");
  EXPECT_EQ(read->snapshots_lost, 0u);
  HealthRecord lossy = Record(now);
  lossy.snapshots_lost = 7;
  ASSERT_TRUE(WriteHealthFile(dir, lossy).ok());
  read = ReadHealthFile(dir);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->snapshots_lost, 7u);
  RemoveHealthFile(dir);
  EXPECT_FALSE(ReadHealthFile(dir).ok());
  std::filesystem::remove_all(dir);
}

TEST(HealthFile, RecentLoopAndReadingIsHealthy) {
  const auto now = system_clock::now();
  const HealthVerdict verdict = JudgeHealth(Record(now), now, true);
  EXPECT_TRUE(verdict.healthy) << verdict.reason;
  EXPECT_NE(verdict.reason.find("1 database ok"), std::string::npos);
}

TEST(HealthFile, DeadProcessStaleLoopOrOldReadingIsUnhealthy) {
  const auto now = system_clock::now();
  EXPECT_FALSE(JudgeHealth(Record(now), now, false).healthy);
  HealthRecord stale = Record(now);
  stale.loop_at = now - 31s;
  EXPECT_FALSE(JudgeHealth(stale, now, true).healthy);
  HealthRecord old_reading = Record(now);
  old_reading.last_collect_at = now - 3 * 30s - 61s;
  const HealthVerdict verdict = JudgeHealth(old_reading, now, true);
  EXPECT_FALSE(verdict.healthy);
  EXPECT_NE(verdict.reason.find("last successful reading"), std::string::npos) << verdict.reason;
}

TEST(HealthFile, NoReadingYetIsHealthyOnlyWhileStarting) {
  const auto now = system_clock::now();
  HealthRecord starting = Record(now);
  starting.last_collect_at.reset();
  starting.started_at = now - 30s;
  EXPECT_TRUE(JudgeHealth(starting, now, true).healthy);
  starting.started_at = now - 2 * 30s - 61s;
  EXPECT_FALSE(JudgeHealth(starting, now, true).healthy);
}

}  // namespace
}  // namespace optischema::agent
