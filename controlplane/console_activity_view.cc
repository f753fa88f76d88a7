#include "controlplane/console_activity_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "controlplane/console_html.h"
#include "controlplane/console_pages.h"
#include "controlplane/json_members.h"
#include "protocol/activity.h"

namespace optischema::controlplane {
namespace {

std::string Fixed(double value, const char* format) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// Average active sessions, as the agent writes them (3 decimals).
std::string LoadCell(const nlohmann::json& object, const char* key) {
  const std::optional<double> load = NumberMember(object, key);
  return load ? Fixed(*load, "%.3f") : "-";
}

// A whole number (a pid, a count) in full.
std::string IntegerCell(const nlohmann::json& object, const char* key) {
  const std::optional<double> value = NumberMember(object, key);
  if (!value || !std::isfinite(*value)) return "-";
  return Fixed(*value, "%.0f");
}

// "4.2 s", "3.5 min", "2.1 h".
std::string AgeCell(const nlohmann::json& object, const char* key) {
  const std::optional<double> s = NumberMember(object, key);
  if (!s || !std::isfinite(*s)) return "-";
  if (*s < 60) return Fixed(*s, "%.1f s");
  if (*s < 3600) return Fixed(*s / 60, "%.1f min");
  return Fixed(*s / 3600, "%.1f h");
}

std::string Text(const nlohmann::json& object, const char* key) {
  const std::string text = StringMember(object, key);
  return text.empty() ? "-" : Escape(text);
}

std::string Wait(const nlohmann::json& session) {
  const std::string wait_class = StringMember(session, "wait_class");
  if (wait_class.empty()) return "-";
  const std::string event = StringMember(session, "wait_event");
  return Escape(event.empty() ? wait_class : wait_class + ": " + event);
}

std::string Statement(const nlohmann::json& object, const ActivityPlace& place) {
  const std::string queryid = StringMember(object, "queryid");
  if (queryid.empty()) return "-";
  const auto label = place.statement_labels.find(queryid);
  return StatementLink(place.agent_id, place.database, queryid,
                       label == place.statement_labels.end() ? queryid : label->second);
}

std::string Section(const std::string& id, const std::string& title, const std::string& html) {
  return "<section id=\"" + id + "\"><h3>" + Escape(title) + "</h3>" + html + "</section>";
}

std::string ChainRow(const nlohmann::json& session, const ActivityPlace& place) {
  const double level = std::clamp(NumberMember(session, "level").value_or(0), 0.0, 64.0);
  std::string indent;
  for (int i = 0; i < static_cast<int>(level); ++i) indent += "&emsp;";
  return "<tr class=\"chain-session\"><td>" + indent + (level > 0 ? "↳ " : "") + "pid " +
         IntegerCell(session, "pid") + (level > 0 ? "" : " (root)") + "</td><td>" +
         IntegerCell(session, "level") + "</td><td>" + Text(session, "state") + "</td><td>" +
         Wait(session) + "</td><td>" + Statement(session, place) + "</td><td>" +
         AgeCell(session, "state_age_s") + "</td><td>" + AgeCell(session, "xact_age_s") +
         "</td><td>" + Text(session, "backend_type") + "</td></tr>";
}

std::string BlockingChains(const nlohmann::json& activity, const ActivityPlace& place) {
  const nlohmann::json& chains = ArrayMember(activity, "blocking");
  if (chains.empty()) return "<p class=\"empty\">No blocking in the last window.</p>";
  std::string html;
  for (const nlohmann::json& chain : chains) {
    const nlohmann::json& blocked = ArrayMember(chain, "blocked");
    html += "<p class=\"chain\">" + std::to_string(blocked.size()) +
            " blocked session(s), depth " + IntegerCell(chain, "depth") + ", longest wait " +
            AgeCell(chain, "longest_wait_s") + ", seen in " + IntegerCell(chain, "samples") +
            " sample(s)</p><table class=\"chain\"><thead><tr><th>Session</th><th>Level</th>"
            "<th>State</th><th>Wait</th><th>Statement</th><th>State age</th>"
            "<th>Transaction age</th><th>Backend type</th></tr></thead><tbody>" +
            ChainRow(AnyMember(chain, "root"), place);
    for (const nlohmann::json& session : blocked) html += ChainRow(session, place);
    html += "</tbody></table>";
  }
  return html;
}

}  // namespace

std::string RenderLoadChart(const std::vector<WaitClassPoint>& points, bool hourly) {
  std::vector<int64_t> buckets;
  std::map<std::string, double> totals;
  for (const WaitClassPoint& p : points) {
    if (buckets.empty() || buckets.back() != p.bucket_s) buckets.push_back(p.bucket_s);
    totals[p.wait_class] += p.active_s;
  }
  std::vector<std::string> classes;
  for (const auto& entry : totals) classes.push_back(entry.first);
  std::stable_sort(classes.begin(), classes.end(), [&](const auto& a, const auto& b) {
    const bool a_cpu = a == protocol::kOnCpuWaitClass, b_cpu = b == protocol::kOnCpuWaitClass;
    if (a_cpu != b_cpu) return a_cpu;
    return totals[a] > totals[b];
  });
  std::vector<ChartSeries> series;
  std::map<std::string, std::size_t> index;
  for (const std::string& wait_class : classes) {
    index[wait_class] = series.size();
    // A bucket with activity where the class was not seen had no load in it.
    series.push_back({wait_class, std::vector<std::optional<double>>(buckets.size(), 0.0)});
  }
  std::vector<std::string> labels;
  for (const int64_t bucket : buckets) labels.push_back(FormatBucket(bucket, hourly));
  std::size_t at = 0;
  for (const WaitClassPoint& p : points) {
    while (buckets[at] != p.bucket_s) ++at;
    series[index[p.wait_class]].values[at] =
        p.window_s > 0 ? std::optional(p.active_s / p.window_s) : std::nullopt;
  }
  return RenderChart("chart-load", "Database load by wait class (average active sessions)",
                     "line", labels, series);
}

std::vector<std::string> ActivityQueryids(const nlohmann::json& activity) {
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (const nlohmann::json& s : ArrayMember(activity, "by_statement")) {
    const std::string queryid = StringMember(s, "queryid");
    if (!queryid.empty() && seen.insert(queryid).second) ids.push_back(queryid);
  }
  return ids;
}

std::string RenderActivitySections(const nlohmann::json& activity, int64_t collected_s,
                                   int64_t now_s, const ActivityPlace& place) {
  std::string html = "<p id=\"activity-summary\">Latest window (" +
                     Escape(FormatAgo(collected_s, now_s)) + "): load " +
                     LoadCell(activity, "load") + " average active sessions, at most " +
                     IntegerCell(activity, "max_active") + " active at once, " +
                     IntegerCell(activity, "samples") + " samples every " +
                     IntegerCell(activity, "sample_interval_s") + " s, lock waits in " +
                     IntegerCell(activity, "lock_wait_samples") + " of them.</p>";
  const nlohmann::json& attribution = AnyMember(activity, "statement_attribution");
  if (attribution.is_boolean() && !attribution.get<bool>()) {
    const std::string note = StringMember(activity, "attribution_note");
    html += "<p class=\"notice\" id=\"attribution-note\">" +
            Escape(note.empty() ? "The server does not attribute load to statements." : note) +
            "</p>";
  }

  std::vector<std::vector<std::string>> waits;
  for (const nlohmann::json& w : ArrayMember(activity, "top_waits")) {
    waits.push_back({Text(w, "wait_class"), Text(w, "wait_event"), LoadCell(w, "load")});
  }
  html += Section("top-waits", "Top waits",
                  RenderTable({"Wait class", "Wait event", "Load (sessions)"}, waits));

  std::vector<std::vector<std::string>> statements;
  for (const nlohmann::json& s : ArrayMember(activity, "by_statement")) {
    statements.push_back({Statement(s, place), Text(s, "wait_class"), LoadCell(s, "load")});
  }
  html += Section("load-by-statement", "Load by statement",
                  RenderTable({"Statement", "Wait class", "Load (sessions)"}, statements));

  html += Section("blocking-chains", "Blocking chains", BlockingChains(activity, place));

  std::vector<std::vector<std::string>> idle;
  for (const nlohmann::json& s : ArrayMember(activity, "idle_in_transaction")) {
    idle.push_back({IntegerCell(s, "pid"), Statement(s, place), Text(s, "state"),
                    AgeCell(s, "idle_s"), AgeCell(s, "xact_age_s"), IntegerCell(s, "locks_held"),
                    IntegerCell(s, "blocking")});
  }
  html += Section("idle-in-transaction",
                  "Idle in transaction (longer than " +
                      AgeCell(activity, "idle_in_transaction_warn_s") + ")",
                  RenderTable({"Pid", "Last statement", "State", "Idle", "Transaction age",
                               "Locks held", "Sessions blocked"},
                              idle));
  return html;
}

std::string RenderStatementLoad(const nlohmann::json& activity, const std::string& queryid) {
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& s : ArrayMember(activity, "by_statement")) {
    if (StringMember(s, "queryid") == queryid) {
      rows.push_back({Text(s, "wait_class"), LoadCell(s, "load")});
    }
  }
  return rows.empty() ? "" : RenderTable({"Wait class", "Load (sessions)"}, rows);
}

}  // namespace optischema::controlplane
