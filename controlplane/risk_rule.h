#pragma once

// The risk level the console shows beside each recommendation, and the rule that gave it, written
// out so that the person approving sees why (docs/console.md prints the same rules):
//   create_index  low: built CONCURRENTLY, nothing is locked against writes, and dropping the
//                 index undoes it.
//   rewrite       low: nothing changes on the server.
//   drop_index    medium; high when the index served scans within the statistics window, when the
//                 table writes heavily (kHeavyWritesPerSecond or more), or when the agent's last
//                 report says nothing of the index (no evidence either way).
//   set_config    medium; high when the setting takes effect only after a restart.
//   set_table_options  medium: it changes how autovacuum treats one table until rolled back.
//   analyze_table low: it only refreshes one table's planner statistics.
//
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace optischema::controlplane {

enum class RiskLevel { kLow, kMedium, kHigh };

inline constexpr double kHeavyWritesPerSecond = 100;

struct Risk {
  RiskLevel level = RiskLevel::kHigh;
  std::string rule;  // one sentence: which rule applied and on what evidence
};

// "low", "medium", "high".
std::string_view RiskLevelName(RiskLevel level);

// Whether PostgreSQL applies the setting `name` (case-insensitive) only at a restart.
bool SettingNeedsRestart(std::string_view name);

// The risk of the recommendation `recommendation` (a protocol recommendation or proposal object:
// kind and spec). `index` is the agent's last report of the index a drop_index names (an element
// of the advice's `indexes`: scans_window, table_writes_per_s), or null when there is none.
// An unknown kind is high.
Risk RiskOf(const nlohmann::json& recommendation, const nlohmann::json& index);

}  // namespace optischema::controlplane
