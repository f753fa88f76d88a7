#include "tests/support/apply_observer.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace optischema::testing {

std::vector<std::string> AuditSteps(const std::string& state_dir, const std::string& id) {
  std::vector<std::string> steps;
  std::ifstream in(state_dir + "/audit.jsonl");
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object() && record.value("recommendation_id", "") == id) {
      steps.push_back(record.value("step", ""));
    }
  }
  return steps;
}

bool HasAuditStep(const std::string& state_dir, const std::string& id, const std::string& step) {
  const std::vector<std::string> steps = AuditSteps(state_dir, id);
  return std::find(steps.begin(), steps.end(), step) != steps.end();
}

std::string LastAuditOutcome(const std::string& state_dir, const std::string& id) {
  static const std::set<std::string> kOutcomes = {"applied", "failed", "rolled_back",
                                                  "rollback_failed", "rejected"};
  std::string last;
  for (const std::string& step : AuditSteps(state_dir, id)) {
    if (kOutcomes.contains(step)) last = step;
  }
  return last;
}

std::vector<std::vector<std::string>> AgentDdlSessions(PgCluster& cluster, bool idle_too) {
  return cluster.Query(
      "SELECT pid::text, state, coalesce(wait_event_type, ''), query FROM pg_stat_activity "
      "WHERE application_name = 'optischema-agent' AND (query LIKE '%INDEX CONCURRENTLY%' OR "
      "query LIKE '%ALTER%SYSTEM%')" +
      std::string(idle_too ? "" : " AND state = 'active'"));
}

}  // namespace optischema::testing
