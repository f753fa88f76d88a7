#include "advisor/statement_plans.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "advisor/index_candidates.h"
#include "advisor/query_shape.h"
#include "advisor/top_statements.h"
#include "collector/statement_text.h"
#include "pg/plan_probe.h"
#include "pg/plan_safety.h"
#include "pg/predicate.h"
#include "pg/query_rows.h"
#include "protocol/sha256.h"
#include "protocol/statement_plan_json.h"

namespace optischema::advisor {
namespace {

using nlohmann::json;
using protocol::PlanNode;

constexpr std::size_t kFingerprintDigits = 16;

template <std::size_t N>
bool Holds(const std::string_view (&keys)[N], std::string_view key) {
  return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
}

// One expression string anonymized, or nullopt: an ordering item (`a DESC NULLS FIRST`) as an
// ORDER BY item, anything else as a select-list expression.
std::optional<std::string> AnonymizeExpression(std::string_view key, const json& value) {
  if (!value.is_string()) return std::nullopt;
  const std::string_view prefix =
      Holds(protocol::kPlanOrderingKeys, key) ? "SELECT ORDER BY " : "SELECT ";
  return collector::AnonymizeFragment(prefix, value.get_ref<const std::string&>());
}

PlanNode Convert(const json& node, const RelationSchemas& schemas) {
  PlanNode out;
  for (const auto& [key, value] : node.items()) {
    if (Holds(protocol::kPlanLabelKeys, key)) {
      if (value.is_string()) out.labels[key] = value.get<std::string>();
    } else if (Holds(protocol::kPlanEstimateKeys, key)) {
      if (value.is_number()) out.estimates[key] = value.get<double>();
    } else if (Holds(protocol::kPlanFlagKeys, key)) {
      if (value.is_boolean()) out.flags[key] = value.get<bool>();
    } else if (Holds(protocol::kPlanExpressionKeys, key)) {
      protocol::PlanExpression expression;
      expression.list = value.is_array();
      if (expression.list) {
        for (const json& item : value) expression.values.push_back(AnonymizeExpression(key, item));
      } else {
        expression.values.push_back(AnonymizeExpression(key, value));
      }
      out.expressions[key] = std::move(expression);
    } else if (key == protocol::kPlanChildrenKey && value.is_array()) {
      for (const json& child : value) {
        if (child.is_object()) out.plans.push_back(Convert(child, schemas));
      }
    }
  }
  if (auto relation = out.labels.find("Relation Name");
      relation != out.labels.end() && !out.labels.contains("Schema")) {
    if (auto schema = schemas.find(relation->second); schema != schemas.end()) {
      out.labels["Schema"] = schema->second;
    }
  }
  return out;
}

std::string Label(const PlanNode& node, const std::string& key) {
  auto it = node.labels.find(key);
  return it == node.labels.end() ? std::string() : it->second;
}

void AppendShape(const PlanNode& node, std::size_t depth, std::string& out) {
  std::string relation = Label(node, "Relation Name");
  if (!relation.empty()) relation = Label(node, "Schema") + "." + relation;
  out += std::to_string(depth) + '\x1f' + Label(node, "Node Type") + '\x1f' +
         Label(node, "Join Type") + '\x1f' + relation + '\x1f' + Label(node, "Index Name") + '\x1e';
  for (const PlanNode& child : node.plans) AppendShape(child, depth + 1, out);
}

bool CutDepth(PlanNode& node, std::size_t depth) {
  if (depth == protocol::kMaxPlanDepth) {
    const bool cut = !node.plans.empty();
    node.plans.clear();
    return cut;
  }
  bool cut = false;
  for (PlanNode& child : node.plans) cut = CutDepth(child, depth + 1) || cut;
  return cut;
}

// Keeps the nodes in `kept`: a breadth-first prefix, so every kept node's parent is kept and the
// kept children of a node are the first ones (erasing the others moves no kept node).
void Prune(PlanNode& node, const std::set<const PlanNode*>& kept) {
  std::erase_if(node.plans, [&](const PlanNode& child) { return !kept.contains(&child); });
  for (PlanNode& child : node.plans) Prune(child, kept);
}

// An upper bound on what `node` adds to its tree's JSON without its children: its own members,
// the children's key and brackets, and a comma.
std::size_t OwnBytes(const PlanNode& node) {
  PlanNode alone = node;
  alone.plans.clear();
  return protocol::PlanNodeToJson(alone).size() + protocol::kPlanChildrenKey.size() + 8;
}

// The schema of each relation `relation_oids` names, their partitions and inheritance children
// included; a name two schemas hold among them is left out.
Result<RelationSchemas> ReadRelationSchemas(pg::PgSession& session,
                                            const std::vector<std::string>& relation_oids) {
  std::string oids = "{";
  for (const std::string& oid : relation_oids) oids += (oids.size() > 1 ? "," : "") + oid;
  oids += "}";
  auto rows = pg::QueryRows(
      session,
      "WITH RECURSIVE r(oid) AS (SELECT u.o FROM pg_catalog.unnest($1::pg_catalog.oid[]) AS u(o) "
      "UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN r ON i.inhparent "
      "OPERATOR(pg_catalog.=) r.oid) "
      "SELECT c.relname::pg_catalog.text, n.nspname::pg_catalog.text FROM r "
      "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.oid "
      "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace",
      {oids});
  RETURN_IF_ERROR(rows);
  RelationSchemas schemas;
  std::set<std::string> ambiguous;
  for (const pg::Row& row : *rows) {
    if (!row[0] || !row[1]) continue;
    auto [it, added] = schemas.emplace(*row[0], *row[1]);
    if (!added && it->second != *row[1]) ambiguous.insert(*row[0]);
  }
  for (const std::string& name : ambiguous) schemas.erase(name);
  return schemas;
}

// Why a statement could not be planned: the kind of error and its SQLSTATE only (the server's
// message may quote a value).
std::string SkipReason(const Error& error) {
  std::string reason = "EXPLAIN failed: " + std::string(ErrorCodeName(error.code));
  if (!error.sqlstate.empty()) reason += " (SQLSTATE " + error.sqlstate + ")";
  if (error.sqlstate == "57014") reason += ": planning took longer than the timeout";
  return reason;
}

}  // namespace

Result<PlanNode> AnonymizePlan(std::string_view explain_json, const RelationSchemas& schemas) {
  const json document = json::parse(explain_json, nullptr, /*allow_exceptions=*/false);
  if (!document.is_array() || document.empty() || !document[0].is_object() ||
      !document[0].contains("Plan") || !document[0]["Plan"].is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "EXPLAIN returned no plan tree");
  }
  return Convert(document[0]["Plan"], schemas);
}

