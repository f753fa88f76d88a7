#pragma once

// Clock seam: wall time for timestamps in snapshots, monotonic time for windows, rate limits,
// intervals and backoff, and waiting for a monotonic deadline. Implementations must be safe to
// call from any thread.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace optischema {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;

  // Blocks on `cv` (with `lock` held, released while waiting) until Monotonic() reaches `until`
  // or `cv` is notified; it may also return early, so callers re-check their condition and the
  // time. The default waits the remaining time in real time.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         std::chrono::steady_clock::time_point until) const {
    cv.wait_for(lock, until - Monotonic());
  }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
};

// The process's SystemClock, for objects that are not given another one.
inline const Clock& RealClock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace optischema
