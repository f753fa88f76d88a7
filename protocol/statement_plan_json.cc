#include "protocol/statement_plan_json.h"

namespace optischema::protocol {

void WritePlanNode(JsonWriter& w, const PlanNode& node) {
  w.BeginObject();
  for (const auto& [key, value] : node.labels) {
    w.Key(key);
    w.String(value);
  }
  for (const auto& [key, value] : node.estimates) {
    w.Key(key);
    w.Double(value);
  }
  for (const auto& [key, value] : node.flags) {
    w.Key(key);
    w.Bool(value);
  }
  for (const auto& [key, expression] : node.expressions) {
    w.Key(key);
    if (expression.list) w.BeginArray();
    for (const std::optional<std::string>& value : expression.values) w.StringOrNull(value);
    if (!expression.list && expression.values.empty()) w.Null();
    if (expression.list) w.EndArray();
  }
  if (!node.plans.empty()) {
    w.Key(kPlanChildrenKey);
    w.BeginArray();
    for (const PlanNode& child : node.plans) WritePlanNode(w, child);
    w.EndArray();
  }
  w.EndObject();
}

std::string PlanNodeToJson(const PlanNode& node) {
  std::string out;
  JsonWriter w(out);
  WritePlanNode(w, node);
  return out;
}

void WriteStatementPlans(JsonWriter& w, const std::vector<StatementPlan>& plans) {
  w.Key("plans");
  w.BeginArray();
  for (const StatementPlan& p : plans) {
    w.BeginObject();
    w.Key("queryid");
    w.String(std::to_string(p.queryid));
    w.Key("fingerprint");
    w.String(p.fingerprint);
    w.Key("previous_fingerprint");
    w.StringOrNull(p.previous_fingerprint);
    w.Key("total_cost");
    w.Double(p.total_cost);
    w.Key("truncated");
    w.Bool(p.truncated);
    if (p.plan) {
      w.Key("plan");
      WritePlanNode(w, *p.plan);
    }
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace optischema::protocol
