#pragma once

// The plan of one of the advisor's top statements as the advice carries it (advice.h, `plans`):
// the generic plan's tree with only the keys below kept, every expression anonymized, and a
// fingerprint of its shape. Plain data; the JSON lives in statement_plan_json.cc.
//
// Wire form of a node: the kept keys by EXPLAIN (FORMAT JSON)'s own names, with the label keys'
// strings, the estimates' numbers, the flags' booleans, each expression key's anonymized string
// (or a list of them for the list keys, such as "Sort Key"; null where a string could not be
// anonymized), and "Plans": the child nodes, when there are any.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace optischema::protocol {

// Bounds of one plan: the agent cuts a plan past them (its `truncated` is then true) and the
// control plane refuses a snapshot whose plans pass them.
inline constexpr std::size_t kMaxPlanBytes = 64 * 1024;  // the plan's compact JSON
inline constexpr std::size_t kMaxPlanDepth = 24;         // nodes from the root to a leaf, both in
inline constexpr std::size_t kMaxStatementPlans = 1000;  // advisor.max_statements at most

// The keys of a plan node that are kept; every other key EXPLAIN writes is dropped.
// Labels: names and kinds PostgreSQL writes (node kinds, relation, alias and index names).
inline constexpr std::string_view kPlanLabelKeys[] = {
    "Node Type",  "Parent Relationship", "Relation Name", "Schema",       "Alias",
    "Index Name", "Join Type",           "Strategy",      "Scan Direction", "Partial Mode"};
// Estimates: the planner's numbers.
inline constexpr std::string_view kPlanEstimateKeys[] = {"Startup Cost", "Total Cost", "Plan Rows",
                                                         "Plan Width"};
inline constexpr std::string_view kPlanFlagKeys[] = {"Parallel Aware"};
// Expressions: kept only anonymized (they may hold constants of views, column defaults,
// partition bounds or CHECK constraints). The ordering keys hold ORDER BY items.
inline constexpr std::string_view kPlanOrderingKeys[] = {"Sort Key", "Presorted Key"};
inline constexpr std::string_view kPlanExpressionKeys[] = {
    "Sort Key",    "Presorted Key", "Group Key",  "Hash Cond",       "Index Cond",
    "Filter",      "Recheck Cond",  "Join Filter", "Merge Cond",     "One-Time Filter",
    "TID Cond",    "Order By",      "Cache Key",  "Run Condition",   "Hash Key"};
inline constexpr std::string_view kPlanChildrenKey = "Plans";

struct PlanExpression {
  bool list = false;  // EXPLAIN wrote a list of expressions (Sort Key, Group Key)
  std::vector<std::optional<std::string>> values;  // anonymized; nullopt where it could not be
  bool operator==(const PlanExpression&) const = default;
};

struct PlanNode {
  std::map<std::string, std::string> labels;            // kPlanLabelKeys
  std::map<std::string, double> estimates;              // kPlanEstimateKeys
  std::map<std::string, bool> flags;                    // kPlanFlagKeys
  std::map<std::string, PlanExpression> expressions;    // kPlanExpressionKeys
  std::vector<PlanNode> plans;                          // children, in EXPLAIN's order
  bool operator==(const PlanNode&) const = default;
};

struct StatementPlan {
  int64_t queryid = 0;
  std::string fingerprint;                          // 16 lowercase hex digits
  std::optional<std::string> previous_fingerprint;  // the last one sent; none at the first
  std::optional<PlanNode> plan;   // only when the fingerprint is new or changed, or on a resend
  bool truncated = false;         // `plan` was cut to the bounds above
  double total_cost = 0;          // the root's Total Cost
};

}  // namespace optischema::protocol
