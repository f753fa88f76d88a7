#include "collector/scorer.h"

#include <algorithm>
#include <cmath>

namespace optischema::collector {

protocol::DurationClass ClassifyDuration(double mean_ms) {
  if (mean_ms > 5000.0) return protocol::DurationClass::kHeavy;
  if (mean_ms >= 1000.0) return protocol::DurationClass::kLong;
  return protocol::DurationClass::kStandard;
}

double DurationWeight(protocol::DurationClass c) {
  switch (c) {
    case protocol::DurationClass::kStandard:
      return 1.0;
    case protocol::DurationClass::kLong:
      return 1.5;
    case protocol::DurationClass::kHeavy:
      return 2.0;
  }
  return 1.0;
}

double ScoreStatement(const protocol::WindowCounters& w, double mean_ms, double time_pct) {
  // Each term is in [0, 1] and non-decreasing in its input.
  const double share = std::sqrt(std::clamp(time_pct, 0.0, 100.0) / 100.0);
  const double latency = std::clamp(std::log10(std::max(mean_ms, 1.0)) / 4.0, 0.0, 1.0);
  const double hit = static_cast<double>(w.shared_blks_hit);
  const double read = static_cast<double>(w.shared_blks_read);
  const double temp = static_cast<double>(w.temp_blks_written);
  const double miss = hit + read > 0 ? read / (hit + read) : 0.0;
  const double spill = temp + hit + read > 0 ? temp / (temp + hit + read) : 0.0;
  const double base = 100.0 * (0.40 * share + 0.30 * latency + 0.15 * miss + 0.15 * spill);
  const double weighted = base * DurationWeight(ClassifyDuration(mean_ms));
  return std::round(std::min(100.0, weighted) * 10.0) / 10.0;
}

}  // namespace optischema::collector
