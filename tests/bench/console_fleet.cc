#include "tests/bench/console_fleet.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>
#include <random>
#include <stdexcept>

#include "controlplane/series_records.h"
#include "core/time_format.h"

namespace optischema::bench {
namespace {

using controlplane::DatabaseSample;
using controlplane::StatementSample;
using controlplane::Store;

constexpr int64_t kDay = 86400;
constexpr int64_t kHour = 3600;

// Throws when `result` (a Status or a Result) holds an error.
template <class R>
void Check(const R& result, const std::string& what) {
  if (!result.ok()) throw std::runtime_error(what + ": " + result.error().ToString());
}

std::string Hex(uint64_t v, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf + 16 - digits);
}

std::string Uuid(std::mt19937_64& rng) {
  const std::string a = Hex(rng(), 16), b = Hex(rng(), 16);
  return a.substr(0, 8) + "-" + a.substr(8, 4) + "-4" + a.substr(13, 3) + "-8" + b.substr(1, 3) +
         "-" + b.substr(4, 12);
}

// An anonymized statement text of 80 to 700 bytes, as the agent sends them ($n for values).
std::string StatementText(std::mt19937_64& rng, int table) {
  static const char* const kColumns[] = {"id",         "customer_id", "status", "created_at",
                                         "updated_at", "total",       "region", "sku",
                                         "quantity",   "price",       "note",   "warehouse_id"};
  const std::string alias = "t" + std::to_string(table % 7);
  const std::string name = "app.table_" + std::to_string(table);
  std::uniform_int_distribution<int> columns(1, 24), predicates(1, 4), kind(0, 9);
  std::string text;
  const int k = kind(rng);
  if (k < 7) {
    text = "SELECT ";
    const int n = columns(rng);
    for (int i = 0; i < n; ++i) {
      text += (i ? ", " : "") + alias + "." + kColumns[(table + i) % 12];
    }
    text += " FROM " + name + " " + alias + " WHERE ";
  } else if (k < 9) {
    text = "UPDATE " + name + " " + alias + " SET status = $1, updated_at = now() WHERE ";
  } else {
    text = "DELETE FROM " + name + " " + alias + " WHERE ";
  }
  const int p = predicates(rng);
  for (int i = 0; i < p; ++i) {
    text += (i ? " AND " : "") + alias + "." + kColumns[(table * 3 + i) % 12] + " = $" +
            std::to_string(i + 2);
  }
  if (k < 7 && kind(rng) < 3) text += " ORDER BY " + alias + ".created_at DESC LIMIT $9";
  return text;
}

// The advice members of a snapshot the advisor ran for (docs/protocol-v1.md, "Advice members").
std::string AdviceJson(const FleetAgent& agent, int indexes, int64_t at_s) {
  nlohmann::json index_list = nlohmann::json::array();
  for (int i = 0; i < indexes; ++i) {
    index_list.push_back({{"schema", "app"},
                          {"table", "table_" + std::to_string(i / 2)},
                          {"name", "table_" + std::to_string(i / 2) + "_idx_" + std::to_string(i)},
                          {"method", "btree"},
                          {"columns", {"customer_id", "created_at"}},
                          {"size_bytes", 8192 * (i + 1) * 37},
                          {"scans", 1000 * i},
                          {"scans_window", i % 5},
                          {"table_writes_per_s", 0.5 * i},
                          {"valid", true},
                          {"ready", true},
                          {"unique", i % 2 == 0},
                          {"primary", i % 2 == 0},
                          {"backs_constraint", i % 2 == 0},
                          {"partial", false},
                          {"being_built", false}});
  }
  nlohmann::json findings = nlohmann::json::array();
  for (int i = 1; i < indexes && findings.size() < 5; i += 11) {
    findings.push_back({{"kind", "unused"},
                        {"schema", "app"},
                        {"table", "table_" + std::to_string(i / 2)},
                        {"index", "table_" + std::to_string(i / 2) + "_idx_" + std::to_string(i)},
                        {"bytes", 8192 * (i + 1) * 37},
                        {"writes_per_s", 0.5 * i},
                        {"covered_by", nullptr},
                        {"reason", "no scan in 7 days of statistics"}});
  }
  nlohmann::json proposals = nlohmann::json::array();
  for (int i = 0; i < 3; ++i) {
    const FleetStatement& s = agent.statements[static_cast<std::size_t>(i)];
    proposals.push_back(
        {{"kind", "create_index"},
         {"spec",
          {{"schema", "app"}, {"table", "table_" + std::to_string(i)}, {"columns", {"status"}}}},
         {"table", "app.table_" + std::to_string(i)},
         {"table_digest", Hex(std::hash<std::string>()(s.queryid), 16) + Hex(i, 16)},
         {"affected_queryids", {s.queryid}},
         {"statements", {{{"queryid", s.queryid}, {"cost_before", 1234.5}, {"cost_after", 8.3}}}},
         {"cost_before", 1234.5},
         {"cost_after", 8.3},
         {"saving_pct", 99.3},
         {"index_size_bytes", 2457600},
         {"reason", "sequential scan filtering on status"}});
  }
  const nlohmann::json advice = {
      {"index_stats",
       {{"stats_since", FormatRfc3339(std::chrono::system_clock::time_point(
                            std::chrono::seconds(at_s - 30 * kDay)))},
        {"stats_age_s", 30 * kDay},
        {"stats_since_source", "server_start"},
        {"window_s", 900}}},
      {"indexes", index_list},
      {"index_findings", findings},
      {"proposals", proposals},
      {"advisor",
       {{"hypopg", true},
        {"notes", nlohmann::json::array()},
        {"skipped", nlohmann::json::array()}}}};
  return advice.dump();
}

// Load through the day: 0.5 at 04:00 UTC, 1.5 at 16:00.
double Diurnal(int64_t at_s) {
  return 1.0 + 0.5 * std::sin(2 * std::numbers::pi * static_cast<double>(at_s % kDay - 10 * kHour) /
                              static_cast<double>(kDay));
}

class Writer {
 public:
  Writer(const Fleet& fleet, Store& store, SettableClock& clock)
      : fleet_(fleet), store_(store), clock_(clock), rng_(fleet.spec.seed * 7919 + 17) {}

