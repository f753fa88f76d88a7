#include "advisor/query_shape.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace optischema::advisor {

// Readable failure output for the value types (found by argument-dependent lookup).
void PrintTo(const TableRef& table, std::ostream* out) {
  *out << "{" << table.schema << "." << table.name << " AS " << table.alias << "}";
}
void PrintTo(const ColumnUsage& usage, std::ostream* out) {
  *out << "{" << usage.qualifier << "." << usage.column << " " << ColumnUseName(usage.use) << "}";
}

namespace {

using Tables = std::vector<TableRef>;
using Columns = std::vector<ColumnUsage>;

constexpr ColumnUse kEq = ColumnUse::kEquality;
constexpr ColumnUse kRange = ColumnUse::kRange;
constexpr ColumnUse kJoin = ColumnUse::kJoin;
constexpr ColumnUse kOrder = ColumnUse::kOrderBy;

// The shape of `sql`, or an empty shape after a recorded failure.
QueryShape ShapeOf(std::string_view sql) {
  Result<QueryShape> shape = ParseQueryShape(sql);
  EXPECT_TRUE(shape.ok()) << sql << ": " << shape.error().message;
  return shape.ok() ? *std::move(shape) : QueryShape{};
}

TEST(QueryShape, ReportsEqualityOnBareColumn) {
  const QueryShape shape = ShapeOf("SELECT id, total FROM orders WHERE customer_id = $1");
  EXPECT_EQ(shape.tables, (Tables{{"", "orders", ""}}));
  EXPECT_EQ(shape.columns, (Columns{{"", "customer_id", kEq}}));
}

struct UseCase {
  std::string where;
  Columns expected;
};

TEST(QueryShape, ClassifiesEachKindOfComparison) {
  const std::vector<UseCase> cases = {
      {"a = $1", {{"", "a", kEq}}},
      {"$1 = a", {{"", "a", kEq}}},
      {"a = $1::int", {{"", "a", kEq}}},
      {"a = CAST($1 AS bigint)", {{"", "a", kEq}}},
      {"a IN ($1, $2, $3)", {{"", "a", kEq}}},
      {"a = ANY($1)", {{"", "a", kEq}}},
      {"a = ANY(ARRAY[$1, $2])", {{"", "a", kEq}}},
      {"a IS NULL", {{"", "a", kEq}}},
      {"a IS NOT NULL", {{"", "a", kEq}}},
      {"a = (SELECT $1)", {{"", "a", kEq}}},
      {"a < $1", {{"", "a", kRange}}},
      {"a <= $1", {{"", "a", kRange}}},
      {"$1 > a", {{"", "a", kRange}}},
      {"a >= $1", {{"", "a", kRange}}},
      {"a BETWEEN $1 AND $2", {{"", "a", kRange}}},
      {"a BETWEEN SYMMETRIC $1 AND $2", {{"", "a", kRange}}},
      {"a LIKE $1", {{"", "a", kRange}}},
      {"a ~~ $1", {{"", "a", kRange}}},
      {"a OPERATOR(pg_catalog.=) $1", {{"", "a", kEq}}},
      {"(a, b) > ($1, $2)", {{"", "a", kRange}, {"", "b", kRange}}},
      {"a <> $1", {}},
      {"a NOT IN ($1, $2)", {}},
      {"a NOT BETWEEN $1 AND $2", {}},
      {"a NOT LIKE $1", {}},
      {"a ILIKE $1", {}},
      {"$1 LIKE a", {}},
      {"a IS DISTINCT FROM $1", {}},
      {"a = ALL($1)", {}},
      {"a", {}},
  };
  for (const UseCase& c : cases) {
    const QueryShape shape = ShapeOf("SELECT * FROM t WHERE " + c.where);
    EXPECT_EQ(shape.columns, c.expected) << c.where;
  }
}

TEST(QueryShape, IgnoresColumnInsideFunctionCastOrExpression) {
  const QueryShape shape = ShapeOf(
      "SELECT * FROM users WHERE lower(email) = $1 AND created_at::date = $2 AND score + $3 > $4 "
      "AND name COLLATE \"C\" < $5 AND coalesce(deleted, $6) = $7 AND id = $8");
  EXPECT_EQ(shape.columns, (Columns{{"", "id", kEq}}));
}

TEST(QueryShape, DescendsThroughAndOrNot) {
  const QueryShape shape =
      ShapeOf("SELECT * FROM t WHERE (a = $1 OR (b < $2 AND NOT (c IS NULL))) AND d IN ($3)");
  EXPECT_EQ(shape.columns,
            (Columns{{"", "a", kEq}, {"", "b", kRange}, {"", "c", kEq}, {"", "d", kEq}}));
}

TEST(QueryShape, ReportsJoinColumnsOfBothSides) {
  const QueryShape shape = ShapeOf(
      "SELECT o.id FROM orders o JOIN customers AS c ON o.customer_id = c.id "
      "LEFT JOIN regions r ON r.id = c.region_id AND r.active = $1 WHERE c.country = $2");
  EXPECT_EQ(shape.tables,
            (Tables{{"", "orders", "o"}, {"", "customers", "c"}, {"", "regions", "r"}}));
  EXPECT_EQ(shape.columns, (Columns{{"o", "customer_id", kJoin},
                                    {"c", "id", kJoin},
                                    {"r", "id", kJoin},
                                    {"c", "region_id", kJoin},
                                    {"r", "active", kEq},
                                    {"c", "country", kEq}}));
}

TEST(QueryShape, ReportsJoinWrittenInWhereAndAgainstCastColumn) {
  const QueryShape shape =
      ShapeOf("SELECT * FROM a, b, c WHERE a.x = b.y AND c.z = b.w::int AND a.v < c.u");
  EXPECT_EQ(shape.columns, (Columns{{"a", "x", kJoin},
                                    {"b", "y", kJoin},
                                    {"c", "z", kJoin},
                                    {"a", "v", kRange},
                                    {"c", "u", kRange}}));
}

TEST(QueryShape, ReportsUsingColumnsQualifiedByEachSide) {
  const QueryShape shape =
      ShapeOf("SELECT * FROM orders o JOIN order_lines USING (order_id, tenant_id)");
  EXPECT_EQ(shape.columns, (Columns{{"o", "order_id", kJoin},
                                    {"order_lines", "order_id", kJoin},
                                    {"o", "tenant_id", kJoin},
                                    {"order_lines", "tenant_id", kJoin}}));
}

TEST(QueryShape, ResolvesQualifierOfTwoAndThreePartColumnNames) {
  const QueryShape shape = ShapeOf(
      "SELECT * FROM sales.orders AS o, sales.refunds WHERE o.id = $1 "
      "AND sales.refunds.status = $2 AND amount > $3");
  EXPECT_EQ(shape.tables, (Tables{{"sales", "orders", "o"}, {"sales", "refunds", ""}}));
  EXPECT_EQ(shape.columns,
            (Columns{{"o", "id", kEq}, {"refunds", "status", kEq}, {"", "amount", kRange}}));
}

TEST(QueryShape, ReportsSchemaQualifiedTable) {
  const QueryShape shape = ShapeOf("SELECT * FROM ONLY billing.invoices i WHERE i.paid = $1");
  EXPECT_EQ(shape.tables, (Tables{{"billing", "invoices", "i"}}));
}

TEST(QueryShape, SkipsCteNames) {
  const QueryShape shape = ShapeOf(
      "WITH recent AS (SELECT * FROM orders WHERE created_at > $1) "
      "SELECT * FROM recent JOIN customers c ON c.id = recent.customer_id, public.recent");
  EXPECT_EQ(shape.tables,
            (Tables{{"", "orders", ""}, {"", "customers", "c"}, {"public", "recent", ""}}));
  EXPECT_EQ(
      shape.columns,
      (Columns{{"", "created_at", kRange}, {"c", "id", kJoin}, {"recent", "customer_id", kJoin}}));
}

TEST(QueryShape, CteNameHidesTablesOnlyWhereItIsInScope) {
  // Without RECURSIVE a CTE's own body reads the table of the same name; a CTE defined in a
  // subquery is not visible outside it.
  EXPECT_EQ(
      ShapeOf("WITH orders AS (SELECT * FROM orders WHERE x = $1) SELECT * FROM orders").tables,
      (Tables{{"", "orders", ""}}));
  EXPECT_EQ(ShapeOf("SELECT * FROM (WITH t AS (SELECT 1) SELECT * FROM t) s, t").tables,
            (Tables{{"", "t", ""}}));
  EXPECT_EQ(
      ShapeOf("WITH RECURSIVE tree AS (SELECT id FROM nodes WHERE id = $1 UNION ALL "
              "SELECT n.id FROM nodes n JOIN tree ON n.parent_id = tree.id) SELECT * FROM tree")
          .tables,
      (Tables{{"", "nodes", ""}, {"", "nodes", "n"}}));
}

TEST(QueryShape, ReportsTablesAndColumnsOfSubqueryInWhere) {
  const QueryShape shape = ShapeOf(
      "SELECT * FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE region = $1) "
      "AND EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = orders.id)");
  EXPECT_EQ(shape.tables,
            (Tables{{"", "orders", ""}, {"", "customers", ""}, {"", "refunds", "r"}}));
  EXPECT_EQ(shape.columns, (Columns{{"", "customer_id", kEq},
                                    {"", "region", kEq},
                                    {"r", "order_id", kJoin},
                                    {"orders", "id", kJoin}}));
}

TEST(QueryShape, ReportsLateralAndDerivedTables) {
  const QueryShape shape = ShapeOf(
      "SELECT * FROM accounts a CROSS JOIN LATERAL (SELECT * FROM events e WHERE e.account_id = "
      "a.id ORDER BY e.at DESC LIMIT $1) latest, (SELECT max(x) FROM m) agg");
  EXPECT_EQ(shape.tables, (Tables{{"", "accounts", "a"}, {"", "events", "e"}, {"", "m", ""}}));
  EXPECT_EQ(shape.columns,
            (Columns{{"e", "account_id", kJoin}, {"a", "id", kJoin}, {"e", "at", kOrder}}));
}

TEST(QueryShape, FindsSubqueriesOutsideWhere) {
  const QueryShape shape = ShapeOf(
      "SELECT (SELECT name FROM users u WHERE u.id = t.user_id) FROM t, "
      "generate_series($1, (SELECT max(n) FROM limits)) g GROUP BY 1 "
      "HAVING count(*) > (SELECT min(c) FROM quotas WHERE kind = $2)");
  EXPECT_EQ(shape.tables,
            (Tables{{"", "users", "u"}, {"", "t", ""}, {"", "limits", ""}, {"", "quotas", ""}}));
  EXPECT_EQ(shape.columns,
            (Columns{{"u", "id", kJoin}, {"t", "user_id", kJoin}, {"", "kind", kEq}}));
}

TEST(QueryShape, ReportsBareOrderByColumnsOnly) {
  const QueryShape shape =
      ShapeOf("SELECT * FROM t ORDER BY created_at DESC, lower(name), 1, t.id NULLS FIRST");
  EXPECT_EQ(shape.columns, (Columns{{"", "created_at", kOrder}, {"t", "id", kOrder}}));
}

TEST(QueryShape, OrderByOutputAliasStandsForItsColumn) {
  const QueryShape shape =
      ShapeOf("SELECT o.created_at AS ts, lower(name) AS n FROM orders o ORDER BY ts, n, status");
  EXPECT_EQ(shape.columns, (Columns{{"o", "created_at", kOrder}, {"", "status", kOrder}}));
}

TEST(QueryShape, ReadsEveryBranchOfASetOperation) {
  const QueryShape shape =
      ShapeOf("SELECT id FROM a WHERE x = $1 UNION ALL SELECT id FROM b WHERE y < $2 ORDER BY id");
  EXPECT_EQ(shape.tables, (Tables{{"", "a", ""}, {"", "b", ""}}));
  EXPECT_EQ(shape.columns, (Columns{{"", "x", kEq}, {"", "y", kRange}, {"", "id", kOrder}}));
}

TEST(QueryShape, RemovesDuplicatesKeepingFirstAppearance) {
  const QueryShape shape = ShapeOf(
      "SELECT * FROM t JOIN t AS u ON t.id = u.parent_id WHERE (a = $1 OR a = $2) AND b < $3 "
      "AND a > $4 AND t.id = u.parent_id AND EXISTS (SELECT 1 FROM t AS u WHERE u.id = $5) "
      "ORDER BY a, a");
  EXPECT_EQ(shape.tables, (Tables{{"", "t", ""}, {"", "t", "u"}}));
  EXPECT_EQ(shape.columns, (Columns{{"t", "id", kJoin},
                                    {"u", "parent_id", kJoin},
                                    {"", "a", kEq},
                                    {"", "b", kRange},
                                    {"", "a", kRange},
                                    {"u", "id", kEq},
                                    {"", "a", kOrder}}));
}

TEST(QueryShape, IgnoresRelationsNamedOutsideFrom) {
  EXPECT_EQ(ShapeOf("SELECT * FROM t FOR UPDATE OF t").tables, (Tables{{"", "t", ""}}));
  EXPECT_EQ(ShapeOf("SELECT * INTO archive FROM t WHERE a = $1").tables, (Tables{{"", "t", ""}}));
  EXPECT_TRUE(ShapeOf("SELECT $1::int").tables.empty());
}

TEST(QueryShape, RefusesUpdate) {
  const Result<QueryShape> shape = ParseQueryShape("UPDATE t SET a = $1 WHERE id = $2");
  ASSERT_FALSE(shape.ok());
  EXPECT_EQ(shape.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(shape.error().message, "not a SELECT: UpdateStmt");
}

TEST(QueryShape, RefusesAnythingButExactlyOneStatement) {
  for (const char* sql : {"SELECT 1; SELECT 2", "", ";", "INSERT INTO t SELECT * FROM u"}) {
    const Result<QueryShape> shape = ParseQueryShape(sql);
    ASSERT_FALSE(shape.ok()) << sql;
    EXPECT_EQ(shape.error().code, ErrorCode::kInvalidArgument) << sql;
  }
  EXPECT_EQ(ParseQueryShape("SELECT 1; SELECT 2").error().message,
            "several statements (2), one expected");
}

TEST(QueryShape, ReportsParseFailureWithPosition) {
  const Result<QueryShape> shape = ParseQueryShape("SELECT * FROM WHERE id = $1");
  ASSERT_FALSE(shape.ok());
  EXPECT_EQ(shape.error().code, ErrorCode::kParseFailed);
  EXPECT_EQ(shape.error().message,
            "does not parse: syntax error at or near \"WHERE\" at position 15");

  const Result<QueryShape> nul = ParseQueryShape(std::string_view("SELECT 1\0; DROP", 15));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().code, ErrorCode::kParseFailed);
}

TEST(QueryShape, RefusesStatementNestedTooDeeply) {
  std::string sql = "SELECT * FROM t WHERE ";
  for (int i = 0; i < 3000; ++i) sql += "NOT ";
  sql += "a = $1";
  const Result<QueryShape> shape = ParseQueryShape(sql);
  ASSERT_FALSE(shape.ok());
  EXPECT_EQ(shape.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(shape.error().message.find("levels deep"), std::string::npos);
}

TEST(QueryShape, NamesEachColumnUse) {
  EXPECT_STREQ(ColumnUseName(ColumnUse::kEquality), "equality");
  EXPECT_STREQ(ColumnUseName(ColumnUse::kRange), "range");
  EXPECT_STREQ(ColumnUseName(ColumnUse::kJoin), "join");
  EXPECT_STREQ(ColumnUseName(ColumnUse::kOrderBy), "order_by");
}

}  // namespace
}  // namespace optischema::advisor
