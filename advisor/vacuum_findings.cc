#include "advisor/vacuum_findings.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "core/human_units.h"

namespace optischema::advisor {
namespace {

using protocol::TableHealth;
using protocol::VacuumFinding;
using protocol::VacuumFindingKind;

std::string Decimal(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string Duration(const std::optional<double>& seconds, const char* what) {
  if (!seconds) return std::string("never ") + what;
  char text[64];
  if (*seconds >= 86400) {
    std::snprintf(text, sizeof text, "last %s %.1f days ago", what, *seconds / 86400);
  } else {
    std::snprintf(text, sizeof text, "last %s %.1f hours ago", what, *seconds / 3600);
  }
  return text;
}

// The more recent of two ages; none when neither happened.
std::optional<double> Latest(const std::optional<double>& a, const std::optional<double>& b) {
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}

std::optional<double> OptionNumber(const TableHealth& t, const char* name) {
  const auto it = t.options.find(name);
  if (it == t.options.end()) return std::nullopt;
  double value = 0;
  const std::string& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

double Rows(const TableHealth& t) {
  return t.reltuples >= 0 ? t.reltuples : static_cast<double>(t.live_tuples);
}

bool AutovacuumDisabled(const TableHealth& t) {
  const auto it = t.options.find("autovacuum_enabled");
  return it != t.options.end() && it->second == "false";
}

// The effective thresholds and scale factors of one table.
struct Effective {
  double vacuum_base = 0;
  double vacuum_scale = 0;
  double analyze_base = 0;
  double analyze_scale = 0;
  int64_t freeze_max_age = 0;
  int64_t multixact_freeze_max_age = 0;

  int64_t VacuumThreshold(const TableHealth& t) const {
    return static_cast<int64_t>(std::floor(vacuum_base + vacuum_scale * Rows(t)));
  }
  int64_t AnalyzeThreshold(const TableHealth& t) const {
    return static_cast<int64_t>(std::floor(analyze_base + analyze_scale * Rows(t)));
  }
};

Effective EffectiveFor(const TableHealth& t, const protocol::AutovacuumSettings& s) {
  Effective e;
  e.vacuum_base = OptionNumber(t, "autovacuum_vacuum_threshold")
                      .value_or(static_cast<double>(s.vacuum_threshold));
  e.vacuum_scale = OptionNumber(t, "autovacuum_vacuum_scale_factor").value_or(s.vacuum_scale_factor);
  e.analyze_base = OptionNumber(t, "autovacuum_analyze_threshold")
                       .value_or(static_cast<double>(s.analyze_threshold));
  e.analyze_scale =
      OptionNumber(t, "autovacuum_analyze_scale_factor").value_or(s.analyze_scale_factor);
  // A table may only lower the freeze ages (PostgreSQL ignores a higher per-table value).
  e.freeze_max_age = s.freeze_max_age;
  if (auto v = OptionNumber(t, "autovacuum_freeze_max_age")) {
    e.freeze_max_age = std::min(e.freeze_max_age, static_cast<int64_t>(*v));
  }
  e.multixact_freeze_max_age = s.multixact_freeze_max_age;
  if (auto v = OptionNumber(t, "autovacuum_multixact_freeze_max_age")) {
    e.multixact_freeze_max_age = std::min(e.multixact_freeze_max_age, static_cast<int64_t>(*v));
  }
  return e;
}

VacuumFinding Finding(VacuumFindingKind kind, const TableHealth& t, const char* metric,
                      int64_t value, int64_t threshold) {
  VacuumFinding f;
  f.kind = kind;
  f.schema = t.schema;
  f.table = t.name;
  f.severity = "warning";
  f.metric = metric;
  f.value = value;
  f.threshold = threshold;
  return f;
}

std::string Name(const TableHealth& t) { return t.schema + "." + t.name; }

std::string ThresholdText(int64_t threshold, double base, double scale, double rows) {
  return std::to_string(threshold) + " = " + Decimal(base) + " + " + Decimal(scale) + " x " +
         Decimal(rows) + " rows";
}

void DeadTuples(const TableHealth& t, const Effective& e, const protocol::AutovacuumSettings& s,
                std::vector<VacuumFinding>& out) {
  const int64_t threshold = e.VacuumThreshold(t);
  if (t.dead_tuples <= threshold) return;
  const bool disabled = AutovacuumDisabled(t);
  const std::optional<double> since = Latest(t.last_vacuum_age_s, t.last_autovacuum_age_s);
  if (!disabled && since && *since <= kVacuumLimitS) return;
  VacuumFinding f =
      Finding(VacuumFindingKind::kDeadTuples, t, "n_dead_tup", t.dead_tuples, threshold);
  f.since_s = since;
  if (t.dead_tuples > t.live_tuples) f.severity = "critical";
  f.reason = Name(t) + " has " + std::to_string(t.dead_tuples) + " dead tuples (" +
             std::to_string(t.live_tuples) + " live, " + HumanBytes(t.table_bytes) +
             "), past its vacuum threshold " +
             ThresholdText(threshold, e.vacuum_base, e.vacuum_scale, Rows(t)) + "; " +
             Duration(since, "vacuumed");
  if (disabled) f.reason += "; autovacuum is disabled for the table (autovacuum_enabled=false)";
  if (!s.autovacuum) f.reason += "; autovacuum is off on the server";
  out.push_back(std::move(f));
}

void Wraparound(const TableHealth& t, const char* metric, int64_t age, int64_t max_age,
                const char* setting, std::vector<VacuumFinding>& out) {
  const int64_t threshold =
      static_cast<int64_t>(std::floor(kWraparoundFraction * static_cast<double>(max_age)));
  if (max_age <= 0 || age < threshold) return;
  VacuumFinding f = Finding(VacuumFindingKind::kWraparound, t, metric, age, threshold);
  f.since_s = Latest(t.last_vacuum_age_s, t.last_autovacuum_age_s);
  if (age >= kWraparoundCriticalAge) f.severity = "critical";
  f.reason = Name(t) + ": " + metric + " is " + std::to_string(age) + ", at least " +
             Decimal(kWraparoundFraction * 100) + "% of " + setting + " " +
             std::to_string(max_age) +
             " (autovacuum then forces a freezing vacuum of the table; at 2^31 the server stops "
             "assigning ids); " +
             Duration(f.since_s, "vacuumed");
  out.push_back(std::move(f));
}

void StaleStatistics(const TableHealth& t, const Effective& e, std::vector<VacuumFinding>& out) {
  const int64_t threshold = e.AnalyzeThreshold(t);
  if (t.mod_since_analyze <= threshold) return;
  const std::optional<double> since = Latest(t.last_analyze_age_s, t.last_autoanalyze_age_s);
  if (since && *since <= kAnalyzeLimitS) return;
  VacuumFinding f = Finding(VacuumFindingKind::kStaleStatistics, t, "n_mod_since_analyze",
                            t.mod_since_analyze, threshold);
  f.since_s = since;
  f.queryids = t.read_by;
  f.reason = Name(t) + " has " + std::to_string(t.mod_since_analyze) +
             " rows changed since its statistics were gathered, past its analyze threshold " +
             ThresholdText(threshold, e.analyze_base, e.analyze_scale, Rows(t)) + "; " +
             Duration(since, "analyzed");
  if (!t.read_by.empty()) {
    f.reason += "; " + std::to_string(t.read_by.size()) +
                " of the top statements read it and are planned on these statistics";
  }
  out.push_back(std::move(f));
}

void NotKeepingUp(const TableHealth& t, const Effective& e,
                  const std::vector<DeadTupleSample>& previous, std::vector<VacuumFinding>& out) {
  if (previous.size() + 1 < kGrowthRuns) return;
  const int64_t threshold = e.VacuumThreshold(t);
  if (t.dead_tuples <= threshold) return;
  const std::vector<DeadTupleSample> runs(previous.end() - (kGrowthRuns - 1), previous.end());
  int64_t last = runs.front().dead_tuples;
  for (std::size_t i = 1; i <= runs.size(); ++i) {
    const int64_t dead = i < runs.size() ? runs[i].dead_tuples : t.dead_tuples;
    if (dead <= last) return;
    last = dead;
  }
  const int64_t vacuums = t.autovacuum_count - runs.front().autovacuum_count;
  if (vacuums <= 0) return;
  VacuumFinding f = Finding(VacuumFindingKind::kVacuumNotKeepingUp, t, "n_dead_tup",
                            t.dead_tuples, threshold);
  f.since_s = Latest(t.last_vacuum_age_s, t.last_autovacuum_age_s);
  f.reason = Name(t) + ": dead tuples grew at each of the last " + std::to_string(kGrowthRuns) +
             " advisor runs, from " + std::to_string(runs.front().dead_tuples) + " to " +
             std::to_string(t.dead_tuples) + " (vacuum threshold " + std::to_string(threshold) +
             "), although autovacuum vacuumed it " + std::to_string(vacuums) +
             " time(s) meanwhile: it does not keep up with the writes";
  out.push_back(std::move(f));
}

double Excess(const VacuumFinding& f) {
  return f.threshold > 0 ? static_cast<double>(f.value) / static_cast<double>(f.threshold)
                         : static_cast<double>(f.value);
}

const TableHealthReading* FindTable(const TableHealthReadings& readings, const VacuumFinding& f) {
  for (const TableHealthReading& r : readings.tables) {
    if (r.health.schema == f.schema && r.health.name == f.table) return &r;
  }
  return nullptr;
}

}  // namespace

std::vector<VacuumFinding> FindVacuumProblems(const TableHealthReadings& readings,
                                              const DeadTupleHistory& history) {
  std::vector<VacuumFinding> out;
  const protocol::AutovacuumSettings& s = readings.settings;
  for (const TableHealthReading& r : readings.tables) {
    const TableHealth& t = r.health;
    const Effective e = EffectiveFor(t, s);
    DeadTuples(t, e, s, out);
    Wraparound(t, "age(relfrozenxid)", t.xid_age, e.freeze_max_age, "autovacuum_freeze_max_age",
               out);
    Wraparound(t, "mxid_age(relminmxid)", t.mxid_age, e.multixact_freeze_max_age,
               "autovacuum_multixact_freeze_max_age", out);
    StaleStatistics(t, e, out);
    if (auto h = history.find(r.oid); h != history.end()) NotKeepingUp(t, e, h->second, out);
  }
  std::stable_sort(out.begin(), out.end(), [](const VacuumFinding& a, const VacuumFinding& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    return Excess(a) > Excess(b);
  });
  return out;
}

DeadTupleHistory NextDeadTupleHistory(const DeadTupleHistory& previous,
                                      const TableHealthReadings& readings) {
  DeadTupleHistory next;
  for (const TableHealthReading& r : readings.tables) {
    std::vector<DeadTupleSample> samples;
    if (auto h = previous.find(r.oid); h != previous.end()) samples = h->second;
    samples.push_back({r.health.dead_tuples, r.health.autovacuum_count});
    if (samples.size() > kGrowthRuns - 1) {
      samples.erase(samples.begin(), samples.end() - (kGrowthRuns - 1));
    }
    next[r.oid] = std::move(samples);
  }
  return next;
}

std::vector<protocol::IndexProposal> ProposeTableChanges(const std::vector<VacuumFinding>& findings,
                                                         const TableHealthReadings& readings) {
  std::vector<protocol::IndexProposal> options;
  std::vector<protocol::IndexProposal> analyzes;
  std::vector<protocol::IndexProposal> analyzes_unread;
  for (const VacuumFinding& f : findings) {
    const TableHealthReading* r = FindTable(readings, f);
    if (r == nullptr) continue;
    const TableHealth& t = r->health;
    protocol::IndexProposal p;
    p.schema = t.schema;
    p.table = t.name;
    p.queryids = t.read_by;
    if (f.kind == VacuumFindingKind::kDeadTuples && options.size() < kMaxTableProposals) {
      const Effective e = EffectiveFor(t, readings.settings);
      std::vector<std::string> why;
      if (AutovacuumDisabled(t)) {
        p.table_options["autovacuum_enabled"] = "true";
        why.push_back("enable autovacuum for it");
      }
      const bool big = Rows(t) >= kBigTableRows;
      const double target = big ? kBigTableScaleFactor : kTargetScaleFactor;
      if (e.vacuum_scale > target) {
        p.table_options["autovacuum_vacuum_scale_factor"] = big ? "0.01" : "0.05";
        why.push_back("vacuum it once " + Decimal(target * 100) + "% of its rows are dead instead of " +
                      Decimal(e.vacuum_scale * 100) + "%");
      }
      if (p.table_options.empty()) continue;
      p.kind = "set_table_options";
      p.reason = f.reason + ": " + why.front() + (why.size() > 1 ? " and " + why.back() : "");
      if (!readings.settings.autovacuum) {
        p.reason += " (takes effect once autovacuum is on for the server)";
      }
      options.push_back(std::move(p));
    } else if (f.kind == VacuumFindingKind::kStaleStatistics) {
      p.kind = "analyze_table";
      p.reason = f.reason + ": ANALYZE it so that the planner sees the current data";
      (t.read_by.empty() ? analyzes_unread : analyzes).push_back(std::move(p));
    }
  }
  analyzes.insert(analyzes.end(), std::make_move_iterator(analyzes_unread.begin()),
                  std::make_move_iterator(analyzes_unread.end()));
  if (analyzes.size() > kMaxTableProposals) analyzes.resize(kMaxTableProposals);
  options.insert(options.end(), std::make_move_iterator(analyzes.begin()),
                 std::make_move_iterator(analyzes.end()));
  return options;
}

protocol::TableHealthReport BuildTableHealthReport(const TableHealthReadings& readings,
                                                   const std::vector<VacuumFinding>& findings) {
  protocol::TableHealthReport report;
  report.settings = readings.settings;
  report.tables_omitted = readings.tables_omitted;
  std::vector<const TableHealthReading*> rest;
  for (const TableHealthReading& r : readings.tables) rest.push_back(&r);
  for (const VacuumFinding& f : findings) {
    const auto it = std::find_if(rest.begin(), rest.end(), [&](const TableHealthReading* r) {
      return r->health.schema == f.schema && r->health.name == f.table;
    });
    if (it == rest.end()) continue;
    report.tables.push_back((*it)->health);
    rest.erase(it);
  }
  std::stable_sort(rest.begin(), rest.end(), [](const auto* a, const auto* b) {
    return a->health.dead_tuples > b->health.dead_tuples;
  });
  for (const TableHealthReading* r : rest) report.tables.push_back(r->health);
  return report;
}

}  // namespace optischema::advisor