  // One sample of `agent` collected at `at_s` covering `window_s` seconds.
  void Sample(std::size_t agent_index, int64_t at_s, double window_s, bool with_advice) {
    const FleetAgent& agent = fleet_.agents[agent_index];
    std::uniform_real_distribution<double> noise(0.7, 1.3), slow(0.8, 1.6), drift(-2, 2);
    const double load = Diurnal(at_s);
    DatabaseSample db;
    db.agent_id = agent.agent_id;
    db.database = agent.database;
    db.collected_s = at_s;
    db.window_s = window_s;
    db.connections = agent.connections * noise(rng_);
    db.cache_hit_ratio = std::min(1.0, 0.97 + 0.03 * noise(rng_) - 0.03);
    db.tps = agent.tps * load * noise(rng_);
    statements_.clear();
    const bool first = !started_[agent_index];
    for (const FleetStatement& s : agent.statements) {
      StatementSample sample;
      sample.queryid = s.queryid;
      sample.fingerprint = s.fingerprint;
      if (first) sample.text = s.text;
      sample.calls = std::round(s.calls_per_s * window_s * load * noise(rng_));
      sample.total_exec_ms = sample.calls * s.mean_ms * slow(rng_);
      sample.rows = std::round(sample.calls * s.rows_per_call);
      sample.score = std::clamp(s.score + drift(rng_), 0.0, 100.0);
      sample.duration_class = s.duration_class;
      sample.cumulative_min_ms = s.mean_ms * 0.1;
      sample.cumulative_max_ms = s.mean_ms * 40;
      db.total_exec_ms += sample.total_exec_ms;
      db.calls += sample.calls;
      statements_.push_back(std::move(sample));
    }
    // What the agent did not send: the remainder.
    db.total_exec_ms *= 1.08;
    db.calls *= 1.12;
    started_[agent_index] = true;
    std::optional<std::string> advice;
    if (with_advice) advice = AdviceJson(agent, fleet_.spec.indexes_per_database, at_s);
    Check(store_.AddSeriesSamples(db, statements_, advice), "AddSeriesSamples");
    ++stats_.sample_calls;
  }

