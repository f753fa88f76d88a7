#include "controlplane/console_recommendation_view.h"
#include "controlplane/json_members.h"

#include <map>
#include <utility>

#include "controlplane/agent_proposals.h"
#include "controlplane/command_output.h"
#include "protocol/canonical_json.h"

namespace optischema::controlplane {
namespace {

std::string Join(const nlohmann::json& array) {
  std::string out;
  if (!array.is_array()) return out;
  for (const nlohmann::json& item : array) {
    if (!item.is_string()) continue;
    if (!out.empty()) out += ", ";
    out += item.get<std::string>();
  }
  return out;
}

std::string TargetOf(const std::string& kind, const nlohmann::json& spec) {
  if (kind == "create_index") {
    std::string target = StringMember(spec, "schema") + "." + StringMember(spec, "table") + " (" +
                         Join(AnyMember(spec, "columns")) + ")";
    if (spec.contains("include") && !Join(spec["include"]).empty()) {
      target += " INCLUDE (" + Join(spec["include"]) + ")";
    }
    if (!StringMember(spec, "method").empty() && StringMember(spec, "method") != "btree") {
      target += " USING " + StringMember(spec, "method");
    }
    if (!StringMember(spec, "where").empty()) target += " WHERE " + StringMember(spec, "where");
    return target;
  }
  if (kind == "drop_index") return StringMember(spec, "schema") + "." + StringMember(spec, "index");
  if (kind == "set_config") return StringMember(spec, "name") + " = '" + StringMember(spec, "value") + "'";
  if (kind == "rewrite") return "statement rewrite";
  if (kind == "analyze_table") {
    return "ANALYZE " + StringMember(spec, "schema") + "." + StringMember(spec, "table");
  }
  if (kind == "set_table_options") {
    std::string options;
    const nlohmann::json& members = AnyMember(spec, "options");
    if (members.is_object()) {
      for (const auto& [name, value] : members.items()) {
        options += (options.empty() ? "" : ", ") + name + " = " +
                   (value.is_string() ? value.get<std::string>() : "?");
      }
    }
    return StringMember(spec, "schema") + "." + StringMember(spec, "table") + " SET (" + options +
           ")";
  }
  return "-";
}

std::vector<std::string> Queryids(const nlohmann::json& body) {
  std::vector<std::string> ids;
  if (!body.is_object() || !body.contains("affected_queryids") ||
      !body["affected_queryids"].is_array()) {
    return ids;
  }
  for (const nlohmann::json& id : body["affected_queryids"]) {
    if (id.is_number_integer()) ids.push_back(id.dump());
    if (id.is_string()) ids.push_back(id.get<std::string>());
  }
  return ids;
}

// The latest advice by (agent, database).
using AdviceMap = std::map<std::pair<std::string, std::string>, nlohmann::json>;

// The latest advice of each database (of `agent_id` only, when given).
Result<AdviceMap> LoadAdvice(Store& store, const std::optional<std::string>& agent_id) {
  auto databases = store.ListDatabases();
  RETURN_IF_ERROR(databases);
  AdviceMap advice;
  for (const DatabaseInfo& db : *databases) {
    if (agent_id && db.agent_id != *agent_id) continue;
    if (db.advice_json) advice[{db.agent_id, db.database}] = StoredJson(*db.advice_json);
  }
  return advice;
}

// The advice's proposal with the id `id`, or null.
nlohmann::json EvidenceFor(const nlohmann::json& advice, const std::string& agent_id,
                           const std::string& database, const std::string& id) {
  if (!advice.is_object() || !advice.contains("proposals") || !advice["proposals"].is_array()) {
    return nullptr;
  }
  for (const nlohmann::json& proposal : advice["proposals"]) {
    if (!proposal.is_object() || !proposal.contains("spec")) continue;
    auto spec = protocol::CanonicalJson(proposal["spec"].dump());
    if (!spec.ok()) continue;
    auto proposal_id = AgentProposalId(agent_id, database, StringMember(proposal, "kind"), *spec,
                                       StringMember(proposal, "table_digest"));
    if (proposal_id.ok() && *proposal_id == id) return proposal;
  }
  return nullptr;
}

// The advice's report of the index a drop_index names, or null.
nlohmann::json IndexReport(const nlohmann::json& advice, const nlohmann::json& spec) {
  if (!advice.is_object() || !advice.contains("indexes") || !advice["indexes"].is_array()) {
    return nullptr;
  }
  for (const nlohmann::json& index : advice["indexes"]) {
    if (StringMember(index, "schema") == StringMember(spec, "schema") && StringMember(index, "name") == StringMember(spec, "index")) {
      return index;
    }
  }
  return nullptr;
}

RecommendationView ViewOf(RecommendationRow row, const AdviceMap& advice) {
  RecommendationView view;
  view.body = StoredJson(row.record.body_json);
  view.kind = StringMember(view.body, "kind");
  view.database = StringMember(view.body, "database");
  const nlohmann::json& spec = AnyMember(view.body, "spec");
  view.target = TargetOf(view.kind, spec);
  view.affected_queryids = Queryids(view.body);
  const auto it = advice.find({row.record.agent_id, view.database});
  const nlohmann::json& db_advice = it == advice.end() ? nlohmann::json() : it->second;
  view.risk = RiskOf(view.body, view.kind == "drop_index" ? IndexReport(db_advice, spec)
                                                          : nlohmann::json());
  view.evidence = EvidenceFor(db_advice, row.record.agent_id, view.database, row.record.id);
  view.row = std::move(row);
  return view;
}

}  // namespace

Result<std::vector<RecommendationView>> LoadRecommendations(
    Store& store, const std::optional<std::string>& agent_id) {
  auto rows = store.ListRecommendations(agent_id);
  RETURN_IF_ERROR(rows);
  auto advice = LoadAdvice(store, agent_id);
  RETURN_IF_ERROR(advice);
  std::vector<RecommendationView> views;
  views.reserve(rows->size());
  for (RecommendationRow& row : *rows) views.push_back(ViewOf(std::move(row), *advice));
  return views;
}

Result<std::optional<RecommendationView>> LoadRecommendation(Store& store, const std::string& id) {
  auto row = store.GetRecommendation(id);
  RETURN_IF_ERROR(row);
  if (!*row) return std::optional<RecommendationView>();
  auto advice = LoadAdvice(store, (*row)->record.agent_id);
  RETURN_IF_ERROR(advice);
  return std::optional<RecommendationView>(ViewOf(std::move(**row), *advice));
}

}  // namespace optischema::controlplane
