#pragma once

// What to do after an exchange with the control plane, and how long to wait before the next try.
//
// The sender's loop: Send, Classify the result, then
//   kDone          forget the backoff (Reset) and move on;
//   kRetry         wait Backoff::Next() and send the same request again (same Idempotency-Key);
//   kRetryAfter    wait RetryAfter(response), the server's own estimate, then send again;
//   kGiveUp        the control plane refused this request for good: drop or quarantine it;
//   kConfigProblem log it as a configuration problem (API key, URL, CA) and retry slowly, e.g.
//                  at the backoff cap, because a person may fix the control plane side.
// Not thread-safe: one Backoff per retry loop.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "core/result.h"
#include "delivery/http_client.h"

namespace optischema::delivery {

// Exponential backoff with full jitter: the n-th delay after a Reset (n = 0, 1, …) is uniform in
// [0, min(cap, base * 2^n)] milliseconds, so many agents failing together spread out instead of
// retrying in lockstep.
class Backoff {
 public:
  // `seed` makes the sequence reproducible in tests; the default draws one from the system.
  // A base under 1 ms is raised to 1 ms, a cap under base to base.
  explicit Backoff(std::chrono::milliseconds base = std::chrono::seconds(1),
                   std::chrono::milliseconds cap = std::chrono::minutes(5),
                   uint64_t seed = std::random_device{}());

  // The delay to wait before the next attempt; each call doubles the ceiling until it reaches cap.
  std::chrono::milliseconds Next();
  // Back to the first ceiling (base), after a success.
  void Reset() { ceiling_ = base_; }

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  std::chrono::milliseconds ceiling_;  // upper bound of the next delay
  std::mt19937_64 rng_;
};

enum class RetryDecision {
  kDone,           // 2xx
  kRetry,          // connection failure, timeout, 408, 5xx, 429/503 without a usable Retry-After
  kRetryAfter,     // 429 or 503 with a Retry-After in seconds
  kGiveUp,         // any other 4xx, or a local error that repeating cannot fix
  kConfigProblem,  // 401/403, 3xx (redirects are not followed), configuration errors
};

RetryDecision Classify(const Result<HttpResponse>& result);

// The delay of a Retry-After value in delta-seconds form ("120"); nullopt for anything else,
// HTTP dates included. Values above kMaxRetryAfter are clamped to it, so a misbehaving server
// cannot stall the agent.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value);
inline constexpr std::chrono::seconds kMaxRetryAfter = std::chrono::hours(1);

// ParseRetryAfter of the response's Retry-After header, nullopt when it has none.
std::optional<std::chrono::seconds> RetryAfter(const HttpResponse& response);

}  // namespace optischema::delivery