std::string PlanFingerprint(const PlanNode& plan) {
  std::string shape;
  AppendShape(plan, 0, shape);
  return protocol::Sha256Hex(shape).substr(0, kFingerprintDigits);
}

bool CutPlan(PlanNode& plan, std::size_t max_bytes) {
  bool cut = CutDepth(plan, 1);
  if (protocol::PlanNodeToJson(plan).size() <= max_bytes) return cut;
  if (OwnBytes(plan) > max_bytes) {
    for (auto& [key, expression] : plan.expressions) {
      std::fill(expression.values.begin(), expression.values.end(), std::nullopt);
    }
  }
  std::set<const PlanNode*> kept;
  std::size_t total = 0;
  std::deque<const PlanNode*> queue{&plan};
  while (!queue.empty()) {
    const PlanNode* node = queue.front();
    queue.pop_front();
    total += OwnBytes(*node);
    if (node != &plan && total > max_bytes) break;
    kept.insert(node);
    for (const PlanNode& child : node->plans) queue.push_back(&child);
  }
  Prune(plan, kept);
  return true;
}

Result<StatementPlansResult> PlanTopStatements(pg::PgSession& session,
                                               const std::vector<protocol::TableSchema>& schema,
                                               const ProposerOptions& options) {
  auto top = ReadTopStatements(session, options.database, options.max_statements);
  RETURN_IF_ERROR(top);
  StatementPlansResult result;
  const auto deadline = std::chrono::steady_clock::now() + options.budget;
  for (const TopStatement& statement : *top) {
    result.top.push_back(statement.queryid);
    if (std::chrono::steady_clock::now() >= deadline) continue;
    // As the index proposer: only plain SELECTs over the user's tables.
    if (!pg::CheckPlainSelect(statement.text).ok()) continue;
    auto shape = ParseQueryShape(statement.text);
    if (!shape.ok() || !ReadsOnlyKnownTables(*shape, schema)) continue;
    auto proven = pg::ProveSafeToPlan(session, statement.text, pg::PlanPurpose::kAdvice);
    if (!proven.ok()) {
      if (proven.error().code != ErrorCode::kInvalidArgument) return std::move(proven).error();
      result.skipped.push_back({statement.queryid, proven.error().message});
      continue;
    }
    auto explained = pg::GenericPlanJson(session, *proven, options.explain_timeout);
    if (!explained.ok()) {
      if (explained.error().code == ErrorCode::kConnectionLost) return std::move(explained).error();
      result.skipped.push_back({statement.queryid, SkipReason(explained.error())});
      continue;
    }
    auto schemas = ReadRelationSchemas(session, proven->relation_oids());
    RETURN_IF_ERROR(schemas);
    auto plan = AnonymizePlan(*explained, *schemas);
    if (!plan.ok()) {
      result.skipped.push_back({statement.queryid, plan.error().message});
      continue;
    }
    PlannedStatement planned;
    planned.queryid = statement.queryid;
    planned.fingerprint = PlanFingerprint(*plan);
    if (auto cost = plan->estimates.find("Total Cost"); cost != plan->estimates.end()) {
      planned.total_cost = cost->second;
    }
    planned.truncated = CutPlan(*plan);
    planned.plan = std::move(plan).value();
    result.planned.push_back(std::move(planned));
  }
  return result;
}

