#include "controlplane/console_table_health_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "controlplane/console_html.h"
#include "controlplane/json_members.h"
#include "core/human_units.h"

namespace optischema::controlplane {
namespace {

std::string TableName(const nlohmann::json& object) {
  return StringMember(object, "schema") + "." + StringMember(object, "table");
}

// "3.5 min ago", or "never" for null (the table never had it).
std::string AgeCell(const nlohmann::json& table, const char* key) {
  const std::optional<double> s = NumberMember(table, key);
  if (!s || !std::isfinite(*s) || *s < 0) return "never";
  return Escape(FormatAgo(0, static_cast<int64_t>(*s)));
}

std::string Bytes(const nlohmann::json& table, const char* key) {
  const std::optional<double> bytes = NumberMember(table, key);
  if (!bytes || !std::isfinite(*bytes) || *bytes < 0 || *bytes > 9.2e18) return "-";
  return Escape(HumanBytes(static_cast<int64_t>(*bytes)));
}

// Dead tuples and their share of all tuples.
std::string DeadCell(const nlohmann::json& table) {
  const std::optional<double> dead = NumberMember(table, "n_dead_tup");
  if (!dead) return "-";
  const double live = NumberMember(table, "n_live_tup").value_or(0);
  std::string cell = FormatNumber(*dead);
  if (live + *dead > 0) cell += " (" + FormatPercent(*dead / (live + *dead)) + ")";
  return cell;
}

// The table's transaction id age against the freeze age that forces an anti-wraparound vacuum.
std::string XidCell(const nlohmann::json& table, const std::optional<double>& freeze_max_age) {
  const std::optional<double> age = NumberMember(table, "xid_age");
  if (!age) return "-";
  std::string cell = FormatNumber(*age);
  if (freeze_max_age && *freeze_max_age > 0) {
    cell += " / " + FormatNumber(*freeze_max_age) + " (" + FormatPercent(*age / *freeze_max_age) +
            ")";
  }
  return cell;
}

}  // namespace

std::string RenderTableHealth(const nlohmann::json& advice) {
  const nlohmann::json& health = AnyMember(advice, "table_health");
  if (!health.is_object()) return "";
  std::map<std::string, std::set<std::string>> kinds;  // table → its findings' kinds
  for (const nlohmann::json& f : ArrayMember(advice, "vacuum_findings")) {
    kinds[TableName(f)].insert(StringMember(f, "kind"));
  }
  const std::optional<double> freeze_max_age =
      NumberMember(AnyMember(health, "settings"), "autovacuum_freeze_max_age");
  std::vector<const nlohmann::json*> tables;
  for (const nlohmann::json& t : ArrayMember(health, "tables")) tables.push_back(&t);
  std::stable_sort(tables.begin(), tables.end(), [&](const auto* a, const auto* b) {
    return kinds.count(TableName(*a)) > kinds.count(TableName(*b));
  });
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json* t : tables) {
    std::string findings;
    if (const auto it = kinds.find(TableName(*t)); it != kinds.end()) {
      for (const std::string& kind : it->second) findings += Badge(kind) + " ";
    }
    rows.push_back({Escape(TableName(*t)), findings.empty() ? "-" : findings,
                    NumberCell(*t, "n_live_tup"), DeadCell(*t),
                    AgeCell(*t, "last_vacuum_age_s"), AgeCell(*t, "last_autovacuum_age_s"),
                    AgeCell(*t, "last_analyze_age_s"), AgeCell(*t, "last_autoanalyze_age_s"),
                    XidCell(*t, freeze_max_age), Bytes(*t, "table_bytes"),
                    Bytes(*t, "toast_bytes")});
  }
  std::string html =
      "<section id=\"table-health\"><h3>Table health</h3>" +
      RenderTable({"Table", "Findings", "Live tuples", "Dead tuples", "Last vacuum",
                   "Last autovacuum", "Last analyze", "Last autoanalyze",
                   "XID age / freeze max age", "Size", "TOAST size"},
                  rows);
  if (const std::optional<double> omitted = NumberMember(health, "tables_omitted");
      omitted && *omitted > 0) {
    html += "<p class=\"rule\">" + FormatNumber(*omitted) +
            " more tables were not read (past the agent's bound).</p>";
  }
  return html + "</section>";
}

std::string RenderVacuumFindings(const nlohmann::json& advice) {
  const nlohmann::json& findings = AnyMember(advice, "vacuum_findings");
  if (!findings.is_array()) return "";
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& f : findings) {
    rows.push_back({Badge(StringMember(f, "kind")), Escape(TableName(f)),
                    Escape(StringMember(f, "severity")), Escape(StringMember(f, "reason"))});
  }
  return "<section id=\"vacuum-findings\"><h3>Vacuum findings</h3>" +
         RenderTable({"Finding", "Table", "Severity", "Why"}, rows) + "</section>";
}

}  // namespace optischema::controlplane
