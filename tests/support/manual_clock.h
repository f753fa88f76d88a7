#pragma once

// ManualClock: time moves only when the test says so. A thread waiting on it (WaitUntil) looks at
// the time again every millisecond of real time, so it sees an Advance() at once.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/clock.h"

namespace optischema::testing {

class ManualClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return wall_.load(); }
  std::chrono::steady_clock::time_point Monotonic() const override { return mono_.load(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 std::chrono::steady_clock::time_point until) const override {
    if (Monotonic() < until) cv.wait_for(lock, std::chrono::milliseconds(1));
  }
  void Advance(std::chrono::milliseconds d) {
    wall_.store(wall_.load() + d);
    mono_.store(mono_.load() + d);
  }

 private:
  std::atomic<std::chrono::system_clock::time_point> wall_{
      std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000))};
  std::atomic<std::chrono::steady_clock::time_point> mono_{
      std::chrono::steady_clock::time_point(std::chrono::hours(1))};
};

}  // namespace optischema::testing
