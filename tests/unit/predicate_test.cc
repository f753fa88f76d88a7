#include "pg/predicate.h"

#include <gtest/gtest.h>

namespace optischema::applier {
namespace {

TEST(Predicate,
     ComparisonsAndBooleanOperatorsAreReEmittedWithQuotedIdentifiersAndCatalogOperators) {
  auto p = pg::CheckPredicate(
      "status = 'open' AND (amount > 10 OR archived IS NOT NULL) AND NOT deleted");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->sql,
            "((\"status\" OPERATOR(pg_catalog.=) 'open') AND ((\"amount\" OPERATOR(pg_catalog.>) "
            "10) OR (\"archived\" IS NOT NULL)) AND (NOT \"deleted\"))");
  EXPECT_EQ(p->columns, (std::vector<std::string>{"status", "amount", "archived", "deleted"}));
}

TEST(Predicate, InListsBecomeCatalogComparisonsAndCastsAndStringQuotesAreRebuilt) {
  auto p = pg::CheckPredicate(
      "kind IN (1, 2) AND created_at >= '2026-01-01'::date AND note <> 'it''s' AND "
      "flag NOT IN (3, 4) AND b != 5");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->sql,
            "(((\"kind\" OPERATOR(pg_catalog.=) 1) OR (\"kind\" OPERATOR(pg_catalog.=) 2)) AND "
            "(\"created_at\" OPERATOR(pg_catalog.>=) CAST('2026-01-01' AS pg_catalog.\"date\")) "
            "AND (\"note\" OPERATOR(pg_catalog.<>) 'it''s') AND ((\"flag\" OPERATOR(pg_catalog.<>) "
            "3) AND (\"flag\" OPERATOR(pg_catalog.<>) 4)) AND (\"b\" OPERATOR(pg_catalog.<>) 5))");
}

TEST(Predicate, ReEmittedPredicateIsAcceptedAndReEmittedUnchanged) {
  auto p = pg::CheckPredicate("kind IN (1, 2) AND note <> 'x'");
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto again = pg::CheckPredicate(p->sql);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->sql, p->sql);
  EXPECT_FALSE(pg::CheckPredicate("a OPERATOR(public.=) 1").ok());
}

TEST(Predicate, FunctionCallIsRefused) {
  auto p = pg::CheckPredicate("lower(email) = 'x'");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message, "where: function calls are not allowed");
}

TEST(Predicate, InjectionAttemptsAreRefused) {
  for (const char* where :
       {"true) ; DROP TABLE t; --", "a = 1) UNION SELECT 1 FROM t WHERE (true", "a = (SELECT 1)",
        "pg_sleep(10) IS NULL", "t.a = 1", "a ~ 'x'", "a = $1", "a::regclass = 'x'", ""}) {
    EXPECT_FALSE(pg::CheckPredicate(where).ok()) << where;
  }
}

}  // namespace
}  // namespace optischema::applier
