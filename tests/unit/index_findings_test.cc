// Index findings from index statistics: unused (only with old enough statistics), redundant,
// invalid, and the indexes that are never reported.

#include "advisor/index_findings.h"

#include <gtest/gtest.h>

namespace optischema::advisor {
namespace {

using collector::IndexReading;
using protocol::FindingKind;

constexpr int64_t kMiB = int64_t{1} << 20;

IndexReading Index(uint32_t oid, const std::string& name, std::vector<std::string> keys,
                   int64_t size = kMiB, int64_t scans = 5) {
  IndexReading r;
  r.oid = oid;
  r.table_oid = 100;
  r.stat.schema = "public";
  r.stat.table = "t";
  r.stat.name = name;
  r.stat.method = "btree";
  r.stat.size_bytes = size;
  r.stat.scans = scans;
  r.key_signature = std::move(keys);
  return r;
}

protocol::IndexStatsInfo Stats(double age_s) {
  protocol::IndexStatsInfo s;
  s.stats_since = "2026-01-01T00:00:00Z";
  s.stats_age_s = age_s;
  s.stats_since_source = "stats_reset";
  return s;
}

constexpr double kOld = 30 * 86400.0;

std::vector<protocol::IndexFinding> Find(const std::vector<IndexReading>& indexes,
                                         double age_s = kOld) {
  return FindIndexProblems(indexes, Stats(age_s), {{100, 2.5}}, {}, FindingOptions{});
}

TEST(IndexFindingsTest, PrefixOfAnotherIndexIsRedundantWithItsImpact) {
  auto findings = Find({Index(1, "t_a", {"1/x/0/0"}), Index(2, "t_a_b", {"1/x/0/0", "2/x/0/0"})});
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].kind, FindingKind::kRedundant);
  EXPECT_EQ(findings[0].index, "t_a");
  EXPECT_EQ(findings[0].covered_by, "t_a_b");
  EXPECT_EQ(findings[0].bytes, kMiB);
  EXPECT_EQ(findings[0].writes_per_s, 2.5);
}

TEST(IndexFindingsTest, UniqueOrConstraintIndexIsNeverReported) {
  IndexReading unique = Index(1, "t_a_key", {"1/x/0/0"}, 50 * kMiB, 0);
  unique.stat.unique = true;
  IndexReading primary = Index(3, "t_pkey", {"3/x/0/0"}, 50 * kMiB, 0);
  primary.stat.primary = true;
  primary.stat.backs_constraint = true;
  EXPECT_TRUE(Find({unique, Index(2, "t_a_b", {"1/x/0/0", "2/x/0/0"}), primary}).empty());
}

TEST(IndexFindingsTest, DifferentOperatorClassPredicateOrMethodIsNotRedundant) {
  IndexReading partial = Index(1, "t_a_partial", {"1/x/0/0"});
  partial.predicate = "(b > 0)";
  IndexReading hash = Index(3, "t_a_hash", {"1/x/0/0"});
  hash.stat.method = "hash";
  EXPECT_TRUE(Find({Index(2, "t_a_b", {"1/x/0/0", "2/x/0/0"}), partial, hash,
                    Index(4, "t_a_pattern", {"1/y/0/0"})})
                  .empty());
}

TEST(IndexFindingsTest, OfTwoIdenticalIndexesOnlyTheLaterNameIsReported) {
  auto findings = Find({Index(1, "t_a_1", {"1/x/0/0"}), Index(2, "t_a_2", {"1/x/0/0"})});
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].index, "t_a_2");
}

TEST(IndexFindingsTest, CoverByAnInvalidIndexDoesNotCount) {
  IndexReading invalid = Index(2, "t_a_b", {"1/x/0/0", "2/x/0/0"});
  invalid.stat.valid = false;
  auto findings = Find({Index(1, "t_a", {"1/x/0/0"}), invalid});
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].kind, FindingKind::kInvalid);
  EXPECT_EQ(findings[0].index, "t_a_b");
}

TEST(IndexFindingsTest, LargeIndexWithoutScansIsUnusedOnlyWithOldEnoughStatistics) {
  const IndexReading idle = Index(1, "t_idle", {"1/x/0/0"}, 20 * kMiB, 0);
  auto young = Find({idle}, 3600);
  ASSERT_EQ(young.size(), 1u);
  EXPECT_EQ(young[0].kind, FindingKind::kInsufficientHistory);
  EXPECT_NE(young[0].reason.find("not enough history"), std::string::npos);
  auto old = Find({idle});
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].kind, FindingKind::kUnused);
  EXPECT_EQ(old[0].bytes, 20 * kMiB);
}

TEST(IndexFindingsTest, SmallOrScannedIndexIsNotUnused) {
  EXPECT_TRUE(Find({Index(1, "t_small", {"1/x/0/0"}, 9 * kMiB, 0),
                    Index(2, "t_busy", {"2/x/0/0"}, 20 * kMiB, 1)})
                  .empty());
}

TEST(IndexFindingsTest, InvalidIndexBeingBuiltNowIsNotReported) {
  IndexReading building = Index(1, "t_new", {"1/x/0/0"});
  building.stat.valid = false;
  building.stat.being_built = true;
  EXPECT_TRUE(Find({building}).empty());
  building.stat.being_built = false;
  auto findings = Find({building});
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].kind, FindingKind::kInvalid);
}

TEST(IndexFindingsTest, IndexTheAgentWatchedOnlyBrieflyIsNotYetUnused) {
  const std::vector<IndexReading> idle = {Index(1, "t_new", {"1/x/0/0"}, 20 * kMiB, 0)};
  const auto watched = [&](double seconds) {
    return FindIndexProblems(idle, Stats(kOld), {}, {{1, seconds}}, FindingOptions{});
  };
  const auto recent = watched(3600);
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].kind, FindingKind::kInsufficientHistory);
  EXPECT_NE(recent[0].reason.find("watched by the agent"), std::string::npos) << recent[0].reason;
  const auto long_enough = watched(8 * 86400.0);
  ASSERT_EQ(long_enough.size(), 1u);
  EXPECT_EQ(long_enough[0].kind, FindingKind::kUnused);
  EXPECT_NE(long_enough[0].reason.find("standbys"), std::string::npos);
}

TEST(IndexFindingsTest, PartitionedAndAttachedIndexesAreNeverReported) {
  IndexReading parent = Index(1, "p_k", {"1/x/0/0"}, 0, 0);
  parent.partitioned = true;
  parent.stat.valid = false;
  IndexReading child = Index(2, "p1_k_idx", {"1/x/0/0"}, 20 * kMiB, 0);
  child.attached = true;
  IndexReading child_twin = Index(3, "p1_k_idx1", {"1/x/0/0"}, 20 * kMiB, 0);
  child_twin.attached = true;
  EXPECT_TRUE(Find({parent, child, child_twin}).empty());
}

}  // namespace
}  // namespace optischema::advisor
