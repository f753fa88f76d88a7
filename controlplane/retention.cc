#include "controlplane/retention.h"

#include <spdlog/spdlog.h>

namespace optischema::controlplane {

Result<PruneCounts> SweepRetention(Store& store, const Clock& clock, int retention_days) {
  const auto cutoff = clock.Now() - std::chrono::days(retention_days);
  Result<PruneCounts> counts = store.PruneReceivedBefore(cutoff);
  if (!counts.ok()) {
    spdlog::error("retention: {}", counts.error().ToString());
  } else if (counts->heartbeats > 0 || counts->snapshots > 0) {
    spdlog::info("retention: deleted {} heartbeats and {} snapshots older than {} days",
                 counts->heartbeats, counts->snapshots, retention_days);
  }
  return counts;
}

RetentionSweeper::RetentionSweeper(Store& store, const Clock& clock, int retention_days,
                                   std::chrono::milliseconds interval)
    : store_(store), clock_(clock), retention_days_(retention_days), interval_(interval) {
  if (retention_days_ > 0) thread_ = std::thread([this] { Run(); });
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
    (void)SweepRetention(store_, clock_, retention_days_);
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace optischema::controlplane
