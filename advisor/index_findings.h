#pragma once

// Index findings from one reading of the index statistics (collector/index_stats_reader.h):
//   unused     no scan since the statistics began, at least unused_min_bytes, valid, not unique
//              and not backing a constraint, statistics at least unused_min_stats_age old; when
//              the agent has watched the index for a shorter time (a new index, or counters that
//              restarted after a crash), that shorter time counts;
//   insufficient_history  the same but with younger statistics: never reported as unused;
//   redundant  another valid index on the same table with the same method, expressions and
//              predicate covers it: for btree its key columns are a prefix of the other's (same
//              operator class, collation and order), for other methods the keys are identical; it
//              is valid, has no INCLUDE columns, is not unique and backs no constraint. Of two
//              identical indexes the one with the later name is reported;
//   invalid    indisvalid = false, unless a CREATE INDEX is building it right now.
// Indexes of partitioned tables and partitions' indexes attached to them are never reported: they
// cannot be dropped on their own. Each finding carries the bytes dropping the index frees and the
// writes per second that maintain it (inserts and non-HOT updates of its table over the window,
// when there is one). Pure; thread-safe.

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

// `writes_per_s` maps a table oid to the rate of writes that maintain its indexes over the window;
// tables missing from it have no rate (first reading). `watched_s` maps an index oid to how long
// the agent has seen its scan counter without a restart; indexes missing from it are judged on
// the statistics' age alone.
std::vector<protocol::IndexFinding> FindIndexProblems(
    const std::vector<collector::IndexReading>& indexes, const protocol::IndexStatsInfo& stats,
    const std::map<uint32_t, double>& writes_per_s, const std::map<uint32_t, double>& watched_s,
    const FindingOptions& options);

}  // namespace optischema::advisor
