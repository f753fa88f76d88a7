// The console's history (series_records.h): what a snapshot adds to the minute and hour buckets,
// how the statements' texts and figures are kept, and what retention deletes.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "controlplane/retention.h"
#include "controlplane/series_extraction.h"
#include "controlplane/store.h"
#include "tests/support/manual_clock.h"

namespace optischema::controlplane {
namespace {

namespace fs = std::filesystem;

constexpr char kAgent[] = "agent-1";
// A minute boundary, and in it an hour boundary: 2026-09-21T13:20:00Z.
constexpr int64_t kHourStart = 1790000000 - 1790000000 % 3600;

nlohmann::json Snapshot(double window_s, double remainder_ms) {
  return {{"database", "orders"},
          {"window_s", window_s},
          {"kpis",
           {{"connections_total", 12}, {"cache_hit_ratio", 0.99}, {"tps", 40.5}}},
          {"remainder", {{"total_exec_time_ms", remainder_ms}, {"calls", 3}}},
          {"statements",
           {{{"queryid", "-42"},
             {"fingerprint", "00000000000000aa"},
             {"text", "SELECT * FROM orders WHERE id = $1"},
             {"calls", 10},
             {"rows", 10},
             {"total_exec_time_ms", 20.0},
             {"score", 80},
             {"duration_class", "standard"},
             {"cumulative_min_exec_time_ms", 0.5},
             {"cumulative_max_exec_time_ms", 9.0},
             {"sample_weight", 1}},
            {{"queryid", "7"},
             {"fingerprint", "00000000000000bb"},
             {"calls", 2},
             {"rows", 0},
             {"total_exec_time_ms", 5.0},
             {"score", 10},
             {"duration_class", "long"},
             {"sample_weight", 4}}}},
          {"index_findings", nlohmann::json::array({{{"kind", "unused"}}})}};
}

TEST(SeriesExtraction, CountsSampledStatementsByTheirWeightInTheDatabaseTotal) {
  const SnapshotSeries series = ExtractSeries(Snapshot(30, 100), kAgent, kHourStart);
  EXPECT_EQ(series.database.database, "orders");
  EXPECT_DOUBLE_EQ(series.database.total_exec_ms, 100 + 20 + 4 * 5.0);
  EXPECT_DOUBLE_EQ(series.database.calls, 3 + 10 + 4 * 2);
  EXPECT_EQ(series.database.connections, 12);
  EXPECT_EQ(series.database.cache_hit_ratio, 0.99);
  ASSERT_EQ(series.statements.size(), 2u);
  EXPECT_EQ(series.statements[0].text, "SELECT * FROM orders WHERE id = $1");
  EXPECT_FALSE(series.statements[1].text.has_value());
  EXPECT_DOUBLE_EQ(series.statements[1].total_exec_ms, 5.0) << "a statement's own figures";
  ASSERT_TRUE(series.advice_json.has_value());
  EXPECT_NE(series.advice_json->find("unused"), std::string::npos);
}

nlohmann::json Activity(double cpu_load, double lock_load) {
  return {{"samples", 30},
          {"load", cpu_load + lock_load},
          {"by_wait_class",
           {{{"wait_class", "Lock"}, {"load", lock_load}}, {{"wait_class", "CPU"}, {"load", cpu_load}}}},
          {"blocking", nlohmann::json::array()}};
}

TEST(SeriesExtraction, KeepsTheActivityAndItsLoadByWaitClass) {
  nlohmann::json snapshot = Snapshot(30, 100);
  snapshot["activity"] = Activity(0.5, 2);
  snapshot["activity"]["by_wait_class"].push_back({{"wait_class", 7}, {"load", 1}});
  snapshot["table_health"] = {{"tables", nlohmann::json::array()}};
  snapshot["vacuum_findings"] = nlohmann::json::array();
  snapshot["plans"] = nlohmann::json::array();
  const SnapshotSeries series = ExtractSeries(snapshot, kAgent, kHourStart);
  ASSERT_TRUE(series.database.activity.has_value());
  ASSERT_EQ(series.database.activity->by_wait_class.size(), 2u) << "a nameless class is skipped";
  EXPECT_EQ(series.database.activity->by_wait_class[0].wait_class, "Lock");
  EXPECT_DOUBLE_EQ(series.database.activity->by_wait_class[0].load, 2);
  EXPECT_EQ(nlohmann::json::parse(series.database.activity->json), snapshot["activity"]);
  const nlohmann::json advice = nlohmann::json::parse(*series.advice_json);
  for (const char* member : {"table_health", "vacuum_findings", "plans"}) {
    EXPECT_TRUE(advice.contains(member)) << member;
  }
  EXPECT_FALSE(ExtractSeries(Snapshot(30, 100), kAgent, kHourStart).database.activity);
}

TEST(SeriesExtraction, ReadsMissingOrMistypedMembersAsAbsent) {
  nlohmann::json odd = {{"database", "orders"},
                        {"kpis", "not an object"},
                        {"statements", {{{"queryid", 5}}, {{"queryid", "9"}, {"calls", "x"}}}}};
  const SnapshotSeries series = ExtractSeries(odd, kAgent, kHourStart);
  EXPECT_FALSE(series.database.connections.has_value());
  ASSERT_EQ(series.statements.size(), 1u) << "a queryid that is not a string is skipped";
  EXPECT_EQ(series.statements[0].calls, 0);
  EXPECT_FALSE(series.advice_json.has_value());
}

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "optischema-history-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    auto store = Store::Open(dir_ + "/data", Store::OpenMode::kCreate, clock_);
    if (!store.ok()) throw std::runtime_error(store.error().message);
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void Add(int64_t collected_s, nlohmann::json snapshot = Snapshot(30, 100)) {
    const SnapshotSeries s = ExtractSeries(snapshot, kAgent, collected_s);
    ASSERT_TRUE(store_->AddSeriesSamples(s.database, s.statements, s.advice_json).ok());
  }

