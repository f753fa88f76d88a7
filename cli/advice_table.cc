#include "cli/advice_table.h"

#include <algorithm>
#include <cstdio>
#include <vector>

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

  out += "\nproposals:\n";
  if (a.proposals.empty()) {
    out += "  none\n";
  } else {
    Table t = {{"  KIND", "TARGET", "SAVING", "SIZE", "STATEMENTS", "REASON"}};
    for (const auto& p : a.proposals) {
      const bool create = p.kind == "create_index";
      const std::string target = create ? p.schema + "." + p.table + " (" + Join(p.columns) + ")"
                                        : p.schema + "." + p.index;
      std::vector<std::string> ids;
      for (const auto& s : p.statements) ids.push_back(std::to_string(s.queryid));
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
  if (!a.skipped.empty()) {
    out += "\nstatements skipped:\n";
    for (const auto& s : a.skipped)
      out += "  " + std::to_string(s.queryid) + ": " + s.reason + "\n";
  }
  return out;
}

}  // namespace optischema::cli
