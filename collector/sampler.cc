#include "collector/sampler.h"

#include <algorithm>
#include <random>

namespace optischema::collector {

SamplePlan PlanSample(std::span<const SampleCandidate> candidates, std::size_t max_statements,
                      uint64_t seed) {
  return PlanSample(std::vector<SampleCandidate>(candidates.begin(), candidates.end()),
                    max_statements, seed);
}

SamplePlan PlanSample(std::vector<SampleCandidate>&& candidates, std::size_t max_statements,
                      uint64_t seed) {
  SamplePlan plan;
  std::vector<SampleCandidate>& sorted = candidates;
  std::sort(sorted.begin(), sorted.end(), [](const SampleCandidate& a, const SampleCandidate& b) {
    return a.time_ms != b.time_ms ? a.time_ms > b.time_ms : a.index < b.index;
  });
  if (sorted.size() <= max_statements) {
    plan.chosen.reserve(sorted.size());
    for (const auto& c : sorted) plan.chosen.push_back({c.index, 1.0});
    plan.head = sorted.size();
    return plan;
  }
  plan.applied = true;
  const std::size_t head = max_statements / 2;
  plan.head = head;
  plan.tail = sorted.size() - head;
  plan.sampled = std::min(max_statements - head, plan.tail);
  plan.tail_probability = static_cast<double>(plan.sampled) / static_cast<double>(plan.tail);
  const double weight = 1.0 / plan.tail_probability;

  plan.chosen.reserve(max_statements);
  for (std::size_t i = 0; i < head; ++i) plan.chosen.push_back({sorted[i].index, 1.0});
  // Partial Fisher–Yates over the tail: the first `sampled` positions become a uniform sample.
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < plan.sampled; ++i) {
    std::uniform_int_distribution<std::size_t> pick(head + i, sorted.size() - 1);
    std::swap(sorted[head + i], sorted[pick(rng)]);
    plan.chosen.push_back({sorted[head + i].index, weight});
  }
  return plan;
}

}  // namespace optischema::collector
