#include "collector/statement_slots.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace optischema::collector {
namespace {

StatementKey Key(int64_t queryid, uint32_t userid = 10, bool toplevel = true) {
  return StatementKey{userid, 5, queryid, toplevel};
}

TEST(StatementSlots, InternReturnsTheSameSlotForTheSameKey) {
  StatementSlots slots;
  bool created = false;
  const uint32_t a = slots.Intern(Key(42), &created);
  EXPECT_TRUE(created);
  EXPECT_EQ(slots.Intern(Key(42), &created), a);
  EXPECT_FALSE(created);
  EXPECT_NE(slots.Intern(Key(42, 11), &created), a);         // other user
  EXPECT_NE(slots.Intern(Key(42, 10, false), &created), a);  // nested
  EXPECT_EQ(slots.live(), 3u);
}

TEST(StatementSlots, SlotsAreDenseAndReleasedSlotsAreReused) {
  StatementSlots slots;
  bool created = false;
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(slots.Intern(Key(i * 7777777), &created), i);
  slots.Release(40);
  EXPECT_EQ(slots.Find(Key(40 * 7777777)), StatementSlots::kNone);
  EXPECT_EQ(slots.Intern(Key(-1), &created), 40u);
  EXPECT_EQ(slots.capacity(), 100u);
}

TEST(StatementSlots, HintIsUsedOnlyWhenItHoldsTheKey) {
  StatementSlots slots;
  bool created = false;
  const uint32_t a = slots.Intern(Key(11), &created);
  const uint32_t b = slots.Intern(Key(22), &created);
  EXPECT_EQ(slots.InternWithHint(Key(22), a + 1, &created), b);
  EXPECT_FALSE(created);
  EXPECT_EQ(slots.InternWithHint(Key(11), b, &created), a);  // wrong hint: found by hash
  EXPECT_FALSE(created);
  EXPECT_EQ(slots.InternWithHint(Key(33), 999, &created), 2u);  // hint out of range
  EXPECT_TRUE(created);
  slots.Release(b);
  // The released slot no longer matches its old key through the hint.
  const uint32_t again = slots.InternWithHint(Key(22), b, &created);
  EXPECT_TRUE(created);
  EXPECT_EQ(slots.Find(Key(22)), again);
}

TEST(StatementSlots, RandomInternAndReleaseAgreeWithAReferenceMap) {
  StatementSlots slots;
  std::unordered_map<int64_t, uint32_t> reference;
  std::mt19937_64 rng(7);
  for (int step = 0; step < 200000; ++step) {
    const int64_t q = static_cast<int64_t>(rng() % 5000);
    bool created = false;
    if (rng() % 3 == 0) {
      auto it = reference.find(q);
      if (it != reference.end()) {
        slots.Release(it->second);
        reference.erase(it);
      }
    } else {
      // Random hints, often pointing at released or other slots, must never change the answer.
      const uint32_t slot =
          slots.InternWithHint(Key(q), static_cast<uint32_t>(rng() % 6000), &created);
      auto [it, inserted] = reference.emplace(q, slot);
      ASSERT_EQ(created, inserted);
      ASSERT_EQ(it->second, slot);
    }
  }
  EXPECT_EQ(slots.live(), reference.size());
  for (const auto& [q, slot] : reference) {
    ASSERT_EQ(slots.Find(Key(q)), slot);
    ASSERT_EQ(slots.key(slot).queryid, q);
  }
}

}  // namespace
}  // namespace optischema::collector
