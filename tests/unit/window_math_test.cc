// Delta, sampling and score: the arithmetic of a window.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <type_traits>
#include <vector>

#include "collector/change_log.h"
#include "collector/delta.h"
#include "collector/previous_readings.h"
#include "collector/sampler.h"
#include "collector/scorer.h"
#include "collector/stat_reader.h"

namespace optischema::collector {
namespace {

StatReading Reading(int64_t calls, double ms, int64_t hit = 0) {
  StatReading r;
  r.totals.calls = calls;
  r.totals.total_exec_time_ms = ms;
  r.totals.shared_blks_hit = hit;
  return r;
}

TEST(Delta, ContinuedEntrySubtractsEveryCounter) {
  const StatReading prev = Reading(10, 100, 50);
  const StatReading cur = Reading(15, 130, 80);
  protocol::WindowCounters d;
  EXPECT_EQ(ComputeDelta(&prev, cur, false, &d), DeltaKind::kContinued);
  EXPECT_EQ(d.calls, 5);
  EXPECT_DOUBLE_EQ(d.total_exec_time_ms, 30);
  EXPECT_EQ(d.shared_blks_hit, 30);
}

TEST(Delta, AnyCounterGoingDownMeansTheEntryRestarted) {
  const StatReading prev = Reading(10, 100, 50);
  const StatReading cur = Reading(12, 130, 20);  // calls up, blocks down: evicted and re-created
  protocol::WindowCounters d;
  EXPECT_EQ(ComputeDelta(&prev, cur, false, &d), DeltaKind::kEntryReset);
  EXPECT_EQ(d.calls, 12);
  EXPECT_EQ(d.shared_blks_hit, 20);
}

TEST(Delta, GlobalResetUsesCurrentValues) {
  const StatReading prev = Reading(10, 100);
  const StatReading cur = Reading(30, 300);
  protocol::WindowCounters d;
  EXPECT_EQ(ComputeDelta(&prev, cur, true, &d), DeltaKind::kEntryReset);
  EXPECT_EQ(d.calls, 30);
}

TEST(Delta, NewEntryCountsEverything) {
  protocol::WindowCounters d;
  EXPECT_EQ(ComputeDelta(nullptr, Reading(3, 9), false, &d), DeltaKind::kNewEntry);
  EXPECT_EQ(d.calls, 3);
}

TEST(Sampler, EverythingFitsMeansNoSampling) {
  std::vector<SampleCandidate> c = {{0, 5}, {1, 50}, {2, 1}};
  SamplePlan p = PlanSample(c, 10, 1);
  EXPECT_FALSE(p.applied);
  ASSERT_EQ(p.chosen.size(), 3u);
  EXPECT_EQ(p.chosen[0].index, 1u);  // by time, descending
  for (const auto& ch : p.chosen) EXPECT_EQ(ch.weight, 1.0);
}

TEST(Sampler, HeadIsTheTopHalfOfTheBudgetAndTailIsUniformWithInverseProbabilityWeights) {
  std::vector<SampleCandidate> c;
  for (uint32_t i = 0; i < 1000; ++i) c.push_back({i, static_cast<double>((i * 7919) % 1000)});
  SamplePlan p = PlanSample(c, 100, 42);
  EXPECT_TRUE(p.applied);
  EXPECT_EQ(p.chosen.size(), 100u);
  EXPECT_EQ(p.head, 50u);
  EXPECT_EQ(p.tail, 950u);
  EXPECT_EQ(p.sampled, 50u);
  std::set<uint32_t> seen;
  for (std::size_t i = 0; i < p.chosen.size(); ++i) {
    EXPECT_TRUE(seen.insert(p.chosen[i].index).second);
    EXPECT_DOUBLE_EQ(p.chosen[i].weight, i < 50 ? 1.0 : 950.0 / 50.0);
    // The head holds the 50 largest times (999 down to 950).
    if (i < 50) {
      EXPECT_GE(c[p.chosen[i].index].time_ms, 950.0);
    }
  }
}

TEST(Sampler, SameSeedSameSample) {
  std::vector<SampleCandidate> c;
  for (uint32_t i = 0; i < 1000; ++i) c.push_back({i, 1.0});
  SamplePlan a = PlanSample(c, 100, 9);
  SamplePlan b = PlanSample(c, 100, 9);
  ASSERT_EQ(a.chosen.size(), b.chosen.size());
  for (std::size_t i = 0; i < a.chosen.size(); ++i) EXPECT_EQ(a.chosen[i].index, b.chosen[i].index);
}

TEST(Scorer, DurationClassesFollowTheWindowMean) {
  EXPECT_EQ(ClassifyDuration(999), protocol::DurationClass::kStandard);
  EXPECT_EQ(ClassifyDuration(1000), protocol::DurationClass::kLong);
  EXPECT_EQ(ClassifyDuration(5000), protocol::DurationClass::kLong);
  EXPECT_EQ(ClassifyDuration(5001), protocol::DurationClass::kHeavy);
}

TEST(Scorer, ScoreIsBetweenZeroAndHundredAndMonotoneInEachInput) {
  protocol::WindowCounters w;
  w.shared_blks_hit = 100;
  double last = -1;
  for (double mean : {0.1, 1.0, 10.0, 100.0, 999.0, 1000.0, 4000.0, 6000.0, 60000.0}) {
    const double s = ScoreStatement(w, mean, 10);
    EXPECT_GE(s, last) << mean;
    EXPECT_LE(s, 100.0);
    last = s;
  }
  last = -1;
  for (double pct : {0.0, 1.0, 10.0, 50.0, 100.0}) {
    const double s = ScoreStatement(w, 10, pct);
    EXPECT_GE(s, last);
    last = s;
  }
  protocol::WindowCounters missing = w;
  missing.shared_blks_read = 100;
  EXPECT_GT(ScoreStatement(missing, 10, 10), ScoreStatement(w, 10, 10));
  protocol::WindowCounters spilling = w;
  spilling.temp_blks_written = 100;
  EXPECT_GT(ScoreStatement(spilling, 10, 10), ScoreStatement(w, 10, 10));
  EXPECT_EQ(ScoreStatement(protocol::WindowCounters{}, 0, 0), 0.0);
  protocol::WindowCounters worst;
  worst.shared_blks_read = 10;
  worst.temp_blks_written = 1000;
  EXPECT_EQ(ScoreStatement(worst, 60000, 100), 100.0);
}

TEST(StatReader, ParsesExtensionVersions) {
  int major = 0, minor = 0;
  EXPECT_TRUE(pg::ParseExtensionVersion("1.10", &major, &minor));
  EXPECT_EQ(major, 1);
  EXPECT_EQ(minor, 10);
  EXPECT_FALSE(pg::ParseExtensionVersion("1", &major, &minor));
  EXPECT_FALSE(pg::ParseExtensionVersion("1.x", &major, &minor));
}

std::string BigEndian(uint64_t v, std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    out[size - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

StatReader ReaderOfVersion(int major, int minor) {
  pg::ExtensionInfo extension;
  extension.version = std::to_string(major) + "." + std::to_string(minor);
  extension.major = major;
  extension.minor = minor;
  extension.schema = "public";
  return StatReader(extension);
}

TEST(StatReader, ParsesBinaryRowsAndRejectsWrongSizesAndNullKeys) {
  const StatReader reader = ReaderOfVersion(1, 8);
  // 22 counters every version has, then 1.8's 6 extra counters.
  std::vector<std::string> values(28, BigEndian(std::bit_cast<uint64_t>(2.5), 8));
  values[0] = BigEndian(10, 4);
  values[1] = BigEndian(5, 4);
  values[2] = BigEndian(1, 1);
  values[3] = BigEndian(static_cast<uint64_t>(int64_t{-42}), 8);
  values[4] = BigEndian(7, 8);
  values[22] = BigEndian(3, 8);  // plans
  std::vector<std::optional<std::string_view>> fields(values.begin(), values.end());
  StatReading r;
  protocol::ExtraCounters extra{};
  extra.fill(99);
  ASSERT_TRUE(reader.ParseRow(pg::RowFields(fields.data(), fields.size()), &r, &extra));
  EXPECT_EQ(r.key.userid, 10u);
  EXPECT_EQ(r.key.dbid, 5u);
  EXPECT_TRUE(r.key.toplevel);
  EXPECT_EQ(r.key.queryid, -42);
  EXPECT_EQ(r.totals.calls, 7);
  EXPECT_DOUBLE_EQ(r.totals.total_exec_time_ms, 2.5);
  EXPECT_DOUBLE_EQ(extra[0], 3);  // plans
  EXPECT_DOUBLE_EQ(extra[protocol::kExtraCounterCount - 1], 0) << "a counter 1.8 lacks is zero";
  fields[6] = std::nullopt;  // NULL counter counts as zero
  ASSERT_TRUE(reader.ParseRow(pg::RowFields(fields.data(), fields.size()), &r, &extra));
  EXPECT_DOUBLE_EQ(r.totals.total_plan_time_ms, 0);
  const std::string short_int = BigEndian(7, 4);
  fields[4] = std::string_view(short_int);  // int4 where int8 is expected
  EXPECT_FALSE(reader.ParseRow(pg::RowFields(fields.data(), fields.size()), &r, &extra));
  fields[4] = std::string_view(values[4]);
  EXPECT_FALSE(reader.ParseRow(pg::RowFields(fields.data(), 27), &r, &extra));
  fields[3] = std::nullopt;  // queryid NULL: insufficient privilege
  EXPECT_FALSE(reader.ParseRow(pg::RowFields(fields.data(), fields.size()), &r, &extra));
}

TEST(StatReader, EachExtensionVersionReadsExactlyTheExtraCountersItHas) {
  EXPECT_EQ(std::popcount(ReaderOfVersion(1, 8).extra_counters()), 6);
  EXPECT_EQ(std::popcount(ReaderOfVersion(1, 10).extra_counters()), 16);
  EXPECT_EQ(std::popcount(ReaderOfVersion(1, 11).extra_counters()), 22);
  EXPECT_EQ(std::popcount(ReaderOfVersion(1, 12).extra_counters()), 25);
  const StatReader v112 = ReaderOfVersion(1, 12);
  EXPECT_NE(v112.StatsSql().find("parallel_workers_launched::int8"), std::string::npos);
  EXPECT_NE(v112.StatsSql().find("shared_blk_read_time::float8"), std::string::npos);
  const StatReader v18 = ReaderOfVersion(1, 8);
  EXPECT_EQ(v18.StatsSql().find("jit_functions"), std::string::npos);
  EXPECT_EQ(v18.StatsSql().find("wal_buffers_full"), std::string::npos);
}

TEST(ExtraCounters, ContinuedEntryGrowsFieldByFieldAndAResetEntryStartsOver) {
  protocol::ExtraCounters prev{}, cur{}, out{};
  prev[0] = 5;
  cur[0] = 8;
  prev[1] = 4;
  cur[1] = 1;  // went down: restarted, so its growth is its value
  ComputeExtraDelta(prev, cur, DeltaKind::kContinued, &out);
  EXPECT_DOUBLE_EQ(out[0], 3);
  EXPECT_DOUBLE_EQ(out[1], 1);
  ComputeExtraDelta(prev, cur, DeltaKind::kEntryReset, &out);
  EXPECT_DOUBLE_EQ(out[0], 8);
}

// Every counter of `w` bit for bit (so -0.0 and 0.0 differ).
std::vector<uint64_t> CounterBits(const protocol::WindowCounters& w) {
  std::vector<uint64_t> bits;
  protocol::ForEachCounter(
      [&bits](const char*, const auto& v) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>) {
          bits.push_back(std::bit_cast<uint64_t>(v));
        } else {
          bits.push_back(static_cast<uint64_t>(v));
        }
      },
      w);
  return bits;
}

// A change whose fields are zero, small, large, negative or -0.0 at random.
Change RandomChange(std::mt19937_64& rng, uint32_t slot) {
  const auto pick_int = [&rng]() -> int64_t {
    switch (rng() % 5) {
      case 0:
        return 0;
      case 1:
        return static_cast<int64_t>(rng() % 100);
      case 2:
        return static_cast<int64_t>(rng());
      case 3:
        return std::numeric_limits<int64_t>::min();
      default:
        return -static_cast<int64_t>(rng() % 1000);
    }
  };
  const auto pick_double = [&rng]() -> double {
    switch (rng() % 5) {
      case 0:
        return 0.0;
      case 1:
        return -0.0;
      case 2:
        return std::bit_cast<double>(rng() & 0x7FEFFFFFFFFFFFFFull);
      case 3:
        return static_cast<double>(rng() % 1000) / 7.0;
      default:
        return std::numeric_limits<double>::infinity();
    }
  };
  Change c;
  c.slot = slot;
  protocol::ForEachCounter(
      [&](const char*, auto& v) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>) {
          v = pick_double();
        } else {
          v = pick_int();
        }
      },
      c.delta);
  c.min_exec_time_ms = pick_double();
  c.max_exec_time_ms = pick_double();
  c.stddev_exec_time_ms = pick_double();
  return c;
}

