#pragma once

// ManualClock: time moves only when the test says so.

#include <chrono>

#include "core/clock.h"

namespace optischema::testing {

class ManualClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return wall_; }
  std::chrono::steady_clock::time_point Monotonic() const override { return mono_; }
  void Advance(std::chrono::milliseconds d) {
    wall_ += d;
    mono_ += d;
  }

 private:
  std::chrono::system_clock::time_point wall_ =
      std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
  std::chrono::steady_clock::time_point mono_ =
      std::chrono::steady_clock::time_point(std::chrono::hours(1));
};

}  // namespace optischema::testing
