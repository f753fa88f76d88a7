#pragma once

// The changed entries of one pg_stat_statements reading, compact, until the snapshot is built.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/snapshot.h"

namespace optischema::collector {

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
