#include "collector/collector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "tests/support/fake_pg_session.h"
#include "tests/support/manual_clock.h"

namespace optischema::collector {
namespace {

using optischema::testing::FakeEntry;
using optischema::testing::FakeServer;
using optischema::testing::ManualClock;
using namespace std::chrono_literals;

FakeEntry Entry(int64_t queryid, int64_t calls, double ms, std::string text = "") {
  FakeEntry e;
  e.queryid = queryid;
  e.calls = calls;
  e.total_exec_time_ms = ms;
  e.text = text.empty() ? "SELECT * FROM orders WHERE id = $1 AND q = " + std::to_string(queryid)
                        : std::move(text);
  return e;
}

class CollectorTest : public ::testing::Test {
 protected:
  Collector Make(CollectorOptions options = {}) {
    options.database_name = "orders";
    return Collector(std::move(options), server_.Factory(), clock_);
  }
  protocol::Snapshot Next(Collector& c) {
    clock_.Advance(30s);
    auto r = c.Collect();
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok() || !r->has_value()) {
      ADD_FAILURE() << "expected a snapshot";
      return {};
    }
    return **r;
  }
  static const protocol::StatementMetrics* Find(const protocol::Snapshot& s, int64_t queryid) {
    for (const auto& st : s.statements) {
      if (st.queryid == queryid) return &st;
    }
    return nullptr;
  }

  FakeServer server_;
  ManualClock clock_;
};

TEST_F(CollectorTest, FirstReadingIsABaselineNotASnapshot) {
  server_.entries = {Entry(1, 100, 50)};
  Collector c = Make();
  auto r = c.Collect();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(c.counters().baselines, 1u);
}

TEST_F(CollectorTest, DeltaIsTheDifferenceBetweenReadings) {
  server_.entries = {Entry(1, 100, 50), Entry(2, 10, 5)};
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  server_.entries[0].calls = 130;
  server_.entries[0].total_exec_time_ms = 80;
  auto snap = Next(c);
  ASSERT_EQ(snap.statements.size(), 1u);  // entry 2 did not change
  EXPECT_EQ(snap.statements[0].queryid, 1);
  EXPECT_EQ(snap.statements[0].window.calls, 30);
  EXPECT_DOUBLE_EQ(snap.statements[0].window.total_exec_time_ms, 30);
  EXPECT_DOUBLE_EQ(snap.statements[0].mean_exec_time_ms, 1.0);
  EXPECT_DOUBLE_EQ(snap.statements[0].time_pct, 100);
  EXPECT_DOUBLE_EQ(snap.window_s, 30);
}

TEST_F(CollectorTest, NewEntryCountsWholeCounters) {
  server_.entries = {Entry(1, 100, 50)};
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  server_.entries.push_back(Entry(2, 7, 14));
  auto snap = Next(c);
  const auto* s = Find(snap, 2);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->window.calls, 7);
}

TEST_F(CollectorTest, CallsDropIsTreatedAsEntryResetNeverNegative) {
  server_.entries = {Entry(1, 100, 50)};
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  server_.entries[0].calls = 4;  // evicted and re-created
  server_.entries[0].total_exec_time_ms = 2;
  auto snap = Next(c);
  ASSERT_EQ(snap.statements.size(), 1u);
  EXPECT_EQ(snap.statements[0].window.calls, 4);
  EXPECT_DOUBLE_EQ(snap.statements[0].window.total_exec_time_ms, 2);
}

TEST_F(CollectorTest, StatsResetChangeRestartsEveryEntry) {
  server_.entries = {Entry(1, 100, 50), Entry(2, 100, 50)};
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  // After a reset entry 1 ran 120 times: more than before, yet the window saw only 120.
  server_.entries[0].calls = 120;
  server_.entries[0].total_exec_time_ms = 60;
  server_.entries.pop_back();
  server_.stats_reset = "2026-02-01T00:00:00.000Z";
  auto snap = Next(c);
  EXPECT_TRUE(snap.server.stats_reset_in_window);
  ASSERT_EQ(snap.statements.size(), 1u);
  EXPECT_EQ(snap.statements[0].window.calls, 120);
}

TEST_F(CollectorTest, StatsSinceChangeRestartsTheEntry) {
  server_.entries = {Entry(1, 100, 50)};
  server_.entries[0].stats_since = 1000;
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  server_.entries[0].calls = 150;
  server_.entries[0].total_exec_time_ms = 75;
  server_.entries[0].stats_since = 2000;
  auto snap = Next(c);
  ASSERT_EQ(snap.statements.size(), 1u);
  EXPECT_EQ(snap.statements[0].window.calls, 150);
}

