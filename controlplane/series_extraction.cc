#include "controlplane/series_extraction.h"

#include "controlplane/json_members.h"

namespace optischema::controlplane {
namespace {

// The advice members kept as the database's latest advice (docs/protocol-v1.md, "Advice
// members"); schema.drift is kept as `drift`.
constexpr const char* kAdviceMembers[] = {"index_stats", "indexes",      "index_findings",
                                          "proposals",   "advisor",      "plans",
                                          "table_health", "vacuum_findings"};

std::optional<ActivitySample> ExtractActivity(const nlohmann::json& snapshot) {
  const nlohmann::json& activity = AnyMember(snapshot, "activity");
  if (!activity.is_object()) return std::nullopt;
  ActivitySample sample;
  for (const nlohmann::json& c : ArrayMember(activity, "by_wait_class")) {
    WaitClassLoad load{StringMember(c, "wait_class"), NumberMember(c, "load").value_or(0)};
    if (load.wait_class.empty() || !(load.load >= 0)) continue;
    sample.by_wait_class.push_back(std::move(load));
  }
  sample.json = activity.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return sample;
}

}  // namespace

SnapshotSeries ExtractSeries(const nlohmann::json& snapshot, const std::string& agent_id,
                             int64_t collected_s) {
  SnapshotSeries out;
  DatabaseSample& db = out.database;
  db.agent_id = agent_id;
  db.database = StringMember(snapshot, "database");
  db.collected_s = collected_s;
  db.window_s = NumberMember(snapshot, "window_s").value_or(0);
  const nlohmann::json& kpis = AnyMember(snapshot, "kpis");
  db.connections = NumberMember(kpis, "connections_total");
  db.cache_hit_ratio = NumberMember(kpis, "cache_hit_ratio");
  db.tps = NumberMember(kpis, "tps");
  const nlohmann::json& remainder = AnyMember(snapshot, "remainder");
  db.total_exec_ms = NumberMember(remainder, "total_exec_time_ms").value_or(0);
  db.calls = NumberMember(remainder, "calls").value_or(0);
  db.activity = ExtractActivity(snapshot);

  const nlohmann::json& statements = AnyMember(snapshot, "statements");
  if (statements.is_array()) {
    out.statements.reserve(statements.size());
    for (const nlohmann::json& s : statements) {
      StatementSample sample;
      sample.queryid = StringMember(s, "queryid");
      if (sample.queryid.empty()) continue;
      sample.fingerprint = StringMember(s, "fingerprint");
      if (const auto it = s.find("text"); it != s.end() && it->is_string()) {
        sample.text = it->get<std::string>();
      }
      // A statement's own series holds its measured figures; the database's total counts it
      // sample_weight times, which with the remainder gives the window's exact total.
      sample.calls = NumberMember(s, "calls").value_or(0);
      sample.total_exec_ms = NumberMember(s, "total_exec_time_ms").value_or(0);
      sample.rows = NumberMember(s, "rows").value_or(0);
      sample.score = NumberMember(s, "score").value_or(0);
      sample.duration_class = StringMember(s, "duration_class");
      sample.cumulative_min_ms = NumberMember(s, "cumulative_min_exec_time_ms");
      sample.cumulative_max_ms = NumberMember(s, "cumulative_max_exec_time_ms");
      const double weight = NumberMember(s, "sample_weight").value_or(1);
      db.total_exec_ms += sample.total_exec_ms * weight;
      db.calls += sample.calls * weight;
      out.statements.push_back(std::move(sample));
    }
  }

  nlohmann::json advice = nlohmann::json::object();
  for (const char* key : kAdviceMembers) {
    if (const auto it = snapshot.find(key); it != snapshot.end()) advice[key] = *it;
  }
  if (const nlohmann::json& drift = AnyMember(AnyMember(snapshot, "schema"), "drift"); !drift.is_null()) {
    advice["drift"] = drift;
  }
  if (!advice.empty()) out.advice_json = advice.dump();
  return out;
}

}  // namespace optischema::controlplane
