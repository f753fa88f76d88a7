#pragma once

// Polling instead of sleeping: tests wait for a condition, not for a guessed amount of time.

#include <chrono>
#include <functional>
#include <thread>

namespace optischema::testing {

// Checks `condition` every `poll` until it holds or `timeout` passes; returns whether it held.
inline bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                    std::chrono::milliseconds poll = std::chrono::milliseconds(100)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace optischema::testing