TEST_F(CollectorTest, DeallocGrowthIsReported) {
  server_.entries = {Entry(1, 1, 1)};
  server_.dealloc = 3;
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  server_.dealloc = 10;
  EXPECT_EQ(Next(c).server.dealloc_delta, 7);
}

TEST_F(CollectorTest, FiltersTransactionControlUtilitiesCatalogAndOwnStatements) {
  server_.entries = {Entry(1, 1, 1, "BEGIN"), Entry(2, 1, 1, "SET work_mem = '64MB'"),
                     Entry(3, 1, 1, "SELECT relname FROM pg_class"),
                     Entry(4, 1, 1, "/* optischema-agent */ SELECT 1"), Entry(5, 1, 1)};
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  for (auto& e : server_.entries) e.calls += 5, e.total_exec_time_ms += 5;
  auto snap = Next(c);
  ASSERT_EQ(snap.statements.size(), 1u);
  EXPECT_EQ(snap.statements[0].queryid, 5);
  EXPECT_EQ(snap.excluded_statements, 4);
  EXPECT_DOUBLE_EQ(snap.statements[0].time_pct, 100);
}

TEST_F(CollectorTest, TextIsReadOnlyWhenUnknownStatementsChange) {
  server_.entries = {Entry(1, 1, 1), Entry(2, 1, 1)};
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  EXPECT_EQ(server_.text_reads, 0);  // a baseline needs no text
  server_.entries[0].calls++;
  Next(c);
  EXPECT_EQ(server_.text_reads, 1);
  // Steady state: nothing new, nothing read.
  server_.entries[0].calls++;
  Next(c);
  Next(c);
  EXPECT_EQ(server_.text_reads, 1);
  EXPECT_EQ(c.counters().text_reads, 1u);
}

TEST_F(CollectorTest, TextReadsAreRateLimitedAndPendingStatementsGoToTheRemainder) {
  CollectorOptions options;
  options.text_refresh_interval = 5min;
  server_.entries = {Entry(1, 1, 1)};
  Collector c = Make(options);
  ASSERT_TRUE(c.Collect().ok());
  server_.entries[0].calls++;
  Next(c);  // first text read: not delayed
  server_.entries.push_back(Entry(2, 3, 9));
  auto snap = Next(c);  // 30 s later: too early for another text read
  EXPECT_EQ(server_.text_reads, 1);
  EXPECT_EQ(Find(snap, 2), nullptr);
  EXPECT_EQ(snap.remainder.unclassified_statements, 1);
  EXPECT_DOUBLE_EQ(snap.remainder.window.calls, 3);
  EXPECT_DOUBLE_EQ(snap.remainder.time_pct, 100);
  clock_.Advance(5min);
  server_.entries[1].calls += 2;
  snap = Next(c);
  EXPECT_EQ(server_.text_reads, 2);
  ASSERT_NE(Find(snap, 2), nullptr);
  EXPECT_EQ(Find(snap, 2)->window.calls, 2);
}

TEST_F(CollectorTest, TextIsSentOnlyTheFirstTimeAndAnonymized) {
  server_.entries = {Entry(1, 1, 1, "SELECT * FROM users WHERE email = 'a@b.c' -- note")};
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  server_.entries[0].calls++;
  auto first = Next(c);
  ASSERT_EQ(first.statements.size(), 1u);
  EXPECT_TRUE(first.statements[0].include_text);
  ASSERT_TRUE(first.statements[0].text.has_value());
  EXPECT_EQ(*first.statements[0].text, "SELECT * FROM users WHERE email = $1");
  EXPECT_EQ(first.statements[0].fingerprint.size(), 16u);
  server_.entries[0].calls++;
  auto second = Next(c);
  ASSERT_EQ(second.statements.size(), 1u);
  EXPECT_FALSE(second.statements[0].include_text);
  EXPECT_EQ(second.statements[0].fingerprint, first.statements[0].fingerprint);
}

