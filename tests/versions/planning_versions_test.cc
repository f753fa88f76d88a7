// Planning on each PostgreSQL major of the version matrix (OPTISCHEMA_TEST_PG_MAJOR): EXPLAIN
// (GENERIC_PLAN) on 16 and later, PREPARE under force_generic_plan before, both in a read-only
// transaction that leaves nothing behind, and neither able to run a second statement.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "pg/plan_probe.h"
#include "pg/plan_safety.h"
#include "pg/query_rows.h"
#include "tests/support/pg_cluster.h"

namespace optischema::testing {
namespace {

class PlanningVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = PgCluster::Start();
    cluster_->Exec(
        "CREATE TABLE t (a int, b text); INSERT INTO t SELECT g, 'v' || g FROM "
        "generate_series(1, 1000) g; ANALYZE t");
    Connect();
  }

  void Connect() {
    pg::ConnectOptions connect;
    connect.dsn = cluster_->MonitoringConnectionString();
    connect.mode = pg::SessionMode::kReadOnly;
    auto session = pg::ConnectLibpq(connect);
    if (!session.ok()) throw std::runtime_error(session.error().ToString());
    session_ = std::move(session).value();
  }

  pg::ProvenStatement Prove(const std::string& sql) {
    auto proven = pg::ProveSafeToPlan(*session_, sql, pg::PlanPurpose::kAdvice);
    if (!proven.ok()) throw std::runtime_error(proven.error().ToString());
    return std::move(proven).value();
  }

  std::string SessionValue(const std::string& sql) {
    auto rows = pg::QueryRows(*session_, sql);
    if (!rows.ok()) throw std::runtime_error(rows.error().ToString());
    return rows->at(0).at(0).value_or("");
  }

  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<pg::PgSession> session_;
};

TEST_F(PlanningVersionsTest, GenericPlanComesFromExplainGenericPlanOn16AndFromPrepareBefore) {
  const pg::ProvenStatement select = Prove("SELECT b FROM t WHERE a = $1");
  const std::string timeout_before = SessionValue("SHOW statement_timeout");
  EXPECT_EQ(pg::UsesExplainGenericPlan(session_->ServerVersionNum(), select),
            cluster_->major() >= 16);

  auto plan = pg::GenericPlanJson(*session_, select);
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  EXPECT_NE(plan->find("\"Node Type\": \"Seq Scan\""), std::string::npos) << *plan;
  EXPECT_NE(plan->find("$1"), std::string::npos) << "a generic plan keeps the parameter: " << *plan;
  auto cost = pg::GenericPlanCost(*session_, select, std::chrono::milliseconds(4321));
  ASSERT_TRUE(cost.ok()) << cost.error().ToString();
  EXPECT_GT(*cost, 0);

  // Nothing is left in the session: no transaction, no prepared statement.
  EXPECT_EQ(SessionValue("SELECT count(*) FROM pg_catalog.pg_prepared_statements"), "0");
  // The planning transaction's SET LOCAL statement_timeout ended with it.
  EXPECT_EQ(SessionValue("SHOW statement_timeout"), timeout_before);
}

TEST_F(PlanningVersionsTest, ParameterOfUnknownTypeIsPlannedOnlyWithExplainGenericPlan) {
  const pg::ProvenStatement select = Prove("SELECT a FROM t WHERE $1 IS NULL");
  auto cost = pg::GenericPlanCost(*session_, select);
  if (cluster_->major() >= 16) {
    ASSERT_TRUE(cost.ok()) << cost.error().ToString();
  } else {
    ASSERT_FALSE(cost.ok());
    EXPECT_EQ(cost.error().sqlstate, "42P18");  // PREPARE cannot determine the parameter's type
    EXPECT_EQ(cost.error().message.find("$1"), std::string::npos) << "the agent's own words only";
  }
}

TEST_F(PlanningVersionsTest, PlanningRunsOneStatementOnlyWhateverTheServerSettings) {
  cluster_->Exec("ALTER DATABASE postgres SET standard_conforming_strings = off");
  Connect();
  // With standard_conforming_strings off, this text would be several statements; its ';' keeps it
  // on the PREPARE path, whose extended protocol takes one statement only, on every major.
  const pg::ProvenStatement attack = Prove(
      "SELECT 'x\\', ' ; COMMIT; START TRANSACTION READ WRITE; CREATE TABLE pwned (); COMMIT; "
      "--' AS y");
  EXPECT_FALSE(pg::UsesExplainGenericPlan(session_->ServerVersionNum(), attack));
  (void)pg::GenericPlanCost(*session_, attack);
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname = 'pwned'"), "0");
}

}  // namespace
}  // namespace optischema::testing
