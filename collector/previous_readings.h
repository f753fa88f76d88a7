#pragma once

// The collector's memory of the previous pg_stat_statements reading, compact: what the next
// window delta needs of each entry.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "collector/chunked_array.h"
#include "collector/stat_reader.h"

namespace optischema::collector {

// The last reading of every entry, indexed by slot, holding what the next delta needs: the window
// counters and stats_since. The key lives in StatementSlots, and the cumulative min/max/stddev
// travel with an entry's Change (only a changed entry is sent). The counters most entries leave
// at zero (planning time, dirtied and written blocks, temp blocks, I/O times, WAL) are stored
// apart, only for the entries where one is not zero: 56 bytes per entry instead of a full
// StatReading's 168. Values read back are bit for bit those stored. Not thread-safe.
class PreviousReadings {
 public:
  // Makes slots below `n` valid; a new slot holds the empty reading.
  void EnsureSize(std::size_t n) { common_.EnsureSize(n); }
  std::size_t size() const { return common_.size(); }
  // The counters and stats_since stored for `slot` into *out (key, min, max, stddev left zero).
  void Get(uint32_t slot, StatReading* out) const;
  void Put(uint32_t slot, const StatReading& reading);
  // Forgets the reading of `slot` (it holds the empty reading again).
  void Clear(uint32_t slot) { Put(slot, StatReading{}); }

 private:
  struct Common {
    int64_t calls = 0;
    double total_exec_time_ms = 0;
    int64_t rows = 0;
    int64_t shared_blks_hit = 0;
    int64_t shared_blks_read = 0;
    double stats_since = 0;
    uint32_t rare = 0;  // 1 + index into rare_, 0: all of them zero
  };
  // No padding: an all-zero record is recognised bytewise (so -0.0 is kept).
  struct Rare {
    double total_plan_time_ms = 0;
    int64_t shared_blks_dirtied = 0;
    int64_t shared_blks_written = 0;
    int64_t temp_blks_read = 0;
    int64_t temp_blks_written = 0;
    double blk_read_time_ms = 0;
    double blk_write_time_ms = 0;
    int64_t wal_records = 0;
    double wal_bytes = 0;
  };

  ChunkedArray<Common> common_;
  ChunkedArray<Rare, 1024> rare_;
  std::vector<uint32_t> free_rare_;
  uint32_t rare_used_ = 0;
};

}  // namespace optischema::collector
