#include "controlplane/risk_rule.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "controlplane/json_members.h"

namespace optischema::controlplane {
namespace {

// The settings of the agent's set_config allow-list that PostgreSQL reads only at server start
// (context "postmaster").
constexpr std::array<std::string_view, 6> kRestartSettings = {
    "autovacuum_freeze_max_age", "autovacuum_max_workers", "autovacuum_multixact_freeze_max_age",
    "max_worker_processes",      "shared_buffers",         "wal_buffers"};

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Figure(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

Risk DropIndexRisk(const nlohmann::json& index) {
  if (!index.is_object()) {
    return {RiskLevel::kHigh,
            "drop_index is high when the agent's last report says nothing of the index: there "
            "is no evidence that nothing uses it"};
  }
  const std::optional<double> scans = NumberMember(index, "scans_window");
  if (scans && *scans > 0) {
    return {RiskLevel::kHigh, "drop_index is high: the index served " + Figure(*scans) +
                                  " scans on this server within the statistics window"};
  }
  const std::optional<double> writes = NumberMember(index, "table_writes_per_s");
  if (writes && *writes >= kHeavyWritesPerSecond) {
    return {RiskLevel::kHigh, "drop_index is high: the table writes heavily (" + Figure(*writes) +
                                  " rows/s, " + Figure(kHeavyWritesPerSecond) +
                                  " or more), so a wrong drop shows at once"};
  }
  return {RiskLevel::kMedium,
          "drop_index is medium: the index served no scan within the statistics window and the "
          "table writes lightly; a rollback rebuilds it"};
}

}  // namespace

std::string_view RiskLevelName(RiskLevel level) {
  switch (level) {
    case RiskLevel::kLow:
      return "low";
    case RiskLevel::kMedium:
      return "medium";
    case RiskLevel::kHigh:
      return "high";
  }
  return "high";
}

bool SettingNeedsRestart(std::string_view name) {
  const std::string lower = Lower(name);
  return std::find(kRestartSettings.begin(), kRestartSettings.end(), lower) !=
         kRestartSettings.end();
}

Risk RiskOf(const nlohmann::json& recommendation, const nlohmann::json& index) {
  const std::string kind = StringMember(recommendation, "kind");
  const nlohmann::json& spec = AnyMember(recommendation, "spec");
  if (kind == "create_index") {
    return {RiskLevel::kLow,
            "create_index is low: built CONCURRENTLY without blocking writes, and a rollback "
            "drops it"};
  }
  if (kind == "rewrite") {
    return {RiskLevel::kLow, "rewrite is low: nothing changes on the server"};
  }
  if (kind == "drop_index") return DropIndexRisk(index);
  if (kind == "analyze_table") {
    return {RiskLevel::kLow,
            "analyze_table is low: it only refreshes one table's planner statistics, as "
            "autovacuum does"};
  }
  if (kind == "set_table_options") {
    return {RiskLevel::kMedium,
            "set_table_options is medium: it changes how autovacuum treats one table; a rollback "
            "restores the previous options"};
  }
  if (kind == "set_config") {
    if (SettingNeedsRestart(StringMember(spec, "name"))) {
      return {RiskLevel::kHigh,
              "set_config is high: this setting takes effect only after a server restart"};
    }
    return {RiskLevel::kMedium,
            "set_config is medium: it changes the whole server at the next reload; a rollback "
            "restores the previous value"};
  }
  return {RiskLevel::kHigh, "an unknown kind is high"};
}

}  // namespace optischema::controlplane
