#include "controlplane/series_extraction.h"

namespace optischema::controlplane {
namespace {

std::optional<double> Number(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string Text(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const nlohmann::json& Member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

}  // namespace

SnapshotSeries ExtractSeries(const nlohmann::json& snapshot, const std::string& agent_id,
                             int64_t collected_s) {
  SnapshotSeries out;
  DatabaseSample& db = out.database;
  db.agent_id = agent_id;
  db.database = Text(snapshot, "database");
  db.collected_s = collected_s;
  db.window_s = Number(snapshot, "window_s").value_or(0);
  const nlohmann::json& kpis = Member(snapshot, "kpis");
  db.connections = Number(kpis, "connections_total");
  db.cache_hit_ratio = Number(kpis, "cache_hit_ratio");
  db.tps = Number(kpis, "tps");
  const nlohmann::json& remainder = Member(snapshot, "remainder");
  db.total_exec_ms = Number(remainder, "total_exec_time_ms").value_or(0);
  db.calls = Number(remainder, "calls").value_or(0);

  const nlohmann::json& statements = Member(snapshot, "statements");
  if (statements.is_array()) {
    out.statements.reserve(statements.size());
    for (const nlohmann::json& s : statements) {
      StatementSample sample;
      sample.queryid = Text(s, "queryid");
      if (sample.queryid.empty()) continue;
      sample.fingerprint = Text(s, "fingerprint");
      if (const auto it = s.find("text"); it != s.end() && it->is_string()) {
        sample.text = it->get<std::string>();
      }
      // A statement's own series holds its measured figures; the database's total counts it
      // sample_weight times, which with the remainder gives the window's exact total.
      sample.calls = Number(s, "calls").value_or(0);
      sample.total_exec_ms = Number(s, "total_exec_time_ms").value_or(0);
      sample.rows = Number(s, "rows").value_or(0);
      sample.score = Number(s, "score").value_or(0);
      sample.duration_class = Text(s, "duration_class");
      sample.cumulative_min_ms = Number(s, "cumulative_min_exec_time_ms");
      sample.cumulative_max_ms = Number(s, "cumulative_max_exec_time_ms");
      const double weight = Number(s, "sample_weight").value_or(1);
      db.total_exec_ms += sample.total_exec_ms * weight;
      db.calls += sample.calls * weight;
      out.statements.push_back(std::move(sample));
    }
  }

  nlohmann::json advice = nlohmann::json::object();
  for (const char* key :
       {"index_stats", "indexes", "index_findings", "proposals", "advisor"}) {
    if (const auto it = snapshot.find(key); it != snapshot.end()) advice[key] = *it;
  }
  if (const nlohmann::json& drift = Member(Member(snapshot, "schema"), "drift"); !drift.is_null()) {
    advice["drift"] = drift;
  }
  if (!advice.empty()) out.advice_json = advice.dump();
  return out;
}

}  // namespace optischema::controlplane
