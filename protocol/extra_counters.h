#pragma once

// The counters pg_stat_statements has in some extension versions only, on top of the window
// counters every supported version has (BasicWindowCounters). kExtraCounters is the one list: the
// wire name, the column it is read from and the extension version that added the column. A
// snapshot carries exactly the extra counters its server's extension version has: a counter the
// version lacks is absent from the JSON, never zero.

#include <array>
#include <cstddef>
#include <cstdint>

namespace optischema::protocol {

struct ExtraCounterSpec {
  const char* name;    // wire name; times end in _ms
  const char* column;  // pg_stat_statements column
  int since_major;     // extension version that added the column
  int since_minor;
  bool integer;  // a count (written as an integer); otherwise a time or an amount
};

inline constexpr std::array<ExtraCounterSpec, 25> kExtraCounters = {{
    {"plans", "plans", 1, 8, true},
    {"local_blks_hit", "local_blks_hit", 1, 8, true},
    {"local_blks_read", "local_blks_read", 1, 8, true},
    {"local_blks_dirtied", "local_blks_dirtied", 1, 8, true},
    {"local_blks_written", "local_blks_written", 1, 8, true},
    {"wal_fpi", "wal_fpi", 1, 8, true},
    {"temp_blk_read_time_ms", "temp_blk_read_time", 1, 10, false},
    {"temp_blk_write_time_ms", "temp_blk_write_time", 1, 10, false},
    {"jit_functions", "jit_functions", 1, 10, true},
    {"jit_generation_time_ms", "jit_generation_time", 1, 10, false},
    {"jit_inlining_count", "jit_inlining_count", 1, 10, true},
    {"jit_inlining_time_ms", "jit_inlining_time", 1, 10, false},
    {"jit_optimization_count", "jit_optimization_count", 1, 10, true},
    {"jit_optimization_time_ms", "jit_optimization_time", 1, 10, false},
    {"jit_emission_count", "jit_emission_count", 1, 10, true},
    {"jit_emission_time_ms", "jit_emission_time", 1, 10, false},
    {"shared_blk_read_time_ms", "shared_blk_read_time", 1, 11, false},
    {"shared_blk_write_time_ms", "shared_blk_write_time", 1, 11, false},
    {"local_blk_read_time_ms", "local_blk_read_time", 1, 11, false},
    {"local_blk_write_time_ms", "local_blk_write_time", 1, 11, false},
    {"jit_deform_count", "jit_deform_count", 1, 11, true},
    {"jit_deform_time_ms", "jit_deform_time", 1, 11, false},
    {"wal_buffers_full", "wal_buffers_full", 1, 12, true},
    {"parallel_workers_to_launch", "parallel_workers_to_launch", 1, 12, true},
    {"parallel_workers_launched", "parallel_workers_launched", 1, 12, true},
}};
inline constexpr std::size_t kExtraCounterCount = kExtraCounters.size();

// Values in kExtraCounters order. Counts are whole numbers held as doubles (exact below 2^53), so
// weighted sums use the same type.
using ExtraCounters = std::array<double, kExtraCounterCount>;

// Which of kExtraCounters a snapshot has: bit i for kExtraCounters[i].
using ExtraCounterMask = uint32_t;
static_assert(kExtraCounterCount <= 32);

// The counters pg_stat_statements `major`.`minor` has.
constexpr ExtraCounterMask ExtraCountersOfVersion(int major, int minor) {
  ExtraCounterMask mask = 0;
  for (std::size_t i = 0; i < kExtraCounterCount; ++i) {
    const ExtraCounterSpec& c = kExtraCounters[i];
    if (major > c.since_major || (major == c.since_major && minor >= c.since_minor)) {
      mask |= ExtraCounterMask{1} << i;
    }
  }
  return mask;
}

constexpr bool HasExtraCounter(ExtraCounterMask mask, std::size_t i) {
  return (mask >> i & 1u) != 0;
}

}  // namespace optischema::protocol
