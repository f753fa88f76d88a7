#include "controlplane/console_plan_view.h"

#include <cstdio>

#include "controlplane/console_html.h"
#include "controlplane/console_pages.h"
#include "controlplane/json_members.h"

namespace optischema::controlplane {
namespace {

std::string Fixed(double value, const char* format) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string Estimate(const nlohmann::json& node, const char* key, const char* format) {
  const std::optional<double> value = NumberMember(node, key);
  return value ? Fixed(*value, format) : "?";
}

// "Index Scan (Inner) using orders_pkey on public.orders o  cost=0.29..8.31 rows=1".
std::string NodeLine(const nlohmann::json& node) {
  std::string line = "<span class=\"node-type\">" + Escape(StringMember(node, "Node Type")) +
                     "</span>";
  if (const std::string join = StringMember(node, "Join Type"); !join.empty()) {
    line += " (" + Escape(join) + ")";
  }
  if (const std::string index = StringMember(node, "Index Name"); !index.empty()) {
    line += " using <code>" + Escape(index) + "</code>";
  }
  if (const std::string relation = StringMember(node, "Relation Name"); !relation.empty()) {
    const std::string schema = StringMember(node, "Schema");
    std::string name = (schema.empty() ? "" : schema + ".") + relation;
    if (const std::string alias = StringMember(node, "Alias");
        !alias.empty() && alias != relation) {
      name += " " + alias;
    }
    line += " on <code>" + Escape(name) + "</code>";
  }
  return line + " <span class=\"cost\">cost=" + Estimate(node, "Startup Cost", "%.2f") + ".." +
         Estimate(node, "Total Cost", "%.2f") + " rows=" + Estimate(node, "Plan Rows", "%.0f") +
         "</span>";
}

std::string Tree(const nlohmann::json& node, int depth) {
  if (!node.is_object()) return "";
  std::string html = "<li>" + NodeLine(node);
  const nlohmann::json& children = ArrayMember(node, "Plans");
  if (!children.empty() && depth + 1 < kShownPlanDepth) {
    html += "<ul>";
    for (const nlohmann::json& child : children) html += Tree(child, depth + 1);
    html += "</ul>";
  }
  return html + "</li>";
}

std::string PlanTree(const nlohmann::json& entry) {
  const nlohmann::json& plan = AnyMember(entry, "plan");
  if (!plan.is_object()) {
    return "<span class=\"rule\">not in the latest advice (the agent sends a plan when its shape "
           "changes, and every 24 h)</span>";
  }
  const nlohmann::json& truncated = AnyMember(entry, "truncated");
  return "<ul class=\"plan\">" + Tree(plan, 0) + "</ul>" +
         (truncated.is_boolean() && truncated.get<bool>()
              ? "<span class=\"rule\">cut by the agent to its bounds</span>"
              : "");
}

std::string Changed(const nlohmann::json& entry) {
  const std::string previous = StringMember(entry, "previous_fingerprint");
  if (previous.empty()) return "new";
  return previous == StringMember(entry, "fingerprint") ? "no" : "yes";
}

std::string Code(const nlohmann::json& entry, const char* key) {
  const std::string text = StringMember(entry, key);
  return text.empty() ? "-" : "<code>" + Escape(text) + "</code>";
}

}  // namespace

std::string RenderPlans(const nlohmann::json& advice, const std::string& agent_id,
                        const std::string& database) {
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& entry : ArrayMember(advice, "plans")) {
    const std::string queryid = StringMember(entry, "queryid");
    rows.push_back({queryid.empty() ? "-" : StatementLink(agent_id, database, queryid, queryid),
                    Code(entry, "fingerprint"), Code(entry, "previous_fingerprint"),
                    Changed(entry), NumberCell(entry, "total_cost"), PlanTree(entry)});
  }
  return RenderTable(
      {"Statement", "Fingerprint", "Previous fingerprint", "Changed", "Total cost", "Plan"}, rows);
}

const nlohmann::json& PlanEntry(const nlohmann::json& advice, const std::string& queryid) {
  static const nlohmann::json kNone;
  for (const nlohmann::json& entry : ArrayMember(advice, "plans")) {
    if (StringMember(entry, "queryid") == queryid) return entry;
  }
  return kNone;
}

std::string RenderPlanEntry(const nlohmann::json& entry) {
  return "<dl class=\"facts\"><dt>Fingerprint</dt><dd>" + Code(entry, "fingerprint") +
         "</dd><dt>Previous fingerprint</dt><dd>" + Code(entry, "previous_fingerprint") +
         "</dd><dt>Changed</dt><dd>" + Changed(entry) + "</dd><dt>Total cost</dt><dd>" +
         NumberCell(entry, "total_cost") + "</dd></dl>" + PlanTree(entry);
}

}  // namespace optischema::controlplane
