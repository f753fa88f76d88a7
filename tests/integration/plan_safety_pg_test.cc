// The planning proof (pg/plan_safety.h) against a real PostgreSQL 15: what it lets through,
// the text it plans, and what it refuses, with the reasons.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pg/pg_session.h"
#include "pg/plan_probe.h"
#include "pg/plan_safety.h"
#include "tests/support/pg_cluster.h"

namespace optischema::applier {
namespace {

using testing::PgCluster;

class PlanSafetyPgTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = PgCluster::Start().release();
    cluster_->Exec(
        "CREATE TABLE t (a int, b text); CREATE SCHEMA app; CREATE TABLE app.u (a int);"
        "CREATE TABLE app.t (a int); CREATE VIEW v AS SELECT a FROM t;"
        "CREATE TABLE parent (a int) PARTITION BY RANGE (a);"
        "CREATE TABLE child PARTITION OF parent FOR VALUES FROM (0) TO (10);"
        "CREATE FUNCTION app.f(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';"
        "CREATE TABLE g (a int); CREATE INDEX g_f ON g (a) WHERE app.f(a) > 0;"
        "CREATE TYPE app.mood AS ENUM ('ok', 'sad'); CREATE TABLE e (m app.mood)");
    dsn_ = new std::string(cluster_->MonitoringConnectionString());
    cluster_->Exec(
        "GRANT USAGE ON SCHEMA app TO optischema_agent;"
        "GRANT SELECT ON ALL TABLES IN SCHEMA app TO optischema_agent");
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete dsn_;
  }

  void SetUp() override {
    pg::ConnectOptions options;
    options.dsn = *dsn_;
    auto session = pg::ConnectLibpq(options);
    ASSERT_TRUE(session.ok()) << session.error().ToString();
    session_ = std::move(session).value();
  }

  Result<pg::ProvenStatement> Prove(const std::string& sql,
                                    pg::PlanPurpose purpose = pg::PlanPurpose::kAdvice) {
    return pg::ProveSafeToPlan(*session_, sql, purpose);
  }

  std::string Refusal(const std::string& sql, pg::PlanPurpose purpose = pg::PlanPurpose::kAdvice) {
    auto proven = Prove(sql, purpose);
    if (proven.ok()) return "planned: " + proven->text();
    EXPECT_EQ(proven.error().code, ErrorCode::kInvalidArgument) << proven.error().ToString();
    return proven.error().message;
  }

  static PgCluster* cluster_;
  static std::string* dsn_;
  std::unique_ptr<pg::PgSession> session_;
};

PgCluster* PlanSafetyPgTest::cluster_ = nullptr;
std::string* PlanSafetyPgTest::dsn_ = nullptr;

TEST_F(PlanSafetyPgTest, UnqualifiedTablesAreWrittenWithTheirSchemaAndCteNamesAreLeftAlone) {
  auto proven =
      Prove("WITH w AS (SELECT a FROM t) SELECT * FROM w JOIN u ON u.a = w.a WHERE w.a = $1");
  ASSERT_TRUE(proven.ok()) << proven.error().ToString();
  EXPECT_EQ(proven->text(),
            "WITH w AS (SELECT a FROM \"public\".t) SELECT * FROM w JOIN \"app\".u ON u.a = w.a "
            "WHERE w.a = $1");
  EXPECT_EQ(proven->parameters(), 1);
  EXPECT_EQ(proven->relation_oids().size(), 2u);
  // The qualified text plans under the pinned search_path.
  auto cost = pg::GenericPlanCost(*session_, *proven);
  EXPECT_TRUE(cost.ok()) << cost.error().ToString();
}

TEST_F(PlanSafetyPgTest, AmbiguousMissingAndNonTableRelationsAreRefused) {
  EXPECT_NE(Refusal("SELECT a FROM t JOIN app.t x USING (a)").find("planned: "), std::string::npos);
  EXPECT_NE(Refusal("SELECT * FROM nowhere").find("not a table the agent can see"),
            std::string::npos);
  EXPECT_NE(Refusal("SELECT * FROM v").find("which is a view"), std::string::npos);
  cluster_->Exec(
      "CREATE SCHEMA app2; GRANT USAGE ON SCHEMA app2 TO optischema_agent;"
      "CREATE TABLE app.dup (a int); CREATE TABLE app2.dup (a int)");
  EXPECT_NE(Refusal("SELECT * FROM dup").find("several schemas"), std::string::npos);
  EXPECT_NE(Refusal("SELECT * FROM pg_class").find("system catalog pg_catalog.pg_class"),
            std::string::npos);
  EXPECT_NE(Refusal("SELECT * FROM information_schema.tables").find("system catalog"),
            std::string::npos);
}