void ExpectSameChange(const Change& got, const Change& want) {
  EXPECT_EQ(got.slot, want.slot);
  EXPECT_EQ(CounterBits(got.delta), CounterBits(want.delta));
  EXPECT_EQ(std::bit_cast<uint64_t>(got.min_exec_time_ms),
            std::bit_cast<uint64_t>(want.min_exec_time_ms));
  EXPECT_EQ(std::bit_cast<uint64_t>(got.max_exec_time_ms),
            std::bit_cast<uint64_t>(want.max_exec_time_ms));
  EXPECT_EQ(std::bit_cast<uint64_t>(got.stddev_exec_time_ms),
            std::bit_cast<uint64_t>(want.stddev_exec_time_ms));
}

TEST(ChangeLog, GivesBackEveryChangeBitForBitInAppendOrderAcrossChunks) {
  std::mt19937_64 rng(7);
  ChangeLog log;
  std::vector<Change> want;
  std::vector<ChangeLog::Id> ids;
  for (uint32_t i = 0; i < 5000; ++i) {  // well over one 64 KiB chunk
    want.push_back(RandomChange(rng, i * 3 + 1));
    ids.push_back(log.Append(want.back()));
  }
  ASSERT_EQ(log.size(), want.size());
  std::size_t n = 0;
  log.ForEach([&](ChangeLog::Id id, const Change& c) {
    ASSERT_LT(n, want.size());
    EXPECT_EQ(id, ids[n]);
    if (n > 0) {
      EXPECT_GT(id, ids[n - 1]);  // sampling breaks ties by id: append order
    }
    ExpectSameChange(c, want[n]);
    ++n;
  });
  EXPECT_EQ(n, want.size());
  for (std::size_t i = 0; i < want.size(); i += 97) ExpectSameChange(log.Get(ids[i]), want[i]);
  log.Clear();
  EXPECT_TRUE(log.empty());
  log.ForEach([](ChangeLog::Id, const Change&) { ADD_FAILURE() << "record after Clear"; });
  const Change again = RandomChange(rng, 5);
  ExpectSameChange(log.Get(log.Append(again)), again);
}

