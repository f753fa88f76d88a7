#include "applier/predicate.h"

#include <gtest/gtest.h>

namespace optischema::applier {
namespace {

TEST(Predicate, ComparisonsAndBooleanOperatorsAreReEmittedWithQuotedIdentifiers) {
  auto p =
      CheckPredicate("status = 'open' AND (amount > 10 OR archived IS NOT NULL) AND NOT deleted");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->sql,
            "((\"status\" = 'open') AND ((\"amount\" > 10) OR (\"archived\" IS NOT NULL)) AND "
            "(NOT \"deleted\"))");
  EXPECT_EQ(p->columns, (std::vector<std::string>{"status", "amount", "archived", "deleted"}));
}

TEST(Predicate, InListsCastsAndStringQuotesAreRebuilt) {
  auto p =
      CheckPredicate("kind IN (1, 2) AND created_at >= '2026-01-01'::date AND note <> 'it''s'");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->sql,
            "((\"kind\" IN (1, 2)) AND (\"created_at\" >= CAST('2026-01-01' AS "
            "pg_catalog.\"date\")) AND (\"note\" <> 'it''s'))");
}

TEST(Predicate, FunctionCallIsRefused) {
  auto p = CheckPredicate("lower(email) = 'x'");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message, "where: function calls are not allowed");
}

TEST(Predicate, InjectionAttemptsAreRefused) {
  for (const char* where :
       {"true) ; DROP TABLE t; --", "a = 1) UNION SELECT 1 FROM t WHERE (true", "a = (SELECT 1)",
        "pg_sleep(10) IS NULL", "t.a = 1", "a ~ 'x'", "a = $1", "a::regclass = 'x'", ""}) {
    EXPECT_FALSE(CheckPredicate(where).ok()) << where;
  }
}

}  // namespace
}  // namespace optischema::applier
