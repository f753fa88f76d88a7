#pragma once

// Window deltas of pg_stat_statements entries. The contract: a delta is never negative.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "collector/chunked_array.h"
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

// One changed entry of a reading: its window delta and its cumulative min/max/stddev as read.
struct Change {
  uint32_t slot = 0;
  protocol::WindowCounters delta;
  double min_exec_time_ms = 0;
  double max_exec_time_ms = 0;
  double stddev_exec_time_ms = 0;
};

// The changed entries of one reading, in reading order, as variable-length records: a field that
// is zero takes no room and a count takes the bytes its size needs, so a typical change takes
// ~40 bytes instead of 136 (100,000 changed entries: ~4 MiB instead of 13). Values read back are
// bit for bit those appended. The records live in pages mapped for them alone, so Clear() gives
// the memory back to the system at once instead of leaving it in the heap while the snapshot is
// serialised. Not thread-safe.
class ChangeLog {
 public:
  // A record's identifier: ids grow in append order. Valid until Clear().
  using Id = uint32_t;

  Id Append(const Change& change);
  Change Get(Id id) const;
  // Calls f(id, change) for every record in append order.
  template <class F>
  void ForEach(F&& f) const {
    for (std::size_t c = 0; c < chunks_.size(); ++c) {
      const std::size_t end = c + 1 == chunks_.size() ? used_ : ends_[c];
      for (std::size_t pos = 0; pos < end;) {
        // Records never straddle chunks.
        const Id id = static_cast<Id>(c * kChunkBytes + pos);
        Change change;
        pos += Decode(chunks_[c].get() + pos, &change);
        f(id, change);
      }
    }
  }
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Drops every record and releases the memory.
  void Clear();

 private:
  static constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
  static constexpr std::size_t kMaxRecordBytes = 4 + 5 + 14 * 10 + 3 * 8;
  static std::size_t Decode(const uint8_t* p, Change* out);
  struct Unmap {
    void operator()(uint8_t* chunk) const;
  };

  std::vector<std::unique_ptr<uint8_t, Unmap>> chunks_;
  std::vector<std::size_t> ends_;  // bytes used in each full chunk
  std::size_t used_ = 0;           // bytes used in the last chunk
  std::size_t count_ = 0;
};

}  // namespace optischema::collector
