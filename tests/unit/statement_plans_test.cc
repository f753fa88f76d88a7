// Plans of the top statements without a database: real EXPLAIN (FORMAT JSON) outputs of
// PostgreSQL 15 anonymized (structure and estimates kept, unknown keys dropped, no constant of any
// kind left), the plan fingerprint, cutting oversize plans, and which plans are sent.

#include "advisor/statement_plans.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "cli/plan_tree.h"
#include "controlplane/plan_validation.h"
#include "protocol/advice_json.h"
#include "protocol/statement_plan_json.h"

namespace optischema::advisor {
namespace {

using nlohmann::json;
using protocol::PlanNode;

// A join over a view whose definition holds constants, with array, interval and casted constants.
constexpr char kJoinPlan[] = R"json([
  {
    "Plan": {
      "Node Type": "Limit", "Parallel Aware": false, "Async Capable": false,
      "Startup Cost": 1406.50, "Total Cost": 1406.51, "Plan Rows": 1, "Plan Width": 14,
      "Plans": [
        {
          "Node Type": "Sort", "Parent Relationship": "Outer", "Parallel Aware": false,
          "Async Capable": false, "Startup Cost": 1406.50, "Total Cost": 1406.51, "Plan Rows": 1,
          "Plan Width": 14, "Sort Key": ["(sum(o.qty)) DESC"],
          "Plans": [
            {
              "Node Type": "Aggregate", "Strategy": "Sorted", "Partial Mode": "Simple",
              "Parent Relationship": "Outer", "Parallel Aware": false, "Async Capable": false,
              "Startup Cost": 1406.47, "Total Cost": 1406.49, "Plan Rows": 1, "Plan Width": 14,
              "Group Key": ["items.note"],
              "Plans": [
                {
                  "Node Type": "Hash Join", "Parent Relationship": "Outer",
                  "Parallel Aware": false, "Async Capable": false, "Join Type": "Inner",
                  "Startup Cost": 481.28, "Total Cost": 1406.46, "Plan Rows": 1, "Plan Width": 10,
                  "Inner Unique": true, "Hash Cond": "(o.item_id = items.id)",
                  "Plans": [
                    {
                      "Node Type": "Seq Scan", "Parent Relationship": "Outer",
                      "Parallel Aware": false, "Async Capable": false, "Relation Name": "orders",
                      "Alias": "o", "Startup Cost": 0.00, "Total Cost": 896.00,
                      "Plan Rows": 11112, "Plan Width": 8,
                      "Filter": "(qty = ANY ('{4,5}'::integer[]))"
                    },
                    {
                      "Node Type": "Hash", "Parent Relationship": "Inner",
                      "Parallel Aware": false, "Async Capable": false, "Startup Cost": 481.27,
                      "Total Cost": 481.27, "Plan Rows": 1, "Plan Width": 10,
                      "Plans": [
                        {
                          "Node Type": "Index Scan", "Parent Relationship": "Outer",
                          "Parallel Aware": false, "Async Capable": false,
                          "Scan Direction": "Forward", "Index Name": "items_created",
                          "Relation Name": "items", "Alias": "items", "Startup Cost": 0.29,
                          "Total Cost": 481.27, "Plan Rows": 1, "Plan Width": 10,
                          "Index Cond": "(created > (now() - '7 days'::interval))",
                          "Filter": "((note <> 'SECRET-42'::text) AND (price > 31337.5) AND (tags && '{1,2,3}'::integer[]))"
                        }
                      ]
                    }
                  ]
                }
              ]
            }
          ]
        }
      ]
    }
  }
])json";

// A parameter next to casted string and date constants.
constexpr char kIndexScanPlan[] = R"json([
  {
    "Plan": {
      "Node Type": "Index Scan", "Parallel Aware": false, "Async Capable": false,
      "Scan Direction": "Forward", "Index Name": "items_created", "Relation Name": "items",
      "Alias": "items", "Startup Cost": 0.29, "Total Cost": 4.31, "Plan Rows": 1,
      "Plan Width": 48, "Index Cond": "(created < '2024-01-01'::date)",
      "Filter": "((id = $1) AND (note = 'abc'::text))"
    }
  }
])json";

