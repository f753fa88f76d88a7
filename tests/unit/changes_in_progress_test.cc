// The apply worker's index changes, as the advisor sees them: a proposal equal to a change in
// progress, or to one that took effect within the hold, is held back.

#include "advisor/changes_in_progress.h"

#include <gtest/gtest.h>

#include "tests/support/manual_clock.h"

namespace optischema::advisor {
namespace {

using std::chrono::minutes;

protocol::CreateIndexSpec Create(std::vector<std::string> columns) {
  protocol::CreateIndexSpec spec;
  spec.schema = "public";
  spec.table = "events";
  spec.columns = std::move(columns);
  return spec;
}

protocol::IndexProposal ProposeCreate(std::vector<std::string> columns) {
  protocol::IndexProposal p;
  p.kind = "create_index";
  p.schema = "public";
  p.table = "events";
  p.columns = std::move(columns);
  return p;
}

protocol::IndexProposal ProposeDrop(const std::string& index) {
  protocol::IndexProposal p;
  p.kind = "drop_index";
  p.schema = "public";
  p.table = "events";
  p.index = index;
  return p;
}

TEST(ChangesInProgressTest, CreateInProgressHoldsBackTheEqualProposalOnItsDatabaseOnly) {
  testing::ManualClock clock;
  ChangesInProgress changes(clock);
  EXPECT_FALSE(changes.Holds("shop", ProposeCreate({"kind"})));
  const auto building = changes.Begin("shop", Create({"kind"}));
  EXPECT_TRUE(changes.Holds("shop", ProposeCreate({"kind"})));
  EXPECT_FALSE(changes.Holds("billing", ProposeCreate({"kind"})));
  EXPECT_FALSE(changes.Holds("shop", ProposeCreate({"kind", "id"})));
  EXPECT_FALSE(changes.Holds("shop", ProposeCreate({"account"})));
  EXPECT_FALSE(changes.Holds("shop", ProposeDrop("kind")));
}

TEST(ChangesInProgressTest, CreateWithAnotherMethodIncludeOrPredicateIsNotEqualToAProposal) {
  testing::ManualClock clock;
  ChangesInProgress changes(clock);
  protocol::CreateIndexSpec hash = Create({"kind"});
  hash.method = protocol::IndexMethod::kHash;
  protocol::CreateIndexSpec covering = Create({"kind"});
  covering.include = {"payload"};
  protocol::CreateIndexSpec partial = Create({"kind"});
  partial.where = "kind > 0";
  const auto a = changes.Begin("shop", hash);
  const auto b = changes.Begin("shop", covering);
  const auto c = changes.Begin("shop", partial);
  EXPECT_FALSE(changes.Holds("shop", ProposeCreate({"kind"})));
}

TEST(ChangesInProgressTest, DropInProgressHoldsBackTheDropOfThatIndex) {
  testing::ManualClock clock;
  ChangesInProgress changes(clock);
  const auto dropping = changes.Begin("shop", protocol::DropIndexSpec{"public", "events_old"});
  EXPECT_TRUE(changes.Holds("shop", ProposeDrop("events_old")));
  EXPECT_FALSE(changes.Holds("shop", ProposeDrop("events_other")));
  protocol::IndexProposal elsewhere = ProposeDrop("events_old");
  elsewhere.schema = "archive";
  EXPECT_FALSE(changes.Holds("shop", elsewhere));
}

TEST(ChangesInProgressTest, EndedChangeIsHeldForTheHoldThenForgotten) {
  testing::ManualClock clock;
  ChangesInProgress changes(clock, minutes(60));
  {
    const auto building = changes.Begin("shop", Create({"kind"}));
    clock.Advance(minutes(90));  // a long build still counts
    EXPECT_TRUE(changes.Holds("shop", ProposeCreate({"kind"})));
  }
  clock.Advance(minutes(59));
  EXPECT_TRUE(changes.Holds("shop", ProposeCreate({"kind"})));
  clock.Advance(minutes(1));
  EXPECT_FALSE(changes.Holds("shop", ProposeCreate({"kind"})));
}

TEST(ChangesInProgressTest, DiscardedChangeStopsCountingAtOnce) {
  testing::ManualClock clock;
  ChangesInProgress changes(clock);
  auto refused = changes.Begin("shop", Create({"kind"}));
  ASSERT_TRUE(changes.Holds("shop", ProposeCreate({"kind"})));
  refused.Discard();
  EXPECT_FALSE(changes.Holds("shop", ProposeCreate({"kind"})));
}

TEST(ChangesInProgressTest, MovedHandleEndsTheChangeOnceAndOtherKindsAreNotRecorded) {
  testing::ManualClock clock;
  ChangesInProgress changes(clock, minutes(1));
  ChangesInProgress::InProgress outer;
  {
    auto inner = changes.Begin("shop", Create({"kind"}));
    outer = std::move(inner);
  }
  clock.Advance(minutes(5));
  EXPECT_TRUE(changes.Holds("shop", ProposeCreate({"kind"})));  // still owned by `outer`
  outer = ChangesInProgress::InProgress();
  clock.Advance(minutes(1));
  EXPECT_FALSE(changes.Holds("shop", ProposeCreate({"kind"})));

  const auto setting = changes.Begin("shop", protocol::SetConfigSpec{"work_mem", "64MB"});
  EXPECT_FALSE(changes.Holds("shop", ProposeCreate({"kind"})));
}

}  // namespace
}  // namespace optischema::advisor
