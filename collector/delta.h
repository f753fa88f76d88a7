#pragma once

// Window deltas of pg_stat_statements entries. The contract: a delta is never negative.

#include <cstdint>

#include "collector/stat_reader.h"
#include "protocol/snapshot.h"

namespace optischema::collector {

enum class DeltaKind {
  kContinued,   // same entry as last reading: current − previous
  kNewEntry,    // not present last reading: everything it counted happened in the window
  kEntryReset,  // the entry restarted (a counter went down, stats_since or the global
                // stats_reset changed): its current totals are the delta
};

// The growth of a cumulative counter since `previous`; a counter that went down was reset in
// between and restarted at zero, so its current value is the growth. Never negative.
inline int64_t CounterGrowth(int64_t previous, int64_t current) {
  return current >= previous ? current - previous : current;
}

// Computes cur − prev into *out. `prev` null: new entry. `all_reset`: pg_stat_statements_info's
// stats_reset changed since the previous reading, so every entry restarted.
DeltaKind ComputeDelta(const StatReading* prev, const StatReading& cur, bool all_reset,
                       protocol::WindowCounters* out);

// The extra counters' growth for the same entry: `kind` is what ComputeDelta returned for it; a
// new or reset entry's delta is its current values, and each counter grows by CounterGrowth.
void ComputeExtraDelta(const protocol::ExtraCounters& prev, const protocol::ExtraCounters& cur,
                       DeltaKind kind, protocol::ExtraCounters* out);

}  // namespace optischema::collector
