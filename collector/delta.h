#pragma once

// Window deltas of pg_stat_statements entries. The contract: a delta is never negative.

#include "collector/stat_reader.h"
#include "protocol/snapshot.h"

namespace optischema::collector {

enum class DeltaKind {
  kContinued,   // same entry as last reading: current − previous
  kNewEntry,    // not present last reading: everything it counted happened in the window
  kEntryReset,  // the entry restarted (a counter went down, stats_since or the global
                // stats_reset changed): its current totals are the delta
};

// Computes cur − prev into *out. `prev` null: new entry. `all_reset`: pg_stat_statements_info's
// stats_reset changed since the previous reading, so every entry restarted.
DeltaKind ComputeDelta(const StatReading* prev, const StatReading& cur, bool all_reset,
                       protocol::WindowCounters* out);

}  // namespace optischema::collector