  void Heartbeat(std::size_t agent_index, int64_t at_s, int64_t start_s) {
    const auto begin = std::chrono::steady_clock::now();
    clock_.SetUnixSeconds(at_s);
    const nlohmann::json body = {
        {"protocol", "1.0"},
        {"status", "ok"},
        {"uptime_s", at_s - start_s},
        {"spool_depth", 0},
        {"spool_dropped", 0},
        {"snapshots_lost", 0},
        {"last_collect_at",
         FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(at_s)))},
        {"recent_errors", nlohmann::json::array()}};
    auto outcome = store_.AddHeartbeat(fleet_.agents[agent_index].agent_id, body.dump());
    Check(outcome, "AddHeartbeat");
    if (*outcome != controlplane::StoreOutcome::kStored) {
      throw std::runtime_error("AddHeartbeat: the agent is not registered");
    }
    ++stats_.heartbeats;
    stats_.heartbeats_s +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  }

  PopulationStats& stats() { return stats_; }
  void Reset(std::size_t agents) { started_.assign(agents, false); }

 private:
  const Fleet& fleet_;
  Store& store_;
  SettableClock& clock_;
  std::mt19937_64 rng_;
  std::vector<StatementSample> statements_;
  std::vector<bool> started_;
  PopulationStats stats_;
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Fleet MakeFleet(const FleetSpec& spec) {
  if (spec.agents < 1 || spec.statements < 3 || spec.days < 2 || spec.interval_s < 1) {
    throw std::runtime_error("a fleet needs an agent, 3 statements, 2 days and an interval");
  }
  Fleet fleet;
  fleet.spec = spec;
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::uniform_int_distribution<int> offset(0, spec.interval_s - 1);
  for (int a = 0; a < spec.agents; ++a) {
    FleetAgent agent;
    agent.agent_id = Uuid(rng);
    char host[32];
    std::snprintf(host, sizeof host, "db-%02d.example.internal", a + 1);
    agent.hostname = host;
    char database[16];
    std::snprintf(database, sizeof database, "shop_%02d", a + 1);
    agent.database = database;
    agent.offset_s = offset(rng);
    agent.connections = 20 + 80 * unit(rng);
    agent.tps = 50 + 950 * unit(rng);
    for (int i = 0; i < spec.statements; ++i) {
      FleetStatement s;
      s.queryid = std::to_string(static_cast<int64_t>(rng()));
      s.fingerprint = Hex(rng(), 16);
      s.text = StatementText(rng, i);
      // A few statements do most of the calls; means from 0.02 ms to 2 s.
      s.calls_per_s = 200.0 / std::pow(i + 1, 1.2) * (0.5 + unit(rng));
      s.mean_ms = 0.02 * std::pow(10.0, 5 * unit(rng) * unit(rng));
      s.rows_per_call = std::floor(100 * unit(rng) * unit(rng)) + 1;
      s.score = 100 * unit(rng) * unit(rng);
      s.duration_class = s.mean_ms > 500 ? "heavy" : s.mean_ms > 50 ? "long" : "standard";
      agent.statements.push_back(std::move(s));
    }
    fleet.agents.push_back(std::move(agent));
  }
  return fleet;
}

