#pragma once

// Interning of statement keys to dense uint32 slots, so per-statement state lives in flat vectors
// and sets of statements are roaring::Roaring bitmaps over slots (queryids themselves are random
// 64-bit hashes, which compress badly). Not thread-safe.

#include <cstdint>
#include <vector>

#include "collector/stat_reader.h"

namespace optischema::collector {

class StatementSlots {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Slot of `key`, creating one if the key is new (then *created = true). Released slots are
  // reused before new ones are added, so slots stay dense.
  uint32_t Intern(const StatementKey& key, bool* created);
  // Like Intern, but first checks `hint`: rows of pg_stat_statements come in the same order every
  // reading, so the slot after the previous row's is almost always the right one, and checking
  // it costs one sequential read instead of a random probe of the hash table.
  uint32_t InternWithHint(const StatementKey& key, uint32_t hint, bool* created);
  // Slot of `key` or kNone.
  uint32_t Find(const StatementKey& key) const;
  // Forgets the key of `slot`; the slot number may be handed out again by Intern.
  void Release(uint32_t slot);

  const StatementKey& key(uint32_t slot) const { return keys_[slot]; }
  // One past the highest slot ever handed out: size per-slot vectors with this.
  uint32_t capacity() const { return static_cast<uint32_t>(keys_.size()); }
  uint32_t live() const { return live_; }

 private:
  static uint64_t Hash(const StatementKey& key);
  void Grow();
  std::size_t Probe(const StatementKey& key) const;  // index of key or of the empty cell to use

  std::vector<StatementKey> keys_;
  std::vector<uint32_t> free_;
  // Open addressing with linear probing; cell = slot + 1, 0 = empty. Power-of-two size.
  std::vector<uint32_t> table_ = std::vector<uint32_t>(1024, 0);
  uint32_t live_ = 0;
};

}  // namespace optischema::collector
