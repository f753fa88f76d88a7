#include "core/recent_ids.h"

#include <gtest/gtest.h>

#include <string>

namespace optischema::agent {
namespace {

TEST(RecentIds, ForgetsTheLeastRecentlyInsertedWhenFull) {
  RecentIds ids(3);
  for (const char* id : {"a", "b", "c"}) ids.Insert(id);
  ids.Insert("a");  // refreshed: now the most recent
  ids.Insert("d");  // forgets b
  EXPECT_TRUE(ids.contains("a"));
  EXPECT_FALSE(ids.contains("b"));
  EXPECT_TRUE(ids.contains("c"));
  EXPECT_TRUE(ids.contains("d"));
  EXPECT_EQ(ids.size(), 3u);
}

TEST(RecentIds, StaysBoundedWhateverIsInserted) {
  RecentIds ids(100);
  for (int i = 0; i < 100000; ++i) ids.Insert("fresh-" + std::to_string(i));
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_TRUE(ids.contains("fresh-99999"));
  EXPECT_FALSE(ids.contains("fresh-0"));
}

TEST(RecentIds, RemembersWhenAKeyWasInsertedAndErases) {
  RecentIds ids(2);
  const auto t0 = RecentIds::Clock::time_point{} + std::chrono::seconds(10);
  ids.Insert("a", t0);
  EXPECT_EQ(ids.InsertedAt("a"), t0);
  EXPECT_FALSE(ids.InsertedAt("b").has_value());
  ids.Erase("a");
  EXPECT_FALSE(ids.contains("a"));
  EXPECT_EQ(ids.size(), 0u);
}

}  // namespace
}  // namespace optischema::agent
