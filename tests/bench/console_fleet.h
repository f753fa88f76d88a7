#pragma once

// A control plane's store as it is after a fleet of agents has reported for some days, for the
// console benchmark (console_bench.cc): each agent registered, heartbeating and sending one
// snapshot of every one of its statements per interval, written through the Store's own members
// (UpsertAgent, AddHeartbeat, AddSeriesSamples, AddRecommendation, PruneSeries) as the API and the
// retention sweep write them (controlplane/api.cc, retention.cc).
//
// The last kMinuteSeriesRetention are real snapshots at the agents' interval. For the days before,
// what a real store keeps after pruning is an hour bucket per statement and database: each of
// those hours is fed as one sample covering the whole hour (window_s 3600, the hour's figures), so
// the hour buckets hold the same figures and the same number of rows as 120 snapshots would leave
// (only their `samples` count is 1), and the minute buckets they also create are deleted by
// PruneSeries with the real cutoffs at the end, as retention would have deleted them. Snapshot
// bodies (the snapshots table) are not stored: neither page reads them.
//
// Everything is generated from a seed, so two runs with the same spec write the same store.
// Not thread-safe; the functions throw std::runtime_error when the store fails.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "controlplane/store.h"
#include "core/clock.h"

namespace optischema::bench {

// A wall clock the benchmark sets: the store stamps heartbeats and last_seen_at with it, the
// console takes "now" from it.
class SettableClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return wall_.load(); }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
  void SetUnixSeconds(int64_t s) {
    wall_.store(std::chrono::system_clock::time_point(std::chrono::seconds(s)));
  }

 private:
  std::atomic<std::chrono::system_clock::time_point> wall_{};
};

struct FleetSpec {
  int agents = 20;
  int statements = 200;           // per agent, each in every snapshot
  int days = 7;                   // of history before `now_s`
  int interval_s = 30;            // snapshot interval
  int heartbeat_interval_s = 60;  // 0: one heartbeat per agent, at the end
  int advice_interval_s = 900;    // the advisor's interval: advice rides on a snapshot this often
  int indexes_per_database = 60;  // in the advice (the statement page parses every database's)
  int recommendations = 20;
  uint64_t seed = 1;
  int64_t now_s = 1'790'000'000;  // the end of the history; the console's "now"
};

struct FleetStatement {
  std::string queryid;  // signed 64-bit, decimal
  std::string fingerprint;
  std::string text;
  double calls_per_s = 0;
  double mean_ms = 0;
  double rows_per_call = 0;
  double score = 0;
  std::string duration_class;
};

struct FleetAgent {
  std::string agent_id;
  std::string hostname;
  std::string database;
  int offset_s = 0;  // its snapshots are collected at this offset into each interval
  double connections = 0;
  double tps = 0;
  std::vector<FleetStatement> statements;
};

struct Fleet {
  FleetSpec spec;
  std::vector<FleetAgent> agents;
};

Fleet MakeFleet(const FleetSpec& spec);

// How long writing the store took, by part, and what was written.
struct PopulationStats {
  double hours_s = 0;       // the days before the last 24 h, one sample per hour
  double minutes_s = 0;     // the last 24 h of real snapshots
  double heartbeats_s = 0;  // of the two above, the AddHeartbeat calls
  double prune_s = 0;       // PruneSeries
  double total_s = 0;
  int64_t sample_calls = 0;  // AddSeriesSamples calls
  int64_t heartbeats = 0;
  int64_t pruned_rows = 0;
};

// Writes the fleet's history into `store`, moving `clock` along (it is left at spec.now_s).
// `progress` is called now and then with a line saying how far it got.
PopulationStats PopulateStore(const Fleet& fleet, controlplane::Store& store, SettableClock& clock,
                              const std::function<void(const std::string&)>& progress);

}  // namespace optischema::bench
