#include "collector/statement_slots.h"

namespace optischema::collector {

uint64_t StatementSlots::Hash(const StatementKey& key) {
  // queryid is already a hash; mix in the rest and finalize (splitmix64).
  uint64_t h = static_cast<uint64_t>(key.queryid) ^ (uint64_t{key.userid} << 32) ^
               (uint64_t{key.dbid} * 0x9e3779b97f4a7c15ULL) ^ (key.toplevel ? 0x5bd1e995ULL : 0);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::size_t StatementSlots::Probe(const StatementKey& key) const {
  const std::size_t mask = table_.size() - 1;
  std::size_t i = static_cast<std::size_t>(Hash(key)) & mask;
  while (table_[i] != 0 && !(keys_[table_[i] - 1] == key)) i = (i + 1) & mask;
  return i;
}

uint32_t StatementSlots::Find(const StatementKey& key) const {
  const uint32_t cell = table_[Probe(key)];
  return cell == 0 ? kNone : cell - 1;
}

void StatementSlots::Grow() {
  std::vector<uint32_t> old = std::move(table_);
  table_.assign(old.size() * 2, 0);
  for (uint32_t cell : old) {
    if (cell != 0) table_[Probe(keys_[cell - 1])] = cell;
  }
}

uint32_t StatementSlots::Intern(const StatementKey& key, bool* created) {
  std::size_t i = Probe(key);
  if (table_[i] != 0) {
    *created = false;
    return table_[i] - 1;
  }
  *created = true;
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
    keys_[slot] = key;
  } else {
    slot = static_cast<uint32_t>(keys_.size());
    keys_.push_back(key);
  }
  table_[i] = slot + 1;
  ++live_;
  if (uint64_t{live_} * 4 > uint64_t{table_.size()} * 3) Grow();  // load factor ≤ 0.75
  return slot;
}

uint32_t StatementSlots::InternWithHint(const StatementKey& key, uint32_t hint, bool* created) {
  // A released slot holds the empty key (queryid 0, which pg_stat_statements never reports), so
  // it cannot match.
  if (hint < keys_.size() && key.queryid != 0 && keys_[hint] == key) {
    *created = false;
    return hint;
  }
  return Intern(key, created);
}

void StatementSlots::Release(uint32_t slot) {
  const std::size_t mask = table_.size() - 1;
  std::size_t i = Probe(keys_[slot]);
  if (table_[i] != slot + 1) return;  // not live
  // Backward-shift deletion keeps every remaining key reachable without tombstones.
  std::size_t hole = i;
  std::size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (table_[j] == 0) break;
    const std::size_t home = static_cast<std::size_t>(Hash(keys_[table_[j] - 1])) & mask;
    // Move j into the hole if its home position is not in the cyclic range (hole, j].
    const bool home_in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_in_range) {
      table_[hole] = table_[j];
      hole = j;
    }
  }
  table_[hole] = 0;
  keys_[slot] = StatementKey{0, 0, 0, false};
  free_.push_back(slot);
  --live_;
}

}  // namespace optischema::collector
