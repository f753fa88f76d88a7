#include "cli/plan_tree.h"

#include <cstdio>

#include "protocol/json_writer.h"
#include "protocol/statement_plan_json.h"

namespace optischema::cli {
namespace {

std::string Label(const protocol::PlanNode& node, const std::string& key) {
  auto it = node.labels.find(key);
  return it == node.labels.end() ? std::string() : it->second;
}

std::string Estimate(const protocol::PlanNode& node, const std::string& key, const char* format) {
  auto it = node.estimates.find(key);
  if (it == node.estimates.end()) return "?";
  char text[64];
  std::snprintf(text, sizeof text, format, it->second);
  return text;
}

void AppendNode(const protocol::PlanNode& node, std::size_t depth, std::string& out) {
  // As psql prints plans: a child's arrow under its parent's details, six columns further.
  const std::string indent(depth == 0 ? 0 : 6 * depth - 4, ' ');
  const std::string details(depth == 0 ? 2 : 6 * depth + 2, ' ');
  std::string line = indent + (depth == 0 ? "" : "->  ") + Label(node, "Node Type");
  if (const std::string join = Label(node, "Join Type"); !join.empty()) line += " (" + join + ")";
  if (const std::string index = Label(node, "Index Name"); !index.empty()) {
    line += " using " + index;
  }
  if (const std::string relation = Label(node, "Relation Name"); !relation.empty()) {
    const std::string schema = Label(node, "Schema");
    line += " on " + (schema.empty() ? "" : schema + ".") + relation;
    if (const std::string alias = Label(node, "Alias"); !alias.empty() && alias != relation) {
      line += " " + alias;
    }
  }
  line += "  (cost=" + Estimate(node, "Startup Cost", "%.2f") + ".." +
          Estimate(node, "Total Cost", "%.2f") + " rows=" + Estimate(node, "Plan Rows", "%.0f") +
          " width=" + Estimate(node, "Plan Width", "%.0f") + ")";
  out += line + "\n";
  for (const auto& [key, expression] : node.expressions) {
    std::string values;
    for (const std::optional<std::string>& value : expression.values) {
      values += (values.empty() ? "" : ", ") + value.value_or("(not shown)");
    }
    out += details + key + ": " + values + "\n";
  }
  for (const protocol::PlanNode& child : node.plans) AppendNode(child, depth + 1, out);
}

}  // namespace

std::string FormatPlannedStatements(const std::vector<protocol::StatementPlan>& plans) {
  if (plans.empty()) return "";
  std::string out = "\nplanned statements (advise --plan QUERYID prints one):\n";
  for (const protocol::StatementPlan& p : plans) {
    const char* change = !p.previous_fingerprint                  ? "new"
                         : *p.previous_fingerprint == p.fingerprint ? "unchanged"
                                                                    : "changed";
    char cost[32];
    std::snprintf(cost, sizeof cost, "%.2f", p.total_cost);
    out += "  " + std::to_string(p.queryid) + "  " + p.fingerprint + "  " + change +
           "  cost " + cost + (p.truncated ? "  (plan truncated)" : "") + "\n";
  }
  return out;
}

std::string FormatPlanTree(const protocol::PlanNode& plan) {
  std::string out;
  AppendNode(plan, 0, out);
  return out;
}

const protocol::StatementPlan* FindPlan(const protocol::Advice& advice, int64_t queryid) {
  for (const protocol::StatementPlan& p : advice.plans) {
    if (p.queryid == queryid && p.plan) return &p;
  }
  return nullptr;
}

std::string FormatStatementPlan(const std::string& database, const protocol::StatementPlan& plan) {
  char cost[32];
  std::snprintf(cost, sizeof cost, "%.2f", plan.total_cost);
  std::string out = "database " + database + ": statement " + std::to_string(plan.queryid) +
                    ", plan fingerprint " + plan.fingerprint + ", total cost " + cost +
                    " (generic plan; constants anonymized)" +
                    (plan.truncated ? "; truncated to the plan bounds" : "") + "\n\n";
  if (plan.plan) out += FormatPlanTree(*plan.plan);
  return out;
}

std::string StatementPlanJson(const std::string& database, const protocol::StatementPlan& plan) {
  std::string out;
  protocol::JsonWriter w(out);
  w.BeginObject();
  w.Key("database");
  w.String(database);
  protocol::WriteStatementPlans(w, {plan});
  w.EndObject();
  return out;
}

std::string PlanNotFound(const std::string& database, const protocol::Advice& advice,
                         int64_t queryid) {
  const std::string head = "database \"" + database + "\": statement " + std::to_string(queryid);
  for (const protocol::SkippedStatement& s : advice.skipped) {
    if (s.queryid == queryid) return head + " was not planned: " + s.reason;
  }
  return head +
         " has no plan: it is not among the top statements by total time "
         "(advisor.max_statements), not a plain SELECT over the user's tables, or planning "
         "stopped at the advisor's time budget before it";
}

}  // namespace optischema::cli