TEST_F(CollectorTest, EachTextIsAnonymizedOnceWhileSampledSnapshotsCarryThemOut) {
  // 50 statements change every cycle, 10 are sent per snapshot and the text cache holds about
  // a dozen texts: texts must wait in the cache or be read again, never be worked out twice.
  for (int64_t i = 1; i <= 50; ++i) server_.entries.push_back(Entry(i, 1, 1));
  CollectorOptions options;
  options.max_statements_per_snapshot = 10;
  options.text_cache_bytes = 600;
  options.text_refresh_interval = 0s;
  Collector c = Make(options);
  ASSERT_TRUE(c.Collect().ok());
  std::map<int64_t, int> texts_sent;
  // The sample is random: run until every text went out (a few dozen cycles as a rule), bounded.
  for (int cycle = 0; cycle < 2000 && texts_sent.size() < 50; ++cycle) {
    for (auto& e : server_.entries) e.calls++;
    for (const auto& s : Next(c).statements) {
      if (!s.include_text) continue;
      ++texts_sent[s.queryid];
      ASSERT_TRUE(s.text.has_value());
      EXPECT_EQ(*s.text, "SELECT * FROM orders WHERE id = $1 AND q = $2");
    }
  }
  EXPECT_EQ(texts_sent.size(), 50u);
  for (const auto& [queryid, times] : texts_sent) EXPECT_EQ(times, 1) << queryid;
  // Once classified (the first text read, for all 50) and once anonymized, at most.
  EXPECT_LE(c.counters().texts_analyzed, 100u);
}

TEST_F(CollectorTest, SendQueryTextNoneSendsFingerprintsOnly) {
  CollectorOptions options;
  options.send_text = false;
  server_.entries = {Entry(1, 1, 1)};
  Collector c = Make(options);
  ASSERT_TRUE(c.Collect().ok());
  server_.entries[0].calls++;
  auto snap = Next(c);
  ASSERT_EQ(snap.statements.size(), 1u);
  EXPECT_FALSE(snap.statements[0].include_text);
  EXPECT_FALSE(snap.statements[0].text.has_value());
  EXPECT_EQ(snap.statements[0].fingerprint.size(), 16u);
}

TEST_F(CollectorTest, TextInNewerSyntaxIsSentFromTheScannerAndUnscannableTextAsNull) {
  server_.entries = {Entry(1, 1, 1, "SELECT id FROM t WHERE id = 0x5EC7 AND v = 'token-123'"),
                     Entry(2, 1, 1, "SELEC 'unterminated"), Entry(3, 1, 1)};
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  for (auto& e : server_.entries) e.calls++;
  auto snap = Next(c);
  ASSERT_EQ(snap.statements.size(), 3u);
  const protocol::StatementMetrics* newer = Find(snap, 1);
  ASSERT_NE(newer, nullptr);
  ASSERT_TRUE(newer->include_text);
  EXPECT_EQ(newer->text, "SELECT id FROM t WHERE id = $1 AND v = $2");
  EXPECT_EQ(newer->text_source, protocol::TextSource::kScanner);
  const protocol::StatementMetrics* unscannable = Find(snap, 2);
  ASSERT_NE(unscannable, nullptr);
  EXPECT_TRUE(unscannable->include_text);
  EXPECT_FALSE(unscannable->text.has_value());
  EXPECT_EQ(unscannable->fingerprint.size(), 16u);
  const protocol::StatementMetrics* plain = Find(snap, 3);
  ASSERT_NE(plain, nullptr);
  EXPECT_TRUE(plain->text.has_value());
  EXPECT_EQ(plain->text_source, protocol::TextSource::kParser);
}

TEST_F(CollectorTest, ExtraCountersAreWindowedAndStayExactUnderSampling) {
  server_.extension_version = "1.12";
  constexpr std::size_t kLaunched = protocol::kExtraCounterCount - 1;  // parallel_workers_launched
  ASSERT_STREQ(protocol::kExtraCounters[kLaunched].name, "parallel_workers_launched");
  for (int64_t i = 1; i <= 300; ++i) {
    server_.entries.push_back(Entry(i, 1, 1));
    server_.entries.back().extra[kLaunched] = 100;  // before the window: not counted
  }
  CollectorOptions options;
  options.max_statements_per_snapshot = 50;
  Collector c = Make(options);
  ASSERT_TRUE(c.Collect().ok());
  double truth = 0;
  for (auto& e : server_.entries) {
    e.calls += 1;
    e.total_exec_time_ms += static_cast<double>(e.queryid % 7 + 1);
    if (e.queryid % 3 == 0) {
      e.extra[kLaunched] += static_cast<double>(e.queryid % 5);
      truth += static_cast<double>(e.queryid % 5);
    }
  }
  auto snap = Next(c);
  ASSERT_TRUE(snap.sampling.applied);
  EXPECT_EQ(snap.server.extra_counters, protocol::ExtraCountersOfVersion(1, 12));
  double estimate = snap.remainder.extra[kLaunched];
  for (const auto& s : snap.statements) {
    EXPECT_DOUBLE_EQ(s.extra[kLaunched], s.queryid % 3 == 0 ? s.queryid % 5 : 0) << s.queryid;
    estimate += s.sample_weight * s.extra[kLaunched];
  }
  EXPECT_NEAR(estimate, truth, 1e-6);
}