PlanDelivery DeliverPlans(const StatementPlansResult& result,
                          const std::map<int64_t, std::string>& last_sent, bool resend_all) {
  PlanDelivery delivery;
  for (int64_t queryid : result.top) {
    if (auto sent = last_sent.find(queryid); sent != last_sent.end()) {
      delivery.remembered.insert(*sent);
    }
  }
  for (const PlannedStatement& planned : result.planned) {
    protocol::StatementPlan plan;
    plan.queryid = planned.queryid;
    plan.fingerprint = planned.fingerprint;
    if (auto sent = last_sent.find(planned.queryid); sent != last_sent.end()) {
      plan.previous_fingerprint = sent->second;
    }
    if (resend_all || plan.previous_fingerprint != plan.fingerprint) {
      plan.plan = planned.plan;
      plan.truncated = planned.truncated;
    }
    plan.total_cost = planned.total_cost;
    delivery.remembered[planned.queryid] = planned.fingerprint;
    delivery.plans.push_back(std::move(plan));
  }
  return delivery;
}

Result<std::map<int64_t, std::string>> AddStatementPlans(
    pg::PgSession& session, const std::vector<protocol::TableSchema>& schema,
    const ProposerOptions& options, const std::map<int64_t, std::string>& last_sent,
    bool resend_all, protocol::Advice& advice) {
  auto result = PlanTopStatements(session, schema, options);
  if (!result.ok()) {
    const Error& e = result.error();
    if (e.code == ErrorCode::kConnectionLost) return std::move(result).error();
    advice.notes.push_back("no statement plans this run: " + std::string(ErrorCodeName(e.code)) +
                           (e.sqlstate.empty() ? "" : " (SQLSTATE " + e.sqlstate + ")"));
    return last_sent;
  }
  for (protocol::SkippedStatement& skipped : result->skipped) {
    const bool listed = std::any_of(
        advice.skipped.begin(), advice.skipped.end(),
        [&](const protocol::SkippedStatement& s) { return s.queryid == skipped.queryid; });
    if (!listed) advice.skipped.push_back(std::move(skipped));
  }
  PlanDelivery delivery = DeliverPlans(*result, last_sent, resend_all);
  advice.plans = std::move(delivery.plans);
  return std::move(delivery.remembered);
}

}  // namespace optischema::advisor
