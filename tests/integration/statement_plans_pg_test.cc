// Plans of the top statements against a real PostgreSQL 15: no constant of a view, a column
// default, a partition bound or a CHECK constraint reaches a plan, and a plan is sent when its
// fingerprint changes (a new index turns a sequential scan into an index scan), then only its
// fingerprint while it stays the same.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "advisor/advisor.h"
#include "core/clock.h"
#include "protocol/advice_json.h"
#include "protocol/statement_plan_json.h"
#include "tests/support/advisor_fixtures.h"
#include "tests/support/pg_cluster.h"

namespace optischema::advisor {
namespace {

using nlohmann::json;
using testing::KeyedAdvisorOptions;
using testing::PgCluster;

class StatementPlansPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = PgCluster::Start();
    cluster_->Exec("CREATE EXTENSION pg_stat_statements");
    monitoring_dsn_ = cluster_->MonitoringConnectionString();
  }

  protocol::Advice Advise(Advisor& advisor) {
    return testing::AdviseOnce(advisor, monitoring_dsn_);
  }

  // The queryid of the statement whose text matches the LIKE `pattern`.
  int64_t QueryId(const std::string& pattern) {
    const std::string id =
        cluster_->QueryValue("SELECT queryid FROM pg_stat_statements WHERE query LIKE '" +
                             pattern + "' AND query NOT LIKE '%pg_stat_statements%' LIMIT 1");
    EXPECT_FALSE(id.empty()) << pattern;
    return id.empty() ? 0 : std::stoll(id);
  }

  // Runs `sql` `times` times, so that it is among the top statements.
  void Repeat(const std::string& sql, int times = 5) {
    for (int i = 0; i < times; ++i) cluster_->Exec(sql);
  }

  static const protocol::StatementPlan* PlanOf(const protocol::Advice& advice, int64_t queryid) {
    for (const protocol::StatementPlan& p : advice.plans) {
      if (p.queryid == queryid) return &p;
    }
    return nullptr;
  }

  // Whether a node of the tree is scanned with index `index`.
  static bool UsesIndex(const protocol::PlanNode& node, const std::string& index) {
    if (auto it = node.labels.find("Index Name"); it != node.labels.end() && it->second == index) {
      return true;
    }
    for (const protocol::PlanNode& child : node.plans) {
      if (UsesIndex(child, index)) return true;
    }
    return false;
  }

  SystemClock clock_;
  std::unique_ptr<PgCluster> cluster_;
  std::string monitoring_dsn_;
};

TEST_F(StatementPlansPgTest, NoSecretOfAViewDefaultPartitionBoundOrCheckReachesAPlan) {
  cluster_->Exec(
      "CREATE TABLE items (id int PRIMARY KEY, note text DEFAULT 'SECRET-DEFAULT-7', "
      "price int CHECK (price < 424242), kind int);"
      "INSERT INTO items SELECT g, 'n' || g, g % 1000, g % 500 FROM generate_series(1, 50000) g;"
      "CREATE VIEW visible_items AS SELECT * FROM items WHERE note <> 'SECRET-42';"
      "CREATE TABLE measures (id int, v int) PARTITION BY RANGE (id);"
      "CREATE TABLE measures_low PARTITION OF measures FOR VALUES FROM (MINVALUE) TO (777013);"
      "CREATE TABLE measures_high PARTITION OF measures FOR VALUES FROM (777013) TO (MAXVALUE);"
      "INSERT INTO measures SELECT g * 31, g FROM generate_series(1, 50000) g;"
      "ANALYZE");
  Repeat("SELECT i.note, m.v FROM items i JOIN measures m ON m.id = i.id "
         "WHERE i.kind = 7 AND i.price < 900 AND m.v > 10");
  Repeat("SELECT count(*) FROM visible_items WHERE kind = 3");
  const int64_t planned = QueryId("SELECT i.note, m.v FROM items i JOIN measures m%");
  const int64_t over_view = QueryId("%FROM visible_items%");

  Advisor advisor(KeyedAdvisorOptions(), clock_);
  const protocol::Advice advice = Advise(advisor);
  const protocol::StatementPlan* plan = PlanOf(advice, planned);
  ASSERT_NE(plan, nullptr) << protocol::AdviceToJson("postgres", advice);
  ASSERT_TRUE(plan->plan.has_value());
  EXPECT_EQ(plan->previous_fingerprint, std::nullopt);
  EXPECT_EQ(plan->fingerprint.size(), 16u);
  EXPECT_GT(plan->total_cost, 0);
  const std::string text = protocol::PlanNodeToJson(*plan->plan);
  EXPECT_NE(text.find("\"Relation Name\":\"measures_low\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"Schema\":\"public\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"Filter\""), std::string::npos) << text;

  // The statement over the view is not planned: planning a view could run what it calls.
  EXPECT_NE(over_view, 0);
  EXPECT_EQ(PlanOf(advice, over_view), nullptr);

  std::string plans;
  protocol::JsonWriter w(plans);
  w.BeginObject();
  protocol::WriteStatementPlans(w, advice.plans);
  w.EndObject();
  for (const char* secret : {"SECRET", "DEFAULT-7", "424242", "777013", "'"}) {
    EXPECT_EQ(plans.find(secret), std::string::npos) << secret << " in " << plans;
  }
}