TEST_F(CollectorTest, SamplingKeepsWeightedTotalsExact) {
  // 10,000 changed statements with skewed times, at most 1,000 per snapshot.
  for (int64_t i = 1; i <= 10000; ++i) server_.entries.push_back(Entry(i, 1, 1));
  CollectorOptions options;
  options.max_statements_per_snapshot = 1000;
  Collector c = Make(options);
  ASSERT_TRUE(c.Collect().ok());
  int64_t true_calls = 0;
  double true_time = 0;
  for (auto& e : server_.entries) {
    const int64_t calls = 1 + (e.queryid * 7919) % 50;
    const double ms = (e.queryid % 100 == 0) ? 50000.0 + static_cast<double>(e.queryid)
                                             : 0.25 * static_cast<double>(e.queryid % 37 + 1);
    e.calls += calls;
    e.total_exec_time_ms += ms;
    true_calls += calls;
    true_time += ms;
  }
  auto snap = Next(c);
  EXPECT_TRUE(snap.sampling.applied);
  EXPECT_EQ(snap.statements.size(), 1000u);
  EXPECT_EQ(snap.sampling.changed_statements, 10000);
  double calls = snap.remainder.window.calls;
  double time = snap.remainder.window.total_exec_time_ms;
  double pct = snap.remainder.time_pct;
  std::set<int64_t> ids;
  for (const auto& s : snap.statements) {
    calls += s.sample_weight * static_cast<double>(s.window.calls);
    time += s.sample_weight * s.window.total_exec_time_ms;
    pct += s.sample_weight * s.time_pct;
    EXPECT_GE(s.sample_weight, 1.0);
    ids.insert(s.queryid);
  }
  EXPECT_EQ(ids.size(), 1000u);  // no statement twice
  EXPECT_NEAR(calls, static_cast<double>(true_calls), 1e-6 * static_cast<double>(true_calls));
  EXPECT_NEAR(time, true_time, 1e-9 * true_time);
  EXPECT_NEAR(pct, 100.0, 1e-9);
  // The heaviest statements are all in the head, unsampled.
  for (int64_t id = 100; id <= 10000; id += 100) {
    const auto* s = Find(snap, id);
    ASSERT_NE(s, nullptr) << id;
    EXPECT_DOUBLE_EQ(s->sample_weight, 1.0);
  }
}

TEST_F(CollectorTest, FailedTextReadKeepsTheWindowAndRetriesLater) {
  CollectorOptions options;
  options.text_refresh_interval = 1min;
  server_.entries = {Entry(1, 1, 1)};
  Collector c = Make(options);
  ASSERT_TRUE(c.Collect().ok());
  server_.entries[0].calls += 4;
  server_.fail_text_read = MakeError(ErrorCode::kTimeout, "canceling statement due to timeout");
  auto snap = Next(c);
  EXPECT_EQ(c.counters().text_read_failures, 1u);
  ASSERT_TRUE(c.last_text_read_error().has_value());
  EXPECT_TRUE(snap.statements.empty());
  EXPECT_DOUBLE_EQ(snap.remainder.window.calls, 4);  // counted, not lost
  EXPECT_EQ(snap.remainder.unclassified_statements, 1);
  clock_.Advance(1min);
  server_.entries[0].calls += 2;
  snap = Next(c);
  ASSERT_EQ(snap.statements.size(), 1u);
  EXPECT_EQ(snap.statements[0].window.calls, 2);
}

TEST_F(CollectorTest, FailedStatsReadMakesTheNextReadingABaseline) {
  server_.entries = {Entry(1, 1, 1)};
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  server_.entries[0].calls += 4;
  clock_.Advance(30s);
  server_.fail_stream =
      MakeError(ErrorCode::kTimeout, "canceling statement due to statement timeout");
  auto failed = c.Collect();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kTimeout);
  auto next = c.Collect();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
}

