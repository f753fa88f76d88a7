#pragma once

// Choice of the statements a snapshot carries when more changed than it may hold: the head (top
// by window time, weight 1) and a uniform sample of the tail (weight 1/p).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace optischema::collector {

struct SampleCandidate {
  uint32_t index = 0;  // caller's identifier
  double time_ms = 0;  // window total execution time
};

struct SampleChoice {
  uint32_t index = 0;
  double weight = 1.0;
};

struct SamplePlan {
  std::vector<SampleChoice> chosen;  // head first (by time, descending), then the sample
  bool applied = false;              // false: everything fits, all weights 1
  std::size_t head = 0;
  std::size_t tail = 0;
  std::size_t sampled = 0;
  double tail_probability = 1.0;
};

// With n ≤ max_statements, chooses all. Otherwise the head is the max_statements / 2 statements
// with the most time, sent exactly; the other half of the budget is a uniform sample without
// replacement of the tail (seeded, so a run is reproducible). max_statements ≥ 2.
SamplePlan PlanSample(std::span<const SampleCandidate> candidates, std::size_t max_statements,
                      uint64_t seed);
// The same plan, sorting `candidates` in place instead of a copy of them.
SamplePlan PlanSample(std::vector<SampleCandidate>&& candidates, std::size_t max_statements,
                      uint64_t seed);

}  // namespace optischema::collector
