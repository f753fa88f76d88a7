// Schema reports and drift between two schema readings.

#include "advisor/schema_drift.h"

#include <gtest/gtest.h>

namespace optischema::advisor {
namespace {

protocol::TableSchema Table(const std::string& name, const std::string& digest) {
  protocol::TableSchema t;
  t.schema = "public";
  t.name = name;
  t.kind = "table";
  t.digest = digest;
  t.columns = {{"id", "integer", true, std::nullopt}, {"email", "text", false, std::nullopt}};
  t.indexes = {{name + "_pkey", "CREATE UNIQUE INDEX ..."}};
  return t;
}

TEST(SchemaDriftTest, FirstReportIsFullWithoutDrift) {
  const std::vector<protocol::TableSchema> now = {Table("a", "d1"), Table("b", "d2")};
  const protocol::SchemaReport report = BuildSchemaReport(nullptr, now);
  EXPECT_TRUE(report.full);
  EXPECT_EQ(report.tables.size(), 2u);
  EXPECT_EQ(report.digests.at("public.b"), "d2");
  EXPECT_TRUE(report.drift.empty());
}

TEST(SchemaDriftTest, UnchangedSchemaSendsDigestsOnly) {
  const std::vector<protocol::TableSchema> now = {Table("a", "d1")};
  const protocol::SchemaReport report = BuildSchemaReport(&now, now);
  EXPECT_FALSE(report.full);
  EXPECT_TRUE(report.tables.empty());
  EXPECT_TRUE(report.drift.empty());
  EXPECT_EQ(report.digests.size(), 1u);
}

TEST(SchemaDriftTest, AddedColumnChangedTypeAndDroppedIndexAreEachOneEntry) {
  const std::vector<protocol::TableSchema> before = {Table("a", "d1")};
  protocol::TableSchema after = Table("a", "d9");
  after.columns[1].type = "character varying(80)";
  after.columns[1].not_null = true;
  after.columns.push_back({"plan", "text", false, std::string("$1::text")});
  after.indexes.clear();
  const std::vector<protocol::TableSchema> now = {after};
  const protocol::SchemaReport report = BuildSchemaReport(&before, now);
  ASSERT_EQ(report.drift.size(), 3u);
  EXPECT_EQ(report.drift[0].change, "column_changed");
  EXPECT_EQ(report.drift[0].name, "email");
  EXPECT_EQ(report.drift[0].detail, "text → character varying(80); NOT NULL added");
  EXPECT_EQ(report.drift[1].change, "column_added");
  EXPECT_EQ(report.drift[1].name, "plan");
  EXPECT_EQ(report.drift[2].change, "index_removed");
  ASSERT_EQ(report.tables.size(), 1u);
  EXPECT_EQ(report.tables[0].digest, "d9");
}

TEST(SchemaDriftTest, AddedAndRemovedTablesAreReported) {
  const std::vector<protocol::TableSchema> before = {Table("old", "d1")};
  const std::vector<protocol::TableSchema> after = {Table("new", "d2")};
  const auto drift = DiffSchemas(before, after);
  ASSERT_EQ(drift.size(), 2u);
  EXPECT_EQ(drift[0].table, "public.new");
  EXPECT_EQ(drift[0].change, "table_added");
  EXPECT_EQ(drift[1].table, "public.old");
  EXPECT_EQ(drift[1].change, "table_removed");
}

TEST(SchemaDriftTest, DigestChangeHiddenByAnonymizationIsStillReported) {
  const std::vector<protocol::TableSchema> before = {Table("a", "d1")};
  const std::vector<protocol::TableSchema> after = {Table("a", "d2")};
  const auto drift = DiffSchemas(before, after);
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].change, "table_changed");
}

}  // namespace
}  // namespace optischema::advisor
