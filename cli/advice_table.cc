#include "cli/advice_table.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>

#include "cli/plan_tree.h"
#include "core/human_units.h"

namespace optischema::cli {
namespace {

using Table = std::vector<std::vector<std::string>>;

std::string Format(const char* fmt, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// Columns padded to their widest cell, two spaces apart; the last column is not padded.
std::string Render(const Table& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string Join(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

std::string Age(const std::optional<double>& seconds) {
  if (!seconds) return "never";
  if (*seconds >= 86400) return Format("%.1fd", *seconds / 86400);
  return Format("%.1fh", *seconds / 3600);
}

// The more recent of a manual and an automatic run.
std::optional<double> Latest(const std::optional<double>& a, const std::optional<double>& b) {
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}

// Table health (tables with findings first, as the advisor orders them, at most kHealthRows) and
// the vacuum findings with their evidence.
constexpr std::size_t kHealthRows = 20;

std::string TableHealthSection(const protocol::Advice& a) {
  std::string out = "\ntable health:\n";
  if (!a.table_health) {
    out += "  not read\n";
  } else {
    const protocol::TableHealthReport& h = a.table_health.value();
    out += Format("  server: autovacuum %s, vacuum threshold %lld + %.3g x rows, analyze "
                  "threshold %lld + %.3g x rows, freeze max age %lld, multixact %lld\n",
                  h.settings.autovacuum ? "on" : "off",
                  static_cast<long long>(h.settings.vacuum_threshold),
                  h.settings.vacuum_scale_factor,
                  static_cast<long long>(h.settings.analyze_threshold),
                  h.settings.analyze_scale_factor,
                  static_cast<long long>(h.settings.freeze_max_age),
                  static_cast<long long>(h.settings.multixact_freeze_max_age));
    Table t = {{"  TABLE", "LIVE", "DEAD", "MOD", "VACUUMED", "ANALYZED", "SIZE", "XID AGE",
                "MXID AGE", "OPTIONS"}};
    for (std::size_t i = 0; i < h.tables.size() && i < kHealthRows; ++i) {
      const protocol::TableHealth& r = h.tables[i];
      std::vector<std::string> options;
      for (const auto& [name, value] : r.options) options.push_back(name + "=" + value);
      t.push_back({"  " + r.schema + "." + r.name, std::to_string(r.live_tuples),
                   std::to_string(r.dead_tuples), std::to_string(r.mod_since_analyze),
                   Age(Latest(r.last_vacuum_age_s, r.last_autovacuum_age_s)),
                   Age(Latest(r.last_analyze_age_s, r.last_autoanalyze_age_s)),
                   HumanBytes(r.table_bytes), std::to_string(r.xid_age),
                   std::to_string(r.mxid_age), options.empty() ? "-" : Join(options)});
    }
    out += Render(t);
    const std::size_t more = h.tables.size() > kHealthRows ? h.tables.size() - kHealthRows : 0;
    if (more > 0 || h.tables_omitted > 0) {
      out += Format("  (%zu more tables read, %lld not read)\n", more,
                    static_cast<long long>(h.tables_omitted));
    }
  }
  out += "\nvacuum findings:\n";
  if (a.vacuum_findings.empty()) {
    out += "  none\n";
  } else {
    Table t = {{"  KIND", "SEVERITY", "TABLE", "METRIC", "VALUE", "THRESHOLD", "REASON"}};
    for (const auto& f : a.vacuum_findings) {
      t.push_back({"  " + std::string(protocol::VacuumFindingKindName(f.kind)), f.severity,
                   f.schema + "." + f.table, f.metric, std::to_string(f.value),
                   std::to_string(f.threshold), f.reason});
    }
    out += Render(t);
  }
  return out;
}

}  // namespace

std::string FormatAdviceTable(const std::string& database, const protocol::Advice& a) {
  std::string out = Format("database %s: %zu indexes; index statistics since %s (%s, %.1f days)",
                           database.c_str(), a.indexes.size(), a.stats.stats_since.c_str(),
                           a.stats.stats_since_source.c_str(), a.stats.stats_age_s / 86400);
  out += std::string("; hypopg ") + (a.hypopg ? "installed" : "not installed") + "\n\n";

  out += "index findings:\n";
  if (a.findings.empty()) {
    out += "  none\n";
  } else {
    Table t = {{"  KIND", "INDEX", "SIZE", "WRITES/S", "REASON"}};
    for (const auto& f : a.findings) {
      t.push_back({"  " + std::string(protocol::FindingKindName(f.kind)), f.schema + "." + f.index,
                   HumanBytes(f.bytes), f.writes_per_s ? Format("%.2f", *f.writes_per_s) : "-",
                   f.reason});
    }
    out += Render(t);
  }

  out += TableHealthSection(a);

  out += "\nproposals:\n";
  if (a.proposals.empty()) {
    out += "  none\n";
  } else {
    Table t = {{"  KIND", "TARGET", "SAVING", "SIZE", "STATEMENTS", "REASON"}};
    for (const auto& p : a.proposals) {
      const bool create = p.kind == "create_index";
      std::string target = create ? p.schema + "." + p.table + " (" + Join(p.columns) + ")"
                                  : p.schema + "." + p.index;
      if (p.kind == "set_table_options" || p.kind == "analyze_table") {
        std::vector<std::string> options;
        for (const auto& [name, value] : p.table_options) options.push_back(name + "=" + value);
        target = p.schema + "." + p.table + (options.empty() ? "" : " (" + Join(options) + ")");
      }
      std::vector<std::string> ids;
      for (const auto& s : p.statements) ids.push_back(std::to_string(s.queryid));
      for (const int64_t queryid : p.queryids) ids.push_back(std::to_string(queryid));
      t.push_back({"  " + p.kind, target, create ? Format("%.1f%%", p.saving_pct) : "-",
                   HumanBytes(p.index_size_bytes), ids.empty() ? "-" : Join(ids), p.reason});
    }
    out += Render(t);
  }

  if (a.schema && !a.schema->drift.empty()) {
    out += "\nschema drift since the previous run:\n";
    Table t = {{"  TABLE", "CHANGE", "NAME", "DETAIL"}};
    for (const auto& d : a.schema->drift) {
      t.push_back({"  " + d.table, d.change, d.name.empty() ? "-" : d.name, d.detail});
    }
    out += Render(t);
  }
  if (!a.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& n : a.notes) out += "  " + n + "\n";
  }
  out += FormatPlannedStatements(a.plans);
  if (!a.skipped.empty()) {
    out += "\nstatements skipped:\n";
    for (const auto& s : a.skipped)
      out += "  " + std::to_string(s.queryid) + ": " + s.reason + "\n";
  }
  return out;
}

}  // namespace optischema::cli
