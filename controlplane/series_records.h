#pragma once

// The history the console charts, rolled up from snapshots as they arrive (series_extraction.h):
// per database, per statement and per wait class of a database's load, one row per minute and
// one per hour (Resolution). Minute rows
// are kept for kMinuteSeriesRetention, hour rows for the history retention (`serve
// --history-days`); Store::PruneSeries deletes older ones.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace optischema::controlplane {

enum class Resolution : int64_t { kMinute = 60, kHour = 3600 };

inline constexpr std::chrono::hours kMinuteSeriesRetention{24};
inline constexpr int kDefaultHistoryDays = 14;

// A wait class's load in one snapshot: average active sessions (protocol/activity.h).
struct WaitClassLoad {
  std::string wait_class;  // never empty
  double load = 0;
};

// What a snapshot's `activity` member gives the history.
struct ActivitySample {
  std::vector<WaitClassLoad> by_wait_class;
  std::string json;  // the member as received: the database's latest activity
};

// One snapshot's figures for its database.
struct DatabaseSample {
  std::string agent_id;
  std::string database;
  int64_t collected_s = 0;  // Unix seconds: end of the window
  double window_s = 0;
  double total_exec_ms = 0;  // every statement's time in the window, the remainder included
  double calls = 0;          // likewise
  std::optional<double> connections;
  std::optional<double> cache_hit_ratio;
  std::optional<double> tps;
  std::optional<ActivitySample> activity;  // none when the snapshot carried no activity
};

// One statement of that snapshot.
struct StatementSample {
  std::string queryid;  // decimal
  std::string fingerprint;
  std::optional<std::string> text;  // only in the first snapshot that names it
  double calls = 0;
  double total_exec_ms = 0;
  double rows = 0;
  double score = 0;
  std::string duration_class;
  std::optional<double> cumulative_min_ms;
  std::optional<double> cumulative_max_ms;
};

// A bucket of a database's series: sums over the snapshots in it, `samples` of them.
struct DatabasePoint {
  int64_t bucket_s = 0;  // start of the bucket, Unix seconds
  double window_s = 0;
  double total_exec_ms = 0;
  double calls = 0;
  double connections_sum = 0;
  double cache_hit_ratio_sum = 0;
  double tps_sum = 0;
  int64_t samples = 0;
  int64_t cache_hit_samples = 0;  // samples with a cache hit ratio
};

// A bucket of a statement's series.
struct StatementPoint {
  int64_t bucket_s = 0;
  double calls = 0;
  double total_exec_ms = 0;
  double rows = 0;
  double window_s = 0;           // of the database's snapshots in the bucket
  double database_exec_ms = 0;   // the database's time in the bucket (time %)
};

// A bucket of a database's load by wait class: `active_s` is the sum over the bucket's snapshots
// of load × window_s (active-session-seconds), `window_s` the sum of the windows of the bucket's
// snapshots that carried activity, so that active_s / window_s is the bucket's average active
// sessions in the class.
struct WaitClassPoint {
  int64_t bucket_s = 0;
  std::string wait_class;
  double active_s = 0;
  double window_s = 0;
};

// The latest `activity` member a database's snapshots carried.
struct LatestActivity {
  std::string json;
  int64_t collected_s = 0;  // of the snapshot that carried it
};

// What the store knows of a statement beyond its series.
struct StatementInfo {
  std::string agent_id;
  std::string database;
  std::string queryid;
  std::string fingerprint;
  std::optional<std::string> text;
  std::string duration_class;
  std::optional<double> cumulative_min_ms;
  std::optional<double> cumulative_max_ms;
  double score = 0;
  int64_t last_seen_s = 0;
};

// A statement's sums over a period, for the top statements.
struct StatementTotals {
  StatementInfo info;
  double calls = 0;
  double total_exec_ms = 0;
};

// A database an agent reported on, with the latest advice it sent.
struct DatabaseInfo {
  std::string agent_id;
  std::string database;
  int64_t last_collected_s = 0;
  std::optional<std::string> advice_json;  // the advice members of the last snapshot with any
  std::optional<int64_t> advice_collected_s;
};

}  // namespace optischema::controlplane