TEST_F(StatementPlansPgTest, PlanIsSentWhenANewIndexChangesItAndOnlyItsFingerprintAfter) {
  cluster_->Exec(
      "CREATE TABLE t (id int, a int, payload text);"
      "INSERT INTO t SELECT g, g % 20000, md5(g::text) FROM generate_series(1, 200000) g;"
      "ANALYZE t");
  Repeat("SELECT id, payload FROM t WHERE a = 5");
  const int64_t queryid = QueryId("SELECT id, payload FROM t WHERE a = $1");

  Advisor advisor(KeyedAdvisorOptions(), clock_);
  const protocol::Advice first = Advise(advisor);
  const protocol::StatementPlan* before = PlanOf(first, queryid);
  ASSERT_NE(before, nullptr) << protocol::AdviceToJson("postgres", first);
  ASSERT_TRUE(before->plan.has_value());
  EXPECT_FALSE(UsesIndex(*before->plan, "t_a"));
  const std::string first_fingerprint = before->fingerprint;

  cluster_->Exec("CREATE INDEX t_a ON t (a); ANALYZE t");
  const protocol::Advice second = Advise(advisor);
  const protocol::StatementPlan* after = PlanOf(second, queryid);
  ASSERT_NE(after, nullptr);
  EXPECT_NE(after->fingerprint, first_fingerprint);
  EXPECT_EQ(after->previous_fingerprint, first_fingerprint);
  ASSERT_TRUE(after->plan.has_value());
  EXPECT_TRUE(UsesIndex(*after->plan, "t_a")) << protocol::PlanNodeToJson(*after->plan);
  EXPECT_LT(after->total_cost, before->total_cost);

  const protocol::Advice third = Advise(advisor);
  const protocol::StatementPlan* same = PlanOf(third, queryid);
  ASSERT_NE(same, nullptr);
  EXPECT_EQ(same->fingerprint, after->fingerprint);
  EXPECT_EQ(same->previous_fingerprint, after->fingerprint);
  EXPECT_FALSE(same->plan.has_value());
  const json wire = json::parse(protocol::AdviceToJson("postgres", third));
  bool listed = false;
  for (const json& p : wire["plans"]) {
    if (p["queryid"] == std::to_string(queryid)) {
      listed = true;
      EXPECT_FALSE(p.contains("plan")) << p.dump();
      EXPECT_EQ(p["fingerprint"], after->fingerprint);
    }
  }
  EXPECT_TRUE(listed) << wire["plans"].dump();
}

}  // namespace
}  // namespace optischema::advisor
