// Backoff with full jitter, and what the sender does after each kind of outcome.

#include "delivery/retry_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace optischema::protocol {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kSeed = 42;

Result<delivery::HttpResponse> Response(int status,
                                        std::map<std::string, std::string> headers = {}) {
  return delivery::HttpResponse{status, "{}", std::move(headers)};
}

Result<delivery::HttpResponse> Failure(ErrorCode code) { return MakeError(code, "test"); }

TEST(Backoff, EveryDelayLiesBetweenZeroAndTheDoublingCeiling) {
  const milliseconds base(100);
  const milliseconds cap(10'000);
  delivery::Backoff backoff(base, cap, kSeed);
  for (int round = 0; round < 200; ++round) {
    milliseconds ceiling = base;
    for (int attempt = 0; attempt < 12; ++attempt) {
      const milliseconds delay = backoff.Next();
      EXPECT_GE(delay, milliseconds(0));
      EXPECT_LE(delay, ceiling) << "attempt " << attempt;
      ceiling = std::min(ceiling * 2, cap);
    }
    backoff.Reset();
  }
}

TEST(Backoff, JitterCoversTheWholeRangeNotJustTheCeiling) {
  const milliseconds base(1000);
  delivery::Backoff backoff(base, seconds(60), kSeed);
  std::set<milliseconds::rep> seen;
  milliseconds low = base;
  milliseconds high(0);
  for (int draw = 0; draw < 2000; ++draw) {
    const milliseconds delay = backoff.Next();
    backoff.Reset();
    seen.insert(delay.count());
    low = std::min(low, delay);
    high = std::max(high, delay);
  }
  EXPECT_LT(low, milliseconds(50));
  EXPECT_GT(high, milliseconds(950));
  EXPECT_GT(seen.size(), 500U);
}

TEST(Backoff, CeilingStopsAtTheCapHoweverManyAttempts) {
  const milliseconds cap = std::chrono::minutes(5);
  delivery::Backoff backoff(seconds(1), cap, kSeed);
  milliseconds late_high(0);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const milliseconds delay = backoff.Next();
    ASSERT_LE(delay, cap) << "attempt " << attempt;
    if (attempt >= 800) late_high = std::max(late_high, delay);
  }
  EXPECT_GT(late_high, cap * 9 / 10);  // the ceiling reached the cap and stayed there
}

TEST(Backoff, ResetStartsAgainFromBase) {
  const milliseconds base(200);
  delivery::Backoff backoff(base, std::chrono::minutes(5), kSeed);
  for (int round = 0; round < 200; ++round) {
    for (int attempt = 0; attempt < 20; ++attempt) static_cast<void>(backoff.Next());
    backoff.Reset();
    EXPECT_LE(backoff.Next(), base);
    backoff.Reset();
  }
}

TEST(Backoff, SameSeedGivesTheSameSequence) {
  delivery::Backoff first(seconds(1), std::chrono::minutes(5), kSeed);
  delivery::Backoff second(seconds(1), std::chrono::minutes(5), kSeed);
  for (int attempt = 0; attempt < 30; ++attempt) EXPECT_EQ(first.Next(), second.Next());
}

TEST(Backoff, DefaultsAreOneSecondDoublingToFiveMinutes) {
  delivery::Backoff backoff;
  EXPECT_LE(backoff.Next(), seconds(1));
  EXPECT_LE(backoff.Next(), seconds(2));
  for (int attempt = 0; attempt < 100; ++attempt)
    EXPECT_LE(backoff.Next(), std::chrono::minutes(5));
}

TEST(RetryClassify, StatusTable) {
  const std::pair<int, delivery::RetryDecision> table[] = {
      {200, delivery::RetryDecision::kDone},
      {202, delivery::RetryDecision::kDone},
      {400, delivery::RetryDecision::kGiveUp},
      {401, delivery::RetryDecision::kConfigProblem},
      {403, delivery::RetryDecision::kConfigProblem},
      {404, delivery::RetryDecision::kGiveUp},
      {408, delivery::RetryDecision::kRetry},
      {409, delivery::RetryDecision::kGiveUp},
      {413, delivery::RetryDecision::kGiveUp},
      {429, delivery::RetryDecision::kRetry},
      {500, delivery::RetryDecision::kRetry},
      {502, delivery::RetryDecision::kRetry},
      {503, delivery::RetryDecision::kRetry},
  };
  for (const auto& [status, expected] : table) {
    EXPECT_EQ(delivery::Classify(Response(status)), expected) << "status " << status;
  }
}