PopulationStats PopulateStore(const Fleet& fleet, Store& store, SettableClock& clock,
                              const std::function<void(const std::string&)>& progress) {
  const FleetSpec& spec = fleet.spec;
  const auto start = std::chrono::steady_clock::now();
  const int64_t now = spec.now_s;
  const int64_t begin = now - spec.days * kDay;
  // Real snapshots from here on: what minute buckets remain after retention.
  const int64_t minutes_from =
      now - std::chrono::duration_cast<std::chrono::seconds>(controlplane::kMinuteSeriesRetention)
                .count();
  const std::size_t agents = fleet.agents.size();
  Writer writer(fleet, store, clock);
  writer.Reset(agents);

  clock.SetUnixSeconds(begin);
  for (const FleetAgent& agent : fleet.agents) {
    nlohmann::json databases = nlohmann::json::array();
    databases.push_back({{"name", agent.database},
                         {"server_version_num", 150018},
                         {"extensions", {"pg_stat_statements 1.10"}}});
    Check(store.UpsertAgent({agent.agent_id, agent.hostname, "0.1.0", databases.dump()}),
          "UpsertAgent");
  }

  // Every agent's heartbeats of the intervals that start before `to_s`, in time order, none after
  // `now`.
  int64_t next_heartbeat = begin;
  const auto heartbeats_until = [&](int64_t to_s) {
    if (spec.heartbeat_interval_s <= 0) return;
    for (; next_heartbeat < to_s; next_heartbeat += spec.heartbeat_interval_s) {
      for (std::size_t a = 0; a < agents; ++a) {
        const int64_t at = next_heartbeat + fleet.agents[a].offset_s;
        if (at <= now) writer.Heartbeat(a, at, begin);
      }
    }
  };

  // The days before the last 24 h: one sample per agent and hour, in the middle of the hour.
  auto phase = std::chrono::steady_clock::now();
  const int64_t first_hour = begin - begin % kHour;
  for (int64_t hour = first_hour; hour < minutes_from - minutes_from % kHour; hour += kHour) {
    heartbeats_until(hour + kHour);
    for (std::size_t a = 0; a < agents; ++a) {
      const int64_t at = std::max(begin, hour + kHour / 2 + fleet.agents[a].offset_s);
      clock.SetUnixSeconds(at);
      writer.Sample(a, at, static_cast<double>(kHour), /*with_advice=*/true);
    }
    if ((hour - first_hour) % kDay == 0) {
      progress("history: day " + std::to_string((hour - first_hour) / kDay + 1) + " of " +
               std::to_string(spec.days) + " (hour buckets)");
    }
  }
  writer.stats().hours_s = SecondsSince(phase);

  // The last 24 h: every agent's snapshot every interval.
  phase = std::chrono::steady_clock::now();
  const int64_t first_tick = minutes_from - minutes_from % spec.interval_s;
  int64_t reported_hour = -1;
  for (int64_t tick = first_tick; tick < now; tick += spec.interval_s) {
    heartbeats_until(tick + spec.interval_s);
    for (std::size_t a = 0; a < agents; ++a) {
      const int64_t at = tick + fleet.agents[a].offset_s;
      if (at < minutes_from || at > now) continue;
      clock.SetUnixSeconds(at);
      const bool advice = at % spec.advice_interval_s < spec.interval_s;
      writer.Sample(a, at, static_cast<double>(spec.interval_s), advice);
    }
    if (const int64_t hour = (tick - first_tick) / kHour; hour != reported_hour && hour % 3 == 0) {
      reported_hour = hour;
      progress("history: last 24 h, hour " + std::to_string(hour) + " (" +
               std::to_string(writer.stats().sample_calls) + " snapshots so far, " +
               std::to_string(static_cast<int64_t>(SecondsSince(start))) + " s)");
    }
  }
  if (spec.heartbeat_interval_s <= 0) {
    for (std::size_t a = 0; a < agents; ++a) writer.Heartbeat(a, now, begin);
  }
  writer.stats().minutes_s = SecondsSince(phase);

  // Recommendations spread over the agents and their heaviest statements, over the last day.
  clock.SetUnixSeconds(now - kDay);
  static const char* const kStatuses[] = {"proposed", "approved", "applied", "verified",
                                          "rejected"};
  for (int r = 0; r < spec.recommendations; ++r) {
    const FleetAgent& agent = fleet.agents[static_cast<std::size_t>(r) % agents];
    const std::size_t s =
        static_cast<std::size_t>(r / static_cast<int>(agents)) % agent.statements.size();
    const std::string id = "adv-" + Hex(static_cast<uint64_t>(r) * 0x9e3779b97f4a7c15ULL, 16) +
                           Hex(static_cast<uint64_t>(r), 16);
    const auto expires =
        FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(now + 6 * kDay)));
    const nlohmann::json body = {
        {"id", id},
        {"agent_id", agent.agent_id},
        {"database", agent.database},
        {"kind", "create_index"},
        {"spec",
         {{"schema", "app"},
          {"table", "table_" + std::to_string(s)},
          {"columns", {"status", "created_at"}},
          {"include", nlohmann::json::array()},
          {"method", "btree"}}},
        {"affected_queryids", {std::stoll(agent.statements[s].queryid)}},
        {"guard", {{"verify_window_s", 900}, {"max_regression_pct", 20}, {"auto_rollback", true}}},
        {"expires_at", expires},
        {"reason", "sequential scan filtering on status"}};
    Check(store.AddRecommendation({id, agent.agent_id, kStatuses[r % 5], expires, body.dump()}),
          "AddRecommendation");
  }

  // Retention as `serve` runs it (retention.cc) with the default history of 14 days.
  clock.SetUnixSeconds(now);
  phase = std::chrono::steady_clock::now();
  auto pruned = store.PruneSeries(minutes_from, now - controlplane::kDefaultHistoryDays * kDay);
  Check(pruned, "PruneSeries");
  writer.stats().pruned_rows = *pruned;
  writer.stats().prune_s = SecondsSince(phase);
  writer.stats().total_s = SecondsSince(start);
  return writer.stats();
}

}  // namespace optischema::bench
