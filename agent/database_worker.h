#pragma once

// DatabaseWorker: one thread per configured database. Every `interval` it takes a reading with its
// own Collector and writes the window's snapshot to the spool; it never talks to the control
// plane. A failing database only affects its own worker: failures are logged when the state
// changes (and at most every kRepeatLogEvery while it lasts), recorded in AgentStatus, and retried
// with backoff (RetryDelay). Between readings it samples pg_stat_activity every
// collector.activity_sample_interval on the same session (Collector::SampleActivity). After a
// lost connection the collector reconnects and takes a new baseline, so no window spans the
// outage.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "advisor/advisor.h"
#include "collector/collector.h"
#include "core/clock.h"
#include "delivery/agent_status.h"
#include "delivery/spool.h"

namespace optischema::agent {

// Delay before the next attempt after `failures` consecutive failed readings (1, 2, ...): the
// interval for the first three, so that a restarting server is picked up at once, then doubling
// from twice the interval, capped at the larger of the interval and 5 minutes.
std::chrono::milliseconds RetryDelay(std::chrono::milliseconds interval, int failures);

struct DatabaseWorkerOptions {
  std::string database;  // configured name
  std::string agent_id;  // written into every snapshot
  std::chrono::milliseconds interval{30000};
  collector::CollectorOptions collector;
  collector::SessionFactory connect;
  // The index advisor, when enabled: it runs after the first snapshot and then every
  // advisor_interval, over its own read-only session, and its advice rides on that snapshot. A
  // failed run is logged and retried at the next snapshot; the snapshot goes out without advice.
  std::optional<advisor::AdvisorOptions> advisor;
  std::chrono::milliseconds advisor_interval{15 * 60 * 1000};
  // Where the advisor's index watch history is kept across restarts (advisor_history.h); empty:
  // not kept.
  std::string state_dir;
  // The apply worker's index changes, which the advisor does not propose again (null: none). Must
  // outlive the worker.
  const advisor::ChangesInProgress* changes = nullptr;
};

class DatabaseWorker {
 public:
  static constexpr std::chrono::minutes kRepeatLogEvery{5};

  // `spool`, `status` and `clock` must outlive the worker. The thread starts at once.
  DatabaseWorker(DatabaseWorkerOptions options, delivery::Spool& spool,
                 delivery::AgentStatus& status, const Clock& clock,
                 std::function<void()> on_spooled);
  // Stops and joins (see RequestStop).
  ~DatabaseWorker();

  DatabaseWorker(const DatabaseWorker&) = delete;
  DatabaseWorker& operator=(const DatabaseWorker&) = delete;

  // Asks the thread to stop after the reading in progress, if any. Does not wait.
  void RequestStop();
  // Waits until the thread ended or `deadline` passed; true when it ended (and was joined).
  bool JoinUntil(std::chrono::steady_clock::time_point deadline);

  // When the thread last showed progress (loop iteration or wait slice), for the watchdog.
  std::chrono::steady_clock::time_point AliveAt() const;
  const std::string& database() const { return options_.database; }

 private:
  void Run();
  void TakeReading(int* failures, std::chrono::steady_clock::time_point* last_failure_log);
  // One activity sample (collector.activity_sample_interval); a failure is logged at most every
  // kRepeatLogEvery and costs only that sample.
  void SampleActivity(std::chrono::steady_clock::time_point* last_failure_log);
  // Runs the advisor when it is due and attaches its advice to `snapshot`; true when it did (the
  // caller commits the advice once the snapshot is spooled).
  bool MaybeAdvise(protocol::Snapshot& snapshot);
  void Touch();

  DatabaseWorkerOptions options_;
  delivery::Spool& spool_;
  delivery::AgentStatus& status_;
  const Clock& clock_;
  std::function<void()> on_spooled_;
  collector::Collector collector_;
  std::unique_ptr<advisor::Advisor> advisor_;
  std::unique_ptr<pg::PgSession> advisor_session_;
  std::optional<std::chrono::steady_clock::time_point> next_advice_at_;
  bool hypopg_note_logged_ = false;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mu_
  bool done_ = false;  // guarded by mu_
  std::atomic<std::int64_t> alive_at_ns_{0};
  std::thread thread_;  // last: started when everything else is ready
};

}  // namespace optischema::agent