TEST(RetryClassify, TooManyRequestsAndUnavailableHonourRetryAfterSeconds) {
  for (const int status : {429, 503}) {
    const Result<delivery::HttpResponse> result = Response(status, {{"retry-after", "30"}});
    EXPECT_EQ(delivery::Classify(result), delivery::RetryDecision::kRetryAfter)
        << "status " << status;
    EXPECT_EQ(delivery::RetryAfter(*result), seconds(30));
  }
}

TEST(RetryClassify, RetryAfterOnOtherStatusesIsIgnored) {
  EXPECT_EQ(delivery::Classify(Response(500, {{"retry-after", "30"}})),
            delivery::RetryDecision::kRetry);
  EXPECT_EQ(delivery::Classify(Response(400, {{"retry-after", "30"}})),
            delivery::RetryDecision::kGiveUp);
}

TEST(RetryClassify, RetryAfterAsHttpDateFallsBackToBackoff) {
  const Result<delivery::HttpResponse> result =
      Response(503, {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}});
  EXPECT_EQ(delivery::Classify(result), delivery::RetryDecision::kRetry);
}

TEST(RetryClassify, RedirectIsAConfigurationProblemBecauseItIsNotFollowed) {
  EXPECT_EQ(delivery::Classify(Response(301, {{"location", "https://elsewhere/"}})),
            delivery::RetryDecision::kConfigProblem);
  EXPECT_EQ(delivery::Classify(Response(308)), delivery::RetryDecision::kConfigProblem);
}

TEST(RetryClassify, ConnectionFailuresAndTimeoutsAreRetried) {
  EXPECT_EQ(delivery::Classify(Failure(ErrorCode::kConnectionFailed)),
            delivery::RetryDecision::kRetry);
  EXPECT_EQ(delivery::Classify(Failure(ErrorCode::kTimeout)), delivery::RetryDecision::kRetry);
  EXPECT_EQ(delivery::Classify(Failure(ErrorCode::kConnectionLost)),
            delivery::RetryDecision::kRetry);
}

TEST(RetryClassify, ConfigurationErrorsAreConfigProblems) {
  EXPECT_EQ(delivery::Classify(Failure(ErrorCode::kConfig)),
            delivery::RetryDecision::kConfigProblem);
  EXPECT_EQ(delivery::Classify(Failure(ErrorCode::kAuthFailed)),
            delivery::RetryDecision::kConfigProblem);
}

TEST(RetryClassify, ErrorsRepeatingCannotFixAreGivenUp) {
  EXPECT_EQ(delivery::Classify(Failure(ErrorCode::kParseFailed)),
            delivery::RetryDecision::kGiveUp);  // body > 4 MiB
  EXPECT_EQ(delivery::Classify(Failure(ErrorCode::kInvalidArgument)),
            delivery::RetryDecision::kGiveUp);
}

TEST(RetryAfterParse, AcceptsDeltaSecondsOnly) {
  EXPECT_EQ(delivery::ParseRetryAfter("120"), seconds(120));
  EXPECT_EQ(delivery::ParseRetryAfter(" 5 "), seconds(5));
  EXPECT_EQ(delivery::ParseRetryAfter("0"), seconds(0));
  EXPECT_EQ(delivery::ParseRetryAfter(""), std::nullopt);
  EXPECT_EQ(delivery::ParseRetryAfter("-1"), std::nullopt);
  EXPECT_EQ(delivery::ParseRetryAfter("+5"), std::nullopt);
  EXPECT_EQ(delivery::ParseRetryAfter("1.5"), std::nullopt);
  EXPECT_EQ(delivery::ParseRetryAfter("12abc"), std::nullopt);
  EXPECT_EQ(delivery::ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

TEST(RetryAfterParse, HugeValuesAreClampedSoAServerCannotStallTheAgent) {
  EXPECT_EQ(delivery::ParseRetryAfter("7200"), delivery::kMaxRetryAfter);
  EXPECT_EQ(delivery::ParseRetryAfter("99999999999999999999999999"), delivery::kMaxRetryAfter);
}

TEST(RetryAfterParse, MissingHeaderMeansNoServerDelay) {
  EXPECT_EQ(delivery::RetryAfter(delivery::HttpResponse{503, "", {}}), std::nullopt);
}

}  // namespace
}  // namespace optischema::protocol
