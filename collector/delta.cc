#include "collector/delta.h"

namespace optischema::collector {

DeltaKind ComputeDelta(const StatReading* prev, const StatReading& cur, bool all_reset,
                       protocol::WindowCounters* out) {
  if (prev == nullptr) {
    *out = cur.totals;
    return DeltaKind::kNewEntry;
  }
  bool went_down = all_reset || cur.stats_since != prev->stats_since;
  protocol::ForEachCounter(
      [&went_down](const char*, const auto& c, const auto& p) {
        if (c < p) went_down = true;
      },
      cur.totals, prev->totals);
  if (went_down) {
    *out = cur.totals;
    return DeltaKind::kEntryReset;
  }
  protocol::ForEachCounter([](const char*, auto& o, const auto& c, const auto& p) { o = c - p; },
                           *out, cur.totals, prev->totals);
  return DeltaKind::kContinued;
}

void ComputeExtraDelta(const protocol::ExtraCounters& prev, const protocol::ExtraCounters& cur,
                       DeltaKind kind, protocol::ExtraCounters* out) {
  for (std::size_t i = 0; i < cur.size(); ++i) {
    (*out)[i] = kind == DeltaKind::kContinued && cur[i] >= prev[i] ? cur[i] - prev[i] : cur[i];
  }
}

}  // namespace optischema::collector
