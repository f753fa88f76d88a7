#include "collector/previous_readings.h"

#include <cstring>

namespace optischema::collector {

void PreviousReadings::Get(uint32_t slot, StatReading* out) const {
  const Common& c = common_[slot];
  protocol::WindowCounters& t = out->totals;
  t.calls = c.calls;
  t.total_exec_time_ms = c.total_exec_time_ms;
  t.rows = c.rows;
  t.shared_blks_hit = c.shared_blks_hit;
  t.shared_blks_read = c.shared_blks_read;
  out->stats_since = c.stats_since;
  const Rare r = c.rare == 0 ? Rare{} : rare_[c.rare - 1];
  t.total_plan_time_ms = r.total_plan_time_ms;
  t.shared_blks_dirtied = r.shared_blks_dirtied;
  t.shared_blks_written = r.shared_blks_written;
  t.temp_blks_read = r.temp_blks_read;
  t.temp_blks_written = r.temp_blks_written;
  t.blk_read_time_ms = r.blk_read_time_ms;
  t.blk_write_time_ms = r.blk_write_time_ms;
  t.wal_records = r.wal_records;
  t.wal_bytes = r.wal_bytes;
  out->key = StatementKey{};
  out->min_exec_time_ms = 0;
  out->max_exec_time_ms = 0;
  out->stddev_exec_time_ms = 0;
}

void PreviousReadings::Put(uint32_t slot, const StatReading& reading) {
  const protocol::WindowCounters& t = reading.totals;
  Common& c = common_[slot];
  c.calls = t.calls;
  c.total_exec_time_ms = t.total_exec_time_ms;
  c.rows = t.rows;
  c.shared_blks_hit = t.shared_blks_hit;
  c.shared_blks_read = t.shared_blks_read;
  c.stats_since = reading.stats_since;
  static_assert(sizeof(Rare) == 9 * 8, "Rare must have no padding");
  const Rare r{t.total_plan_time_ms, t.shared_blks_dirtied, t.shared_blks_written,
               t.temp_blks_read,     t.temp_blks_written,   t.blk_read_time_ms,
               t.blk_write_time_ms,  t.wal_records,         t.wal_bytes};
  static constexpr Rare kZero{};
  if (std::memcmp(&r, &kZero, sizeof r) == 0) {
    if (c.rare != 0) {
      free_rare_.push_back(c.rare - 1);
      c.rare = 0;
    }
    return;
  }
  if (c.rare == 0) {
    uint32_t index;
    if (!free_rare_.empty()) {
      index = free_rare_.back();
      free_rare_.pop_back();
    } else {
      index = rare_used_++;
      rare_.EnsureSize(rare_used_);
    }
    c.rare = index + 1;
  }
  rare_[c.rare - 1] = r;
}

}  // namespace optischema::collector
