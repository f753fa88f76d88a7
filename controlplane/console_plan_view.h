#pragma once

// The console's view of the plans of a database's top statements (the advice member `plans`,
// docs/protocol-v1.md): a table of their fingerprints and costs, and each plan's tree as nested
// lists. A plan is read as stored: missing or mistyped members read as absent (json_members.h),
// every text is escaped, and nodes deeper than kShownPlanDepth are left out.
//
// Pure functions; thread-safe.

#include <string>

#include <nlohmann/json.hpp>

namespace optischema::controlplane {

// The agent sends plans at most 24 nodes deep; this bounds what a stored plan can make us draw.
inline constexpr int kShownPlanDepth = 32;

// "Plans of the top statements": queryid (linked to its statement page), fingerprint, previous
// fingerprint, changed, total cost, and the tree when the entry carries one.
std::string RenderPlans(const nlohmann::json& advice, const std::string& agent_id,
                        const std::string& database);

// The entry of `plans` for `queryid`, or a null value when there is none.
const nlohmann::json& PlanEntry(const nlohmann::json& advice, const std::string& queryid);

// One entry's fingerprints, total cost and tree (the statement page).
std::string RenderPlanEntry(const nlohmann::json& entry);

}  // namespace optischema::controlplane
