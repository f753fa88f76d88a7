#pragma once

// Retention of what agents send over and over: heartbeats and snapshots received more than
// `snapshots` days ago are deleted (Store::PruneReceivedBefore), and so are the console's history
// buckets older than `history` days (hour buckets) or kMinuteSeriesRetention (minute buckets;
// Store::PruneSeries), and console sessions past their idle timeout or lifetime, at start and
// then every `interval`, on a thread of the sweeper's own.
// Each sweep logs what it deleted; a failed sweep is logged and tried again at the next interval.
//
// Thread safety: construct, destroy and call Stop from one thread; the sweeping thread only uses
// the store (thread-safe) and the clock.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "controlplane/input_limits.h"
#include "controlplane/series_records.h"
#include "controlplane/store.h"
#include "core/clock.h"
#include "core/result.h"

namespace optischema::controlplane {

// Days to keep each kind of data; 0 keeps it forever.
struct RetentionDays {
  int snapshots = kDefaultRetentionDays;  // heartbeats and snapshot bodies
  int history = kDefaultHistoryDays;      // the console's hour buckets
};

// One sweep: deletes what is older than `days` allow, logs the counts.
Result<PruneCounts> SweepRetention(Store& store, const Clock& clock, RetentionDays days);

class RetentionSweeper {
 public:
  // Starts sweeping; both days 0 keep everything (no thread). `store` and `clock` must outlive
  // the sweeper.
  RetentionSweeper(Store& store, const Clock& clock, RetentionDays days,
                   std::chrono::milliseconds interval);
  ~RetentionSweeper();  // Stop()
  RetentionSweeper(const RetentionSweeper&) = delete;
  RetentionSweeper& operator=(const RetentionSweeper&) = delete;

  // Ends the thread, waiting for a sweep in progress to finish. Idempotent.
  void Stop();

 private:
  void Run();

  Store& store_;
  const Clock& clock_;
  const RetentionDays days_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace optischema::controlplane
