#include "pg/agent_marker.h"

#include <gtest/gtest.h>

namespace optischema::pg {
namespace {

TEST(AgentMarker, GoesAfterTheFirstWordWhereEveryServerKeepsIt) {
  EXPECT_EQ(MarkStatement("SELECT 1"), "SELECT /* optischema-agent */ 1");
  EXPECT_EQ(MarkStatement("COPY (SELECT 1) TO STDOUT"),
            "COPY /* optischema-agent */ (SELECT 1) TO STDOUT");
  EXPECT_EQ(MarkStatement("BEGIN"), "BEGIN /* optischema-agent */");
  EXPECT_EQ(MarkStatement("(SELECT 1)"), "/* optischema-agent */ (SELECT 1)");
}

TEST(AgentMarker, MarkedTextsAreRecognisedWhereverTheServerKeptThemAndOthersAreNot) {
  for (const char* sql : {"SELECT dealloc FROM pg_stat_statements_info", "BEGIN",
                          "COPY (SELECT 1) TO STDOUT", "(SELECT 1)"}) {
    EXPECT_TRUE(IsMarkedStatement(MarkStatement(sql))) << sql;
  }
  EXPECT_TRUE(IsMarkedStatement("  /* optischema-agent */ SELECT $1"));  // kept in front (≤ 17)
  EXPECT_TRUE(IsMarkedStatement("SELECT\n  /* optischema-agent */ $1"));
  EXPECT_FALSE(IsMarkedStatement("SELECT $1 /* optischema-agent */"));
  EXPECT_FALSE(IsMarkedStatement("SELECT a, /* optischema-agent */ b FROM t"));
  EXPECT_FALSE(IsMarkedStatement("SELECT/* optischema-agent */1"));
  EXPECT_FALSE(IsMarkedStatement("SELECT 1"));
  EXPECT_FALSE(IsMarkedStatement(""));
}

TEST(AgentMarker, SqlConditionMatchesTheSameTextsWithoutABackslash) {
  const std::string condition = MarkedStatementCondition("s.query");
  EXPECT_EQ(condition.find('\\'), std::string::npos);
  EXPECT_NE(condition.find("s.query OPERATOR(pg_catalog.~) '^"), std::string::npos);
  EXPECT_NE(condition.find("/[*] optischema-agent [*]/"), std::string::npos);
}

}  // namespace
}  // namespace optischema::pg