  std::string dir_;
  testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(HistoryTest, SnapshotsAddUpInTheirMinuteAndHourBuckets) {
  Add(kHourStart + 10);
  Add(kHourStart + 40);    // same minute
  Add(kHourStart + 70);    // next minute, same hour
  Add(kHourStart + 3610);  // next hour
  auto minutes = store_->DatabaseSeries(kAgent, "orders", Resolution::kMinute, 0);
  ASSERT_TRUE(minutes.ok());
  ASSERT_EQ(minutes->size(), 3u);
  EXPECT_EQ((*minutes)[0].bucket_s, kHourStart);
  EXPECT_EQ((*minutes)[0].samples, 2);
  EXPECT_DOUBLE_EQ((*minutes)[0].window_s, 60);
  EXPECT_DOUBLE_EQ((*minutes)[0].total_exec_ms, 2 * 140.0);
  EXPECT_DOUBLE_EQ((*minutes)[0].tps_sum / 2, 40.5);
  auto hours = store_->DatabaseSeries(kAgent, "orders", Resolution::kHour, 0);
  ASSERT_EQ(hours->size(), 2u);
  EXPECT_EQ((*hours)[0].samples, 3);
  EXPECT_EQ((*hours)[1].bucket_s, kHourStart + 3600);

  auto statement = store_->StatementSeries(kAgent, "orders", "-42", Resolution::kHour, 0);
  ASSERT_EQ(statement->size(), 2u);
  EXPECT_DOUBLE_EQ((*statement)[0].calls, 30);
  EXPECT_DOUBLE_EQ((*statement)[0].total_exec_ms, 60);
  EXPECT_DOUBLE_EQ((*statement)[0].database_exec_ms, 3 * 140.0) << "for the time share";
}

TEST_F(HistoryTest, KeepsTheFirstTextAndTheLatestFigures) {
  Add(kHourStart);
  nlohmann::json later = Snapshot(30, 100);
  later["statements"][0].erase("text");
  later["statements"][0]["duration_class"] = "heavy";
  later["statements"][0]["cumulative_max_exec_time_ms"] = 50.0;
  Add(kHourStart + 30, later);
  auto info = store_->GetStatementInfo(kAgent, "orders", "-42");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->text, "SELECT * FROM orders WHERE id = $1");
  EXPECT_EQ((*info)->duration_class, "heavy");
  EXPECT_EQ((*info)->cumulative_max_ms, 50.0);
  EXPECT_EQ((*info)->last_seen_s, kHourStart + 30);
}

TEST_F(HistoryTest, TopStatementsRankByTimeInThePeriod) {
  nlohmann::json snapshot = Snapshot(30, 0);
  snapshot["statements"][1]["total_exec_time_ms"] = 500.0;
  Add(kHourStart, snapshot);
  auto top = store_->TopStatements(kAgent, "orders", kHourStart, 10);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ((*top)[0].info.queryid, "7");
  EXPECT_DOUBLE_EQ((*top)[0].total_exec_ms, 500);
  EXPECT_EQ((*top)[1].info.queryid, "-42");
  auto later = store_->TopStatements(kAgent, "orders", kHourStart + 3600, 10);
  EXPECT_TRUE(later->empty()) << "nothing after the period starts";
}

TEST_F(HistoryTest, LoadByWaitClassSumsActiveSecondsOverTheWindowsWithActivity) {
  nlohmann::json first = Snapshot(30, 100);
  first["activity"] = Activity(1, 2);
  nlohmann::json second = Snapshot(30, 100);
  second["activity"] = Activity(3, 0);
  second["activity"]["by_wait_class"].erase(0);
  Add(kHourStart + 10, first);
  Add(kHourStart + 40, second);
  Add(kHourStart + 50);  // no activity: counts in no wait class bucket
  auto minutes = store_->WaitClassSeries(kAgent, "orders", Resolution::kMinute, 0);
  ASSERT_TRUE(minutes.ok()) << minutes.error().message;
  ASSERT_EQ(minutes->size(), 2u);
  EXPECT_EQ((*minutes)[0].wait_class, "CPU");
  EXPECT_EQ((*minutes)[0].bucket_s, kHourStart);
  EXPECT_DOUBLE_EQ((*minutes)[0].active_s, 1 * 30 + 3 * 30);
  EXPECT_DOUBLE_EQ((*minutes)[0].window_s, 60);
  EXPECT_EQ((*minutes)[1].wait_class, "Lock");
  EXPECT_DOUBLE_EQ((*minutes)[1].active_s / (*minutes)[1].window_s, 1) << "2 for half the time";
  EXPECT_EQ(store_->WaitClassSeries(kAgent, "orders", Resolution::kHour, 0)->size(), 2u);

  const auto latest = store_->GetLatestActivity(kAgent, "orders").value();
  ASSERT_TRUE(latest.has_value()) << "a snapshot without activity keeps the latest one";
  EXPECT_EQ(latest->collected_s, kHourStart + 40);
  EXPECT_EQ(nlohmann::json::parse(latest->json), second["activity"]);
}

TEST_F(HistoryTest, RetentionDeletesMinutesAfterADayAndHoursAfterTheHistoryDays) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          clock_.Now().time_since_epoch())
                          .count();
  nlohmann::json with_activity = Snapshot(30, 100);
  with_activity["activity"] = Activity(1, 1);
  Add(now - 15 * 86400, with_activity);  // past 14 days: both go
  Add(now - 2 * 86400, with_activity);   // minute bucket goes, hour bucket stays
  Add(now - 600, with_activity);         // both stay
  auto counts = SweepRetention(*store_, clock_, {0, 14});
  ASSERT_TRUE(counts.ok());
  EXPECT_GT(counts->series_rows, 0);
  auto minutes = store_->DatabaseSeries(kAgent, "orders", Resolution::kMinute, 0);
  ASSERT_EQ(minutes->size(), 1u);
  auto hours = store_->DatabaseSeries(kAgent, "orders", Resolution::kHour, 0);
  ASSERT_EQ(hours->size(), 2u);
  auto statement_hours = store_->StatementSeries(kAgent, "orders", "7", Resolution::kHour, 0);
  EXPECT_EQ(statement_hours->size(), 2u);
  EXPECT_EQ(store_->WaitClassSeries(kAgent, "orders", Resolution::kMinute, 0)->size(), 2u)
      << "CPU and Lock of the last minute";
  EXPECT_EQ(store_->WaitClassSeries(kAgent, "orders", Resolution::kHour, 0)->size(), 4u);
  EXPECT_TRUE(store_->GetStatementInfo(kAgent, "orders", "7")->has_value());

  auto kept = SweepRetention(*store_, clock_, {0, 0});
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->series_rows, 0) << "0 days keeps the history";
}

TEST_F(HistoryTest, KeepsTheLatestAdviceOfEachDatabase) {
  Add(kHourStart);
  nlohmann::json without = Snapshot(30, 0);
  without.erase("index_findings");
  Add(kHourStart + 30, without);
  auto databases = store_->ListDatabases();
  ASSERT_EQ(databases->size(), 1u);
  EXPECT_EQ((*databases)[0].last_collected_s, kHourStart + 30);
  ASSERT_TRUE((*databases)[0].advice_json.has_value()) << "a snapshot without advice keeps it";
  EXPECT_EQ((*databases)[0].advice_collected_s, kHourStart);
}

}  // namespace
}  // namespace optischema::controlplane
