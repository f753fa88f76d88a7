#include "controlplane/retention.h"

#include <spdlog/spdlog.h>

#include "controlplane/console_auth.h"

namespace optischema::controlplane {

Result<PruneCounts> SweepRetention(Store& store, const Clock& clock, RetentionDays days) {
  const auto now = clock.Now();
  PruneCounts counts;
  if (days.snapshots > 0) {
    Result<PruneCounts> pruned = store.PruneReceivedBefore(now - std::chrono::days(days.snapshots));
    if (!pruned.ok()) {
      spdlog::error("retention: {}", pruned.error().ToString());
      return pruned;
    }
    counts = *pruned;
    if (counts.heartbeats > 0 || counts.snapshots > 0) {
      spdlog::info("retention: deleted {} heartbeats and {} snapshots older than {} days",
                   counts.heartbeats, counts.snapshots, days.snapshots);
    }
  }
  const auto seconds = [](std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  // Sessions that can no longer be used (console_auth.h), whatever the retention.
  Result<int64_t> sessions =
      store.PruneSessions(seconds(now - kSessionIdleTimeout), seconds(now - kSessionLifetime));
  if (!sessions.ok()) {
    spdlog::error("retention: {}", sessions.error().ToString());
    return std::move(sessions).error();
  }
  counts.sessions = *sessions;
  if (days.history > 0) {
    Result<int64_t> rows = store.PruneSeries(seconds(now - kMinuteSeriesRetention),
                                             seconds(now - std::chrono::days(days.history)));
    if (!rows.ok()) {
      spdlog::error("retention: {}", rows.error().ToString());
      return std::move(rows).error();
    }
    counts.series_rows = *rows;
  }
  return counts;
}

RetentionSweeper::RetentionSweeper(Store& store, const Clock& clock, RetentionDays days,
                                   std::chrono::milliseconds interval)
    : store_(store), clock_(clock), days_(days), interval_(interval) {
  if (days_.snapshots > 0 || days_.history > 0) thread_ = std::thread([this] { Run(); });
}

RetentionSweeper::~RetentionSweeper() { Stop(); }

void RetentionSweeper::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RetentionSweeper::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    (void)SweepRetention(store_, clock_, days_);
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace optischema::controlplane