TEST_F(PlanSafetyPgTest, PartitionsAreCheckedWithTheirParent) {
  EXPECT_NE(Refusal("SELECT * FROM parent WHERE a = $1").find("planned: "), std::string::npos);
  cluster_->Exec(
      "CREATE TABLE parent2 (a int) PARTITION BY RANGE (a);"
      "CREATE TABLE child2 PARTITION OF parent2 FOR VALUES FROM (0) TO (10);"
      "CREATE INDEX child2_f ON child2 (app.f(a))");
  const std::string reason = Refusal("SELECT * FROM parent2");
  EXPECT_NE(reason.find("public.child2, which has index public.child2_f"), std::string::npos)
      << reason;
}

TEST_F(PlanSafetyPgTest, IndexPredicateCallingAUserFunctionIsRefused) {
  const std::string reason = Refusal("SELECT * FROM g WHERE a = $1");
  EXPECT_NE(reason.find("depending on function app.f(integer), which is not built in"),
            std::string::npos)
      << reason;
}

TEST_F(PlanSafetyPgTest, EnumColumnsAreBuiltInEnoughButOtherUserTypesAreNot) {
  EXPECT_NE(Refusal("SELECT * FROM e WHERE m = $1").find("planned: "), std::string::npos);
  EXPECT_NE(Refusal("SELECT $1::app.mood").find("type app.mood, which is not built in"),
            std::string::npos);
}

TEST_F(PlanSafetyPgTest, QualifiedNamesOutsidePgCatalogAreRefusedWithoutAsking) {
  EXPECT_NE(Refusal("SELECT app.f(a) FROM t").find("function app.f, which is not built in"),
            std::string::npos);
  EXPECT_NE(Refusal("SELECT a FROM t WHERE a OPERATOR(app.=) 1").find("operator app.="),
            std::string::npos);
  EXPECT_NE(Refusal("SELECT a FROM t ORDER BY a USING OPERATOR(app.<)").find("operator app.<"),
            std::string::npos);
  EXPECT_NE(Refusal("SELECT a FROM t TABLESAMPLE app.sample (1)").find("TABLESAMPLE"),
            std::string::npos);
  EXPECT_NE(
      Refusal("SELECT pg_catalog.lower(b) FROM t WHERE a BETWEEN $1 AND $2").find("planned: "),
      std::string::npos);
}

TEST_F(PlanSafetyPgTest, RewritesMayCallOnlyImmutableFunctions) {
  EXPECT_NE(
      Refusal("SELECT a FROM t WHERE b = lower($1)", pg::PlanPurpose::kRewrite).find("planned"),
      std::string::npos);
  EXPECT_NE(
      Refusal("SELECT a FROM t WHERE a > extract(epoch FROM now())", pg::PlanPurpose::kRewrite)
          .find("which is not immutable"),
      std::string::npos);
  EXPECT_NE(Refusal("SELECT a FROM t WHERE a > extract(epoch FROM now())").find("planned"),
            std::string::npos);
  EXPECT_NE(Refusal("SELECT query_to_xml('SELECT 1', true, true, '')").find("runs a query"),
            std::string::npos);
}

TEST_F(PlanSafetyPgTest, OnlyOnePlainSelectIsEverProven) {
  EXPECT_FALSE(Prove("SELECT 1; SELECT 2").ok());
  EXPECT_FALSE(Prove("SELECT * FROM t FOR UPDATE").ok());
  EXPECT_FALSE(Prove("WITH d AS (DELETE FROM t RETURNING a) SELECT * FROM d").ok());
  EXPECT_FALSE(Prove("INSERT INTO t VALUES (1)").ok());
}

TEST_F(PlanSafetyPgTest, PlanningErrorsCarryTheSqlstateAndNoServerText) {
  auto proven = Prove("SELECT a FROM t WHERE a = CAST('SECRET-VALUE' AS int)");
  ASSERT_TRUE(proven.ok()) << proven.error().ToString();
  auto cost = pg::GenericPlanCost(*session_, *proven);
  ASSERT_FALSE(cost.ok());
  EXPECT_EQ(cost.error().sqlstate, "22P02");
  EXPECT_EQ(cost.error().message.find("SECRET-VALUE"), std::string::npos) << cost.error().message;
}

TEST_F(PlanSafetyPgTest, TheSessionSearchPathHoldsOnlyPgCatalogAndPgTemp) {
  auto shown = session_->Query("SHOW search_path");
  ASSERT_TRUE(shown.ok()) << shown.error().ToString();
  EXPECT_EQ(shown->rows.at(0).at(0).value_or(""), "pg_catalog, pg_temp");
}

TEST(StatementFingerprint, IgnoresConstantsAndSpacingButNotStructure) {
  EXPECT_EQ(pg::StatementFingerprint("SELECT a FROM t WHERE a = 1"),
            pg::StatementFingerprint("SELECT a  FROM t WHERE a = $1"));
  EXPECT_NE(pg::StatementFingerprint("SELECT a FROM t WHERE a = 1"),
            pg::StatementFingerprint("SELECT a FROM t WHERE b = 1"));
  EXPECT_EQ(pg::StatementFingerprint("SELECT ("), "");
}

}  // namespace
}  // namespace optischema::applier