// Ordering items with a direction, a collation and NULLS FIRST; a LIKE pattern.
constexpr char kSortPlan[] = R"json([
  {
    "Plan": {
      "Node Type": "Sort", "Parallel Aware": false, "Async Capable": false,
      "Startup Cost": 12.05, "Total Cost": 12.05, "Plan Rows": 1, "Plan Width": 80,
      "Sort Key": ["created DESC", "note COLLATE \"C\" NULLS FIRST"],
      "Plans": [
        {
          "Node Type": "Index Scan", "Parent Relationship": "Outer", "Parallel Aware": false,
          "Async Capable": false, "Scan Direction": "Backward", "Index Name": "items_created",
          "Relation Name": "items", "Alias": "items", "Startup Cost": 0.29, "Total Cost": 12.04,
          "Plan Rows": 1, "Plan Width": 80, "Index Cond": "((created >= $1) AND (created <= $2))",
          "Filter": "((price)::text ~~ '12%'::text)"
        }
      ]
    }
  }
])json";

// A filter naming a subplan (not SQL) next to timestamp and interval constants.
constexpr char kSubPlan[] = R"json([
  {
    "Plan": {
      "Node Type": "Seq Scan", "Parallel Aware": false, "Async Capable": false,
      "Relation Name": "items", "Alias": "items", "Startup Cost": 965.61, "Total Cost": 1532.61,
      "Plan Rows": 10000, "Plan Width": 4,
      "Filter": "((NOT (hashed SubPlan 1)) AND (created > ('2020-05-05 10:00:00+00'::timestamp with time zone - '1 mon 2 days'::interval)))",
      "Plans": [
        {
          "Node Type": "Seq Scan", "Parent Relationship": "SubPlan", "Subplan Name": "SubPlan 1",
          "Parallel Aware": false, "Async Capable": false, "Relation Name": "orders",
          "Alias": "orders", "Startup Cost": 0.00, "Total Cost": 896.00, "Plan Rows": 27843,
          "Plan Width": 4, "Filter": "(qty > 3)", "Output": ["item_id"],
          "Secret Key": "SECRET-99"
        }
      ]
    }
  }
])json";

PlanNode Anonymized(const char* explain, const RelationSchemas& schemas = {}) {
  auto plan = AnonymizePlan(explain, schemas);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  return plan.ok() ? *plan : PlanNode{};
}

// Every expression string of the tree.
void CollectExpressions(const PlanNode& node, std::vector<std::optional<std::string>>& out) {
  for (const auto& [key, expression] : node.expressions) {
    out.insert(out.end(), expression.values.begin(), expression.values.end());
  }
  for (const PlanNode& child : node.plans) CollectExpressions(child, out);
}

// No literal of any kind: no quote, and no digit once the $n parameters are taken out.
void ExpectNoConstant(const PlanNode& plan) {
  std::vector<std::optional<std::string>> expressions;
  CollectExpressions(plan, expressions);
  for (const std::optional<std::string>& e : expressions) {
    if (!e) continue;
    EXPECT_EQ(e->find('\''), std::string::npos) << *e;
    const std::string rest = std::regex_replace(*e, std::regex(R"(\$[0-9]+)"), "");
    EXPECT_FALSE(std::regex_search(rest, std::regex("[0-9]"))) << *e;
  }
}

const PlanNode& Child(const PlanNode& node, std::size_t i) { return node.plans.at(i); }

std::optional<std::string> Expression(const PlanNode& node, const std::string& key,
                                      std::size_t i = 0) {
  return node.expressions.at(key).values.at(i);
}

