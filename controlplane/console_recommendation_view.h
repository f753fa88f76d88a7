#pragma once

// A recommendation as the console shows it: the stored row, its body read back, what it targets,
// the statements it names, its risk (risk_rule.h) and the agent's evidence for it (the proposal
// in the agent's last advice with the same id: costs, saving, size).
//
// Thread safety: LoadRecommendations may be called from several threads at once.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/risk_rule.h"
#include "controlplane/store.h"

namespace optischema::controlplane {

struct RecommendationView {
  RecommendationRow row;
  nlohmann::json body;
  std::string kind;
  std::string database;
  std::string target;  // e.g. "public.orders (customer_id)", "work_mem = 64MB"
  std::vector<std::string> affected_queryids;  // decimal
  Risk risk;
  nlohmann::json evidence;  // the matching advice proposal, or null
};

// Every recommendation (of `agent_id` when given), oldest first.
Result<std::vector<RecommendationView>> LoadRecommendations(
    Store& store, const std::optional<std::string>& agent_id);

// The one with `id`, or nullopt.
Result<std::optional<RecommendationView>> LoadRecommendation(Store& store, const std::string& id);

}  // namespace optischema::controlplane
