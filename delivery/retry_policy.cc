#include "delivery/retry_policy.h"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace optischema::delivery {

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, uint64_t seed)
    : base_(std::max(base, std::chrono::milliseconds(1))),
      cap_(std::max(cap, base_)),
      ceiling_(base_),
      rng_(seed) {}

std::chrono::milliseconds Backoff::Next() {
  std::uniform_int_distribution<std::chrono::milliseconds::rep> uniform(0, ceiling_.count());
  const std::chrono::milliseconds delay(uniform(rng_));
  // Doubling stops at cap, so the ceiling never overflows however many times Next is called.
  ceiling_ = ceiling_ >= cap_ / 2 ? cap_ : ceiling_ * 2;
  return delay;
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.find_first_not_of("0123456789") != value.npos) return std::nullopt;
  std::chrono::seconds::rep seconds = 0;
  const std::from_chars_result parsed =
      std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (parsed.ec == std::errc::result_out_of_range || seconds > kMaxRetryAfter.count()) {
    return kMaxRetryAfter;
  }
  return std::chrono::seconds(seconds);
}

std::optional<std::chrono::seconds> RetryAfter(const HttpResponse& response) {
  const auto it = response.headers.find("retry-after");
  if (it == response.headers.end()) return std::nullopt;
  return ParseRetryAfter(it->second);
}

RetryDecision Classify(const Result<HttpResponse>& result) {
  if (!result.ok()) {
    const Error& error = result.error();
    if (error.Retryable()) return RetryDecision::kRetry;
    if (error.code == ErrorCode::kConfig || error.code == ErrorCode::kAuthFailed ||
        error.code == ErrorCode::kPermissionDenied) {
      return RetryDecision::kConfigProblem;
    }
    return RetryDecision::kGiveUp;
  }
  const int status = result->status;
  if (status >= 200 && status < 300) return RetryDecision::kDone;
  if (status >= 300 && status < 400) return RetryDecision::kConfigProblem;
  switch (status) {
    case 401:
    case 403:
      return RetryDecision::kConfigProblem;
    case 408:
      return RetryDecision::kRetry;
    case 429:
    case 503:
      return RetryAfter(*result) ? RetryDecision::kRetryAfter : RetryDecision::kRetry;
    default:
      break;
  }
  if (status >= 400 && status < 500) return RetryDecision::kGiveUp;
  return RetryDecision::kRetry;  // 5xx, and statuses no server should send
}

}  // namespace optischema::delivery