TEST(StatementPlans, AnonymizedPlanKeepsTreeAndEstimatesAndNoStringArrayIntervalOrNumberConstant) {
  const PlanNode plan = Anonymized(kJoinPlan);
  const std::string text = protocol::PlanNodeToJson(plan);
  for (const char* secret : {"SECRET", "31337", "{1,2,3}", "{4,5}", "7 days", "interval'"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
  }
  ExpectNoConstant(plan);

  EXPECT_EQ(plan.labels.at("Node Type"), "Limit");
  EXPECT_DOUBLE_EQ(plan.estimates.at("Total Cost"), 1406.51);
  EXPECT_DOUBLE_EQ(plan.estimates.at("Startup Cost"), 1406.50);
  EXPECT_FALSE(plan.flags.at("Parallel Aware"));
  const PlanNode& aggregate = Child(Child(plan, 0), 0);
  EXPECT_EQ(aggregate.labels.at("Strategy"), "Sorted");
  EXPECT_EQ(aggregate.labels.at("Partial Mode"), "Simple");
  EXPECT_EQ(Expression(aggregate, "Group Key"), "items.note");
  EXPECT_TRUE(aggregate.expressions.at("Group Key").list);
  const PlanNode& join = Child(aggregate, 0);
  EXPECT_EQ(join.labels.at("Join Type"), "Inner");
  EXPECT_EQ(Expression(join, "Hash Cond"), "(o.item_id = items.id)");
  ASSERT_EQ(join.plans.size(), 2u);
  const PlanNode& orders = Child(join, 0);
  EXPECT_EQ(orders.labels.at("Relation Name"), "orders");
  EXPECT_EQ(orders.labels.at("Alias"), "o");
  EXPECT_DOUBLE_EQ(orders.estimates.at("Plan Rows"), 11112);
  EXPECT_DOUBLE_EQ(orders.estimates.at("Plan Width"), 8);
  EXPECT_EQ(Expression(orders, "Filter"), "(qty = ANY ($1::integer[]))");
  const PlanNode& scan = Child(Child(join, 1), 0);
  EXPECT_EQ(scan.labels.at("Index Name"), "items_created");
  EXPECT_EQ(scan.labels.at("Scan Direction"), "Forward");
  EXPECT_EQ(scan.labels.at("Parent Relationship"), "Outer");
  ASSERT_TRUE(Expression(scan, "Filter").has_value());
  EXPECT_NE(Expression(scan, "Filter")->find("note <>"), std::string::npos);
  ASSERT_TRUE(Expression(scan, "Index Cond").has_value());
  EXPECT_NE(Expression(scan, "Index Cond")->find("::interval"), std::string::npos);
}

TEST(StatementPlans, CastedConstantsGoAndParametersStay) {
  const PlanNode plan = Anonymized(kIndexScanPlan);
  ExpectNoConstant(plan);
  const std::string text = protocol::PlanNodeToJson(plan);
  for (const char* secret : {"abc", "2024"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
  }
  ASSERT_TRUE(Expression(plan, "Filter").has_value());
  EXPECT_NE(Expression(plan, "Filter")->find("id = $1"), std::string::npos);
  EXPECT_NE(Expression(plan, "Index Cond")->find("::date"), std::string::npos);
}

TEST(StatementPlans, OrderingItemsKeepDirectionCollationAndNullsOrder) {
  const PlanNode plan = Anonymized(kSortPlan);
  ExpectNoConstant(plan);
  EXPECT_EQ(Expression(plan, "Sort Key", 0), "created DESC");
  EXPECT_EQ(Expression(plan, "Sort Key", 1), "note COLLATE \"C\" NULLS FIRST");
  EXPECT_EQ(protocol::PlanNodeToJson(plan).find("12%"), std::string::npos);
}

TEST(StatementPlans, ExpressionThatCannotBeAnonymizedIsNullAndUnknownKeysAreDropped) {
  const PlanNode plan = Anonymized(kSubPlan);
  EXPECT_EQ(Expression(plan, "Filter"), std::nullopt);
  const std::string text = protocol::PlanNodeToJson(plan);
  for (const char* gone :
       {"2020", "1 mon", "Async Capable", "Subplan Name", "Output", "Secret Key", "SECRET"}) {
    EXPECT_EQ(text.find(gone), std::string::npos) << gone << " in " << text;
  }
  EXPECT_EQ(Child(plan, 0).labels.at("Parent Relationship"), "SubPlan");
  EXPECT_EQ(Expression(Child(plan, 0), "Filter"), "(qty > $1)");
  const json wire = json::parse(text);
  EXPECT_TRUE(wire["Filter"].is_null());
  EXPECT_EQ(wire["Plans"][0]["Relation Name"], "orders");
}

TEST(StatementPlans, SchemaComesFromTheStatementsRelations) {
  const PlanNode plan = Anonymized(kSubPlan, {{"items", "shop"}});
  EXPECT_EQ(plan.labels.at("Schema"), "shop");
  EXPECT_FALSE(Child(plan, 0).labels.contains("Schema"));  // not among the known names
}

TEST(StatementPlans, TextThatIsNoPlanIsRefused) {
  for (const char* text : {"", "not json", "{}", "[]", "[{\"Plan\": 3}]"}) {
    EXPECT_FALSE(AnonymizePlan(text, {}).ok()) << text;
  }
}

TEST(StatementPlans, FingerprintIgnoresEstimatesAndFollowsNodeTypesIndexesAndSchemas) {
  const PlanNode plan = Anonymized(kJoinPlan, {{"items", "public"}, {"orders", "public"}});
  const std::string fingerprint = PlanFingerprint(plan);
  EXPECT_EQ(fingerprint.size(), 16u);
  EXPECT_TRUE(std::regex_match(fingerprint, std::regex("[0-9a-f]{16}")));

  PlanNode drifted = plan;
  drifted.estimates["Total Cost"] = 99999;
  drifted.plans[0].estimates["Plan Rows"] = 12345;
  drifted.plans[0].expressions.clear();
  EXPECT_EQ(PlanFingerprint(drifted), fingerprint);

  PlanNode merge = plan;
  merge.plans[0].plans[0].plans[0].labels["Node Type"] = "Merge Join";
  EXPECT_NE(PlanFingerprint(merge), fingerprint);

  PlanNode other_index = plan;
  other_index.plans[0].plans[0].plans[0].plans[1].plans[0].labels["Index Name"] = "items_pkey";
  EXPECT_NE(PlanFingerprint(other_index), fingerprint);

  PlanNode other_schema = plan;
  other_schema.plans[0].plans[0].plans[0].plans[0].labels["Schema"] = "archive";
  EXPECT_NE(PlanFingerprint(other_schema), fingerprint);

  PlanNode left = plan;
  left.plans[0].plans[0].plans[0].labels["Join Type"] = "Left";
  EXPECT_NE(PlanFingerprint(left), fingerprint);
}

PlanNode Node(const std::string& type) {
  PlanNode node;
  node.labels["Node Type"] = type;
  node.estimates["Total Cost"] = 1;
  return node;
}

TEST(StatementPlans, OversizePlanIsCutToTheByteBoundKeepingItsRoot) {
  PlanNode append = Node("Append");
  for (int i = 0; i < 5000; ++i) {
    PlanNode scan = Node("Seq Scan");
    scan.labels["Relation Name"] = "events_p" + std::to_string(i);
    scan.expressions["Filter"] = {false, {"(account = $1)"}};
    append.plans.push_back(std::move(scan));
  }
  ASSERT_GT(protocol::PlanNodeToJson(append).size(), protocol::kMaxPlanBytes);
  EXPECT_TRUE(CutPlan(append));
  EXPECT_LE(protocol::PlanNodeToJson(append).size(), protocol::kMaxPlanBytes);
  EXPECT_GT(append.plans.size(), 100u);
  EXPECT_LT(append.plans.size(), 5000u);
  EXPECT_EQ(append.labels.at("Node Type"), "Append");
  EXPECT_EQ(append.plans[0].labels.at("Relation Name"), "events_p0");

  PlanNode huge_root = Node("Result");
  huge_root.expressions["One-Time Filter"] = {false, {std::string(2 * protocol::kMaxPlanBytes, 'x')}};
  EXPECT_TRUE(CutPlan(huge_root));
  EXPECT_LE(protocol::PlanNodeToJson(huge_root).size(), protocol::kMaxPlanBytes);
}

TEST(StatementPlans, DeepPlanIsCutAtTheDepthBoundAndASmallOneIsLeftAlone) {
  PlanNode root = Node("Nested Loop");
  PlanNode* at = &root;
  for (int i = 0; i < 40; ++i) {
    at->plans.push_back(Node("Nested Loop"));
    at = &at->plans.back();
  }
  EXPECT_TRUE(CutPlan(root));
  std::size_t depth = 1;
  for (const PlanNode* n = &root; !n->plans.empty(); n = &n->plans[0]) ++depth;
  EXPECT_EQ(depth, protocol::kMaxPlanDepth);

  PlanNode small = Anonymized(kJoinPlan);
  const PlanNode before = small;
  EXPECT_FALSE(CutPlan(small));
  EXPECT_EQ(small, before);
}

PlannedStatement Planned(int64_t queryid, const std::string& fingerprint) {
  PlannedStatement p;
  p.queryid = queryid;
  p.fingerprint = fingerprint;
  p.plan = Node("Seq Scan");
  p.total_cost = 42;
  return p;
}

TEST(StatementPlans, PlanIsSentWhenNewOrChangedOrOnAResendAndOnlyItsFingerprintOtherwise) {
  StatementPlansResult result;
  result.top = {1, 2, 3, 4};
  result.planned = {Planned(1, "aaaaaaaaaaaaaaaa"), Planned(2, "bbbbbbbbbbbbbbbb"),
                    Planned(3, "cccccccccccccccc")};
  const std::map<int64_t, std::string> last_sent = {
      {2, "bbbbbbbbbbbbbbbb"}, {3, "0000000000000000"}, {4, "dddddddddddddddd"},
      {9, "9999999999999999"}};

  const PlanDelivery delivery = DeliverPlans(result, last_sent, /*resend_all=*/false);
  ASSERT_EQ(delivery.plans.size(), 3u);
  EXPECT_EQ(delivery.plans[0].previous_fingerprint, std::nullopt);  // new
  EXPECT_TRUE(delivery.plans[0].plan.has_value());
  EXPECT_EQ(delivery.plans[1].previous_fingerprint, "bbbbbbbbbbbbbbbb");  // unchanged
  EXPECT_FALSE(delivery.plans[1].plan.has_value());
  EXPECT_DOUBLE_EQ(delivery.plans[1].total_cost, 42);
  EXPECT_EQ(delivery.plans[2].previous_fingerprint, "0000000000000000");  // changed
  EXPECT_TRUE(delivery.plans[2].plan.has_value());
  // Statement 4 was not planned this run: its last fingerprint is kept; 9 left the top ones.
  const std::map<int64_t, std::string> remembered = {{1, "aaaaaaaaaaaaaaaa"},
                                                     {2, "bbbbbbbbbbbbbbbb"},
                                                     {3, "cccccccccccccccc"},
                                                     {4, "dddddddddddddddd"}};
  EXPECT_EQ(delivery.remembered, remembered);

  const PlanDelivery resend = DeliverPlans(result, last_sent, /*resend_all=*/true);
  for (const protocol::StatementPlan& p : resend.plans) EXPECT_TRUE(p.plan.has_value());
}

TEST(StatementPlans, AdviceJsonCarriesThePlansMember) {
  protocol::Advice advice;
  protocol::StatementPlan with_plan;
  with_plan.queryid = -12;
  with_plan.fingerprint = "0123456789abcdef";
  with_plan.plan = Anonymized(kIndexScanPlan);
  with_plan.total_cost = 4.31;
  protocol::StatementPlan without;
  without.queryid = 7;
  without.fingerprint = "fedcba9876543210";
  without.previous_fingerprint = "fedcba9876543210";
  advice.plans = {with_plan, without};
  const json wire = json::parse(protocol::AdviceToJson("shop", advice));
  ASSERT_EQ(wire["plans"].size(), 2u);
  EXPECT_EQ(wire["plans"][0]["queryid"], "-12");
  EXPECT_TRUE(wire["plans"][0]["previous_fingerprint"].is_null());
  EXPECT_EQ(wire["plans"][0]["plan"]["Index Name"], "items_created");
  EXPECT_EQ(wire["plans"][0]["plan"]["Total Cost"], 4.31);
  EXPECT_EQ(wire["plans"][0]["truncated"], false);
  EXPECT_EQ(wire["plans"][1]["previous_fingerprint"], "fedcba9876543210");
  EXPECT_FALSE(wire["plans"][1].contains("plan"));
}

TEST(StatementPlans, PlanTreePrintsNodesRelationsCostsAndAnonymizedConditions) {
  const std::string tree = cli::FormatPlanTree(Anonymized(kSubPlan, {{"items", "shop"}}));
  EXPECT_EQ(tree,
            "Seq Scan on shop.items  (cost=965.61..1532.61 rows=10000 width=4)\n"
            "  Filter: (not shown)\n"
            "  ->  Seq Scan on orders  (cost=0.00..896.00 rows=27843 width=4)\n"
            "        Filter: (qty > $1)\n");
}

TEST(StatementPlans, ControlPlaneAcceptsTheAgentsPlansAndRefusesUnknownKeysDepthAndBadIds) {
  protocol::Advice advice;
  protocol::StatementPlan entry;
  entry.queryid = -12;
  entry.fingerprint = "0123456789abcdef";
  entry.plan = Anonymized(kJoinPlan);
  entry.total_cost = 1406.51;
  advice.plans = {entry};
  const json good = json::parse(protocol::AdviceToJson("shop", advice))["plans"];
  EXPECT_TRUE(controlplane::CheckStatementPlans(good).ok());

  json unknown = good;
  unknown[0]["plan"]["Output"] = json::array({"secret"});
  EXPECT_FALSE(controlplane::CheckStatementPlans(unknown).ok());

  json bad_id = good;
  bad_id[0]["queryid"] = "12x";
  EXPECT_FALSE(controlplane::CheckStatementPlans(bad_id).ok());

  json bad_fingerprint = good;
  bad_fingerprint[0]["previous_fingerprint"] = "XYZ";
  EXPECT_FALSE(controlplane::CheckStatementPlans(bad_fingerprint).ok());

  json deep = json::object({{"Node Type", "Result"}});
  for (std::size_t i = 0; i < protocol::kMaxPlanDepth; ++i) {
    deep = json::object({{"Node Type", "Nested Loop"}, {"Plans", json::array({deep})}});
  }
  json too_deep = good;
  too_deep[0]["plan"] = deep;
  EXPECT_FALSE(controlplane::CheckStatementPlans(too_deep).ok());
}

}  // namespace
}  // namespace optischema::advisor