TEST_F(CollectorTest, AbsentSlotsAreRecycledAfterTheGracePeriod) {
  CollectorOptions options;
  options.slot_grace_readings = 2;
  server_.entries = {Entry(1, 1, 1), Entry(2, 1, 1)};
  Collector c = Make(options);
  ASSERT_TRUE(c.Collect().ok());
  EXPECT_EQ(c.counters().live_slots, 2u);
  server_.entries.pop_back();
  for (int i = 0; i < 3; ++i) Next(c);
  EXPECT_EQ(c.counters().live_slots, 1u);
}

TEST_F(CollectorTest, LostConnectionReconnectsAndTakesANewBaseline) {
  server_.entries = {Entry(1, 1, 1)};
  Collector c = Make();
  ASSERT_TRUE(c.Collect().ok());
  server_.fail_next = MakeError(ErrorCode::kConnectionLost, "server closed the connection");
  auto failed = c.Collect();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kConnectionLost);
  auto again = c.Collect();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());  // a baseline
  EXPECT_EQ(server_.connects, 2);
}

TEST_F(CollectorTest, MissingExtensionNamesCreateExtensionAndPreload) {
  server_.extension_installed = false;
  Collector c = Make();
  auto r = c.Collect();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kExtensionMissing);
  EXPECT_NE(r.error().message.find("CREATE EXTENSION pg_stat_statements"), std::string::npos);
  EXPECT_NE(r.error().message.find("shared_preload_libraries"), std::string::npos);
}

TEST_F(CollectorTest, ExtensionOlderThan18IsRefusedWithTheFix) {
  server_.extension_version = "1.7";
  Collector c = Make();
  auto r = c.Collect();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupportedVersion);
  EXPECT_NE(r.error().message.find("ALTER EXTENSION pg_stat_statements UPDATE"), std::string::npos);
}

TEST_F(CollectorTest, RoleWithoutReadAllStatsIsToldToGrantPgMonitor) {
  server_.can_read_all_stats = false;
  Collector c = Make();
  auto r = c.Collect();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("GRANT pg_monitor"), std::string::npos);
}

TEST_F(CollectorTest, ColumnsFollowTheExtensionVersion) {
  for (const char* version : {"1.8", "1.9", "1.10", "1.11", "1.12"}) {
    server_.extension_version = version;
    server_.statements.clear();
    Collector c = Make();
    ASSERT_TRUE(c.Collect().ok()) << version;
    std::string stats_sql;
    for (const auto& s : server_.statements) {
      if (s.find("(false)") != std::string::npos) stats_sql = s;
    }
    const std::string v = version;
    EXPECT_EQ(stats_sql.find("toplevel") != std::string::npos, v != "1.8") << v;
    const bool v111 = v == "1.11" || v == "1.12";
    EXPECT_EQ(stats_sql.find("shared_blk_read_time") != std::string::npos, v111) << v;
    EXPECT_EQ(stats_sql.find("stats_since") != std::string::npos, v111) << v;
    EXPECT_EQ(stats_sql.find(" blk_read_time") != std::string::npos, !v111) << v;
    EXPECT_EQ(stats_sql.find("wal_buffers_full") != std::string::npos, v == "1.12") << v;
  }
}

}  // namespace
}  // namespace optischema::collector

namespace optischema::collector {
namespace {

TEST(CollectorSelfRecognition, TextReadEntryIsExcludedWithoutReadingItsText) {
  FakeServer server;
  ManualClock clock;
  server.entries = {Entry(1, 1, 1)};
  CollectorOptions options;
  options.database_name = "orders";
  Collector c(options, server.Factory(), clock);
  ASSERT_TRUE(c.Collect().ok());
  server.entries[0].calls++;
  clock.Advance(30s);
  ASSERT_TRUE(c.Collect().ok());
  ASSERT_EQ(server.text_reads, 1);
  // The text read now shows up in pg_stat_statements as a new entry of the agent's role.
  FakeEntry self = Entry(optischema::testing::kTextReadQueryId, 1, 40, "(text never needed)");
  server.entries.push_back(self);
  clock.Advance(30s);
  auto snap = c.Collect();
  ASSERT_TRUE(snap.ok() && snap->has_value());
  EXPECT_EQ(server.text_reads, 1);
  EXPECT_TRUE((*snap)->statements.empty());
  EXPECT_EQ((*snap)->excluded_statements, 1);
  EXPECT_EQ((*snap)->remainder.unclassified_statements, 0);
}

}  // namespace
}  // namespace optischema::collector