TEST(PreviousReadings, KeepsCountersAndStatsSinceBitForBitAndFreesRareCounters) {
  std::mt19937_64 rng(11);
  PreviousReadings store;
  store.EnsureSize(300);
  std::vector<StatReading> want(300);
  for (int round = 0; round < 4; ++round) {
    for (uint32_t slot = 0; slot < 300; ++slot) {
      const Change c = RandomChange(rng, slot);
      StatReading r;
      // Round 2 leaves the counters kept apart at zero, so their records are released and
      // handed out again in round 3.
      r.totals = c.delta;
      if (round == 2) {
        r.totals.total_plan_time_ms = 0;
        r.totals.shared_blks_dirtied = r.totals.shared_blks_written = 0;
        r.totals.temp_blks_read = r.totals.temp_blks_written = 0;
        r.totals.blk_read_time_ms = r.totals.blk_write_time_ms = 0;
        r.totals.wal_records = 0;
        r.totals.wal_bytes = 0;
      }
      r.stats_since = c.min_exec_time_ms;
      r.min_exec_time_ms = 1;  // not kept
      store.Put(slot, r);
      want[slot] = r;
    }
    for (uint32_t slot = 0; slot < 300; ++slot) {
      StatReading got;
      got.min_exec_time_ms = 5;
      store.Get(slot, &got);
      EXPECT_EQ(CounterBits(got.totals), CounterBits(want[slot].totals));
      EXPECT_EQ(std::bit_cast<uint64_t>(got.stats_since),
                std::bit_cast<uint64_t>(want[slot].stats_since));
      EXPECT_EQ(got.min_exec_time_ms, 0);
    }
  }
  store.Clear(7);
  StatReading got;
  store.Get(7, &got);
  EXPECT_EQ(CounterBits(got.totals), CounterBits(protocol::WindowCounters{}));
}

}  // namespace
}  // namespace optischema::collector
