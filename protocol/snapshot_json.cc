#include "protocol/snapshot_json.h"

#include <string>

namespace optischema::protocol {

std::string ProtocolVersionString() {
  return std::to_string(kProtocolMajor) + "." + std::to_string(kProtocolMinor);
}

const char* DurationClassName(DurationClass c) {
  switch (c) {
    case DurationClass::kStandard:
      return "standard";
    case DurationClass::kLong:
      return "long";
    case DurationClass::kHeavy:
      return "heavy";
  }
  return "standard";
}

namespace {

template <class Count>
void PutCounters(nlohmann::json& j, const BasicWindowCounters<Count>& w) {
  ForEachCounter([&j](const char* name, const auto& v) { j[name] = v; }, w);
}

nlohmann::json StatementToJson(const StatementMetrics& s) {
  nlohmann::json j = nlohmann::json::object();
  j["queryid"] = std::to_string(s.queryid);
  j["userid"] = s.userid;
  j["toplevel"] = s.toplevel;
  j["fingerprint"] = s.fingerprint;
  if (s.include_text) {
    j["text"] = s.text ? nlohmann::json(*s.text) : nlohmann::json(nullptr);
  }
  PutCounters(j, s.window);
  j["mean_exec_time_ms"] = s.mean_exec_time_ms;
  j["cumulative_min_exec_time_ms"] = s.cumulative_min_exec_time_ms;
  j["cumulative_max_exec_time_ms"] = s.cumulative_max_exec_time_ms;
  j["cumulative_stddev_exec_time_ms"] = s.cumulative_stddev_exec_time_ms;
  j["time_pct"] = s.time_pct;
  j["score"] = s.score;
  j["duration_class"] = DurationClassName(s.duration_class);
  j["sample_weight"] = s.sample_weight;
  return j;
}

}  // namespace

nlohmann::json SnapshotToJson(const Snapshot& snap) {
  nlohmann::json j = nlohmann::json::object();
  j["protocol"] = ProtocolVersionString();
  j["snapshot_id"] = snap.snapshot_id;
  if (!snap.agent_id.empty()) j["agent_id"] = snap.agent_id;
  j["database"] = snap.database;
  j["collected_at"] = snap.collected_at;
  j["window_s"] = snap.window_s;

  nlohmann::json server = nlohmann::json::object();
  server["version_num"] = snap.server.server_version_num;
  server["version"] = snap.server.server_version;
  server["pg_stat_statements_version"] = snap.server.extension_version;
  server["stats_reset"] =
      snap.server.stats_reset ? nlohmann::json(*snap.server.stats_reset) : nlohmann::json(nullptr);
  server["stats_reset_in_window"] = snap.server.stats_reset_in_window;
  server["dealloc_delta"] = snap.server.dealloc_delta;
  j["server"] = std::move(server);

  nlohmann::json kpis = nlohmann::json::object();
  kpis["connections_by_state"] = snap.kpis.connections_by_state;
  kpis["connections_total"] = snap.kpis.connections_total;
  kpis["max_connections"] = snap.kpis.max_connections;
  kpis["cache_hit_ratio"] = snap.kpis.cache_hit_ratio ? nlohmann::json(*snap.kpis.cache_hit_ratio)
                                                      : nlohmann::json(nullptr);
  kpis["tps"] = snap.kpis.tps;
  j["kpis"] = std::move(kpis);

  nlohmann::json statements = nlohmann::json::array();
  for (const auto& s : snap.statements) statements.push_back(StatementToJson(s));
  j["statements"] = std::move(statements);

  nlohmann::json rem = nlohmann::json::object();
  rem["statements"] = snap.remainder.statements;
  rem["unclassified_statements"] = snap.remainder.unclassified_statements;
  PutCounters(rem, snap.remainder.window);
  rem["time_pct"] = snap.remainder.time_pct;
  j["remainder"] = std::move(rem);

  nlohmann::json sampling = nlohmann::json::object();
  sampling["applied"] = snap.sampling.applied;
  sampling["max_statements"] = snap.sampling.max_statements;
  sampling["changed_statements"] = snap.sampling.changed_statements;
  sampling["sent_statements"] = snap.sampling.sent_statements;
  sampling["head_statements"] = snap.sampling.head_statements;
  sampling["tail_statements"] = snap.sampling.tail_statements;
  sampling["sampled_statements"] = snap.sampling.sampled_statements;
  sampling["tail_probability"] = snap.sampling.tail_probability;
  j["sampling"] = std::move(sampling);
  j["excluded_statements"] = snap.excluded_statements;
  return j;
}

}  // namespace optischema::protocol
