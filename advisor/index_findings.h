#pragma once

// Index findings from one reading of the index statistics (collector/index_stats_reader.h):
//   unused     no scan since the statistics began, at least unused_min_bytes, valid, not unique
//              and not backing a constraint, statistics at least unused_min_stats_age old;
//   insufficient_history  the same but with younger statistics: never reported as unused;
//   redundant  another valid index on the same table with the same method, expressions and
//              predicate covers it: for btree its key columns are a prefix of the other's (same
//              operator class, collation and order), for other methods the keys are identical; it
//              is valid, has no INCLUDE columns, is not unique and backs no constraint. Of two
//              identical indexes the one with the later name is reported;
//   invalid    indisvalid = false, unless a CREATE INDEX is building it right now.
// Each finding carries the bytes dropping the index frees and the writes per second that maintain
// it (its table's write rate over the window, when there is one). Pure; thread-safe.

#include <cstdint>
#include <map>
#include <vector>

#include "collector/index_stats_reader.h"
#include "protocol/advice.h"

namespace optischema::advisor {

struct FindingOptions {
  int64_t unused_min_bytes = int64_t{10} << 20;
  double unused_min_stats_age_s = 7.0 * 24 * 3600;
};

// `writes_per_s` maps a table oid to its write rate over the window; tables missing from it have
// no rate (first reading).
std::vector<protocol::IndexFinding> FindIndexProblems(
    const std::vector<collector::IndexReading>& indexes, const protocol::IndexStatsInfo& stats,
    const std::map<uint32_t, double>& writes_per_s, const FindingOptions& options);

}  // namespace optischema::advisor
