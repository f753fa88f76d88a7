// Candidate indexes from a statement's shape, the schema and the existing indexes.

#include "advisor/index_candidates.h"

#include <gtest/gtest.h>

namespace optischema::advisor {
namespace {

std::vector<protocol::TableSchema> Schema() {
  protocol::TableSchema orders;
  orders.schema = "public";
  orders.name = "orders";
  orders.columns = {{"id", "integer", true, std::nullopt},
                    {"customer", "integer", false, std::nullopt},
                    {"created", "timestamp with time zone", false, std::nullopt},
                    {"attrs", "jsonb", false, std::nullopt},
                    {"tags", "text[]", false, std::nullopt}};
  protocol::TableSchema customers;
  customers.schema = "public";
  customers.name = "customers";
  customers.columns = {{"id", "integer", true, std::nullopt},
                       {"region", "text", false, std::nullopt}};
  protocol::TableSchema audit;
  audit.schema = "ops";
  audit.name = "audit";
  audit.columns = {{"who", "text", false, std::nullopt}};
  return {orders, customers, audit};
}

collector::IndexReading ExistingIndex(const std::string& table, std::vector<std::string> columns,
                                      bool valid = true) {
  collector::IndexReading r;
  r.stat.schema = "public";
  r.stat.table = table;
  r.stat.method = "btree";
  r.stat.valid = valid;
  r.stat.columns = std::move(columns);
  return r;
}

std::vector<std::vector<std::string>> Columns(const std::vector<IndexCandidate>& candidates) {
  std::vector<std::vector<std::string>> out;
  for (const auto& c : candidates) out.push_back(c.columns);
  return out;
}

TEST(IndexCandidatesTest, EqualityColumnGivesSingleAndLeadsTwoColumnCandidates) {
  QueryShape shape;
  shape.tables = {{"", "orders", ""}};
  shape.columns = {{"", "customer", ColumnUse::kEquality}, {"", "created", ColumnUse::kOrderBy}};
  const auto candidates = CandidatesFor(shape, Schema(), {});
  EXPECT_EQ(Columns(candidates), (std::vector<std::vector<std::string>>{
                                     {"customer"}, {"created"}, {"customer", "created"}}));
  EXPECT_EQ(candidates[0].schema, "public");
  EXPECT_EQ(candidates[0].table, "orders");
}

TEST(IndexCandidatesTest, JsonAndArrayColumnsAreLeftOut) {
  QueryShape shape;
  shape.tables = {{"", "orders", ""}};
  shape.columns = {{"", "attrs", ColumnUse::kEquality}, {"", "tags", ColumnUse::kEquality}};
  EXPECT_TRUE(CandidatesFor(shape, Schema(), {}).empty());
  EXPECT_FALSE(BtreeFriendlyType("jsonb"));
  EXPECT_FALSE(BtreeFriendlyType("integer[]"));
  EXPECT_FALSE(BtreeFriendlyType("tstzrange"));
  EXPECT_TRUE(BtreeFriendlyType("character varying(20)"));
}

TEST(IndexCandidatesTest, ColumnCoveredByAValidIndexPrefixIsLeftOut) {
  QueryShape shape;
  shape.tables = {{"", "orders", ""}};
  shape.columns = {{"", "customer", ColumnUse::kEquality}};
  EXPECT_TRUE(
      CandidatesFor(shape, Schema(), {ExistingIndex("orders", {"customer", "id"})}).empty());
  EXPECT_EQ(
      CandidatesFor(shape, Schema(), {ExistingIndex("orders", {"customer", "id"}, false)}).size(),
      1u);
  EXPECT_EQ(CandidatesFor(shape, Schema(), {ExistingIndex("orders", {"id", "customer"})}).size(),
            1u);
}

TEST(IndexCandidatesTest, IndexEqualToTheCandidateInAnyStateLeavesItOut) {
  QueryShape shape;
  shape.tables = {{"", "orders", ""}};
  shape.columns = {{"", "customer", ColumnUse::kEquality}};
  collector::IndexReading being_built = ExistingIndex("orders", {"customer"}, false);
  being_built.stat.ready = false;
  being_built.stat.being_built = true;
  EXPECT_TRUE(CandidatesFor(shape, Schema(), {being_built}).empty());
  // Left INVALID by a failed or interrupted build: its finding says to rebuild or drop it.
  EXPECT_TRUE(
      CandidatesFor(shape, Schema(), {ExistingIndex("orders", {"customer"}, false)}).empty());
}

TEST(IndexCandidatesTest, IndexNotEqualToTheCandidateLeavesItInUnlessValidAndCovering) {
  QueryShape shape;
  shape.tables = {{"", "orders", ""}};
  shape.columns = {{"", "customer", ColumnUse::kEquality}};
  collector::IndexReading covering = ExistingIndex("orders", {"customer"}, false);
  covering.include_columns = 1;
  collector::IndexReading partial = ExistingIndex("orders", {"customer"}, false);
  partial.predicate = "(customer > 0)";
  collector::IndexReading hash = ExistingIndex("orders", {"customer"}, false);
  hash.stat.method = "hash";
  collector::IndexReading elsewhere = ExistingIndex("customers", {"customer"}, false);
  for (const auto& index : {covering, partial, hash, elsewhere}) {
    EXPECT_EQ(CandidatesFor(shape, Schema(), {index}).size(), 1u) << index.stat.table;
  }
  covering.stat.valid = true;
  EXPECT_TRUE(CandidatesFor(shape, Schema(), {covering}).empty());
}

TEST(IndexCandidatesTest, QualifiersResolveThroughAliasesAndBareColumnsThroughTheSchema) {
  QueryShape shape;
  shape.tables = {{"", "orders", "o"}, {"", "customers", "c"}};
  shape.columns = {{"o", "customer", ColumnUse::kJoin},
                   {"c", "id", ColumnUse::kJoin},
                   {"", "region", ColumnUse::kEquality},
                   {"", "id", ColumnUse::kEquality}};  // ambiguous: both tables have id
  const auto candidates = CandidatesFor(shape, Schema(), {});
  ASSERT_EQ(candidates.size(), 4u);
  EXPECT_EQ(candidates[0].table, "orders");
  EXPECT_EQ(candidates[0].columns, std::vector<std::string>{"customer"});
  EXPECT_EQ(candidates[1].table, "customers");
  EXPECT_EQ(candidates[1].columns, std::vector<std::string>{"region"});
  EXPECT_EQ(candidates[2].columns, std::vector<std::string>{"id"});
  EXPECT_EQ(candidates[3].columns, (std::vector<std::string>{"region", "id"}));
}

TEST(IndexCandidatesTest, UnknownTablesAndOtherSchemasNeedQualification) {
  QueryShape shape;
  shape.tables = {{"", "audit", ""}, {"", "nowhere", ""}};
  shape.columns = {{"", "who", ColumnUse::kEquality}};
  const auto candidates = CandidatesFor(shape, Schema(), {});
  ASSERT_EQ(candidates.size(), 1u);  // the only table named audit is ops.audit
  EXPECT_EQ(candidates[0].schema, "ops");
  shape.tables = {{"public", "audit", ""}};
  EXPECT_TRUE(CandidatesFor(shape, Schema(), {}).empty());
}

TEST(IndexCandidatesTest, AtMostTheRequestedNumberOfCandidates) {
  QueryShape shape;
  shape.tables = {{"", "orders", ""}};
  shape.columns = {{"", "id", ColumnUse::kEquality},
                   {"", "customer", ColumnUse::kEquality},
                   {"", "created", ColumnUse::kRange}};
  EXPECT_EQ(CandidatesFor(shape, Schema(), {}, 4).size(), 4u);
  EXPECT_EQ(CandidatesFor(shape, Schema(), {}).size(), 7u);
}

}  // namespace
}  // namespace optischema::advisor
