// The overview: every agent's health, every database's KPIs, and for the chosen database its
// charts, its load by wait class and latest activity, and its top statements (console_pages.h).

#include <nlohmann/json.hpp>

#include "controlplane/command_output.h"
#include "controlplane/console_activity_view.h"
#include "controlplane/console_pages.h"
#include "controlplane/json_members.h"

namespace optischema::controlplane {
namespace {

constexpr int64_t kTopStatements = 15;
constexpr std::size_t kShownTextChars = 140;
constexpr int64_t kKpiWindowSeconds = 3600;

std::string LastError(const nlohmann::json& heartbeat) {
  if (!heartbeat.is_object() || !heartbeat.contains("recent_errors") ||
      !heartbeat["recent_errors"].is_array() || heartbeat["recent_errors"].empty()) {
    return "-";
  }
  const nlohmann::json& last = heartbeat["recent_errors"].back();
  return last.is_string() ? Escape(last.get<std::string>()) : "-";
}

struct Kpis {
  std::optional<double> connections;
  std::optional<double> cache_hit_ratio;
  std::optional<double> tps;
  std::optional<double> exec_ms_per_s;
};

Kpis KpisOf(const std::vector<DatabasePoint>& points) {
  DatabasePoint sum;
  for (const DatabasePoint& p : points) {
    sum.window_s += p.window_s;
    sum.total_exec_ms += p.total_exec_ms;
    sum.connections_sum += p.connections_sum;
    sum.cache_hit_ratio_sum += p.cache_hit_ratio_sum;
    sum.tps_sum += p.tps_sum;
    sum.samples += p.samples;
    sum.cache_hit_samples += p.cache_hit_samples;
  }
  Kpis kpis;
  if (sum.samples > 0) {
    kpis.connections = sum.connections_sum / static_cast<double>(sum.samples);
    kpis.tps = sum.tps_sum / static_cast<double>(sum.samples);
  }
  if (sum.cache_hit_samples > 0) {
    kpis.cache_hit_ratio = sum.cache_hit_ratio_sum / static_cast<double>(sum.cache_hit_samples);
  }
  if (sum.window_s > 0) kpis.exec_ms_per_s = sum.total_exec_ms / sum.window_s;
  return kpis;
}

std::string Optional(const std::optional<double>& value, std::string (*format)(double)) {
  return value ? format(*value) : "-";
}

std::string Kpi(const std::string& id, const std::string& label, const std::string& value) {
  return "<div class=\"kpi\" id=\"" + id + "\"><div class=\"value\">" + Escape(value) +
         "</div><div class=\"label\">" + Escape(label) + "</div></div>";
}

std::string Shorten(const std::string& text) {
  if (text.size() <= kShownTextChars) return text;
  std::size_t cut = kShownTextChars;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return text.substr(0, cut) + "…";
}

std::string StatementLabel(const StatementInfo& info) {
  return info.text ? Shorten(*info.text) : "fingerprint " + info.fingerprint;
}

// The chosen database's load by wait class over the range and its latest activity.
Result<std::string> ActivitySection(const PageContext& context, const std::string& agent_id,
                                    const std::string& database, const TimeRange& range,
                                    int64_t since) {
  auto points = context.store.WaitClassSeries(agent_id, database, range.resolution, since);
  RETURN_IF_ERROR(points);
  auto latest = context.store.GetLatestActivity(agent_id, database);
  RETURN_IF_ERROR(latest);
  std::string html = "<h2 id=\"activity\">Database load</h2>";
  if (points->empty() && !*latest) {
    return html + "<p class=\"notice\">No activity has been reported for this database (the "
                  "agent's collector.activity_sample_interval is 0, or the agent is older).</p>";
  }
  html += "<div class=\"charts\">" +
          RenderLoadChart(*points, range.resolution == Resolution::kHour) + "</div>";
  if (!*latest) return html;
  const nlohmann::json activity = StoredJson((*latest)->json);
  ActivityPlace place{agent_id, database, {}};
  for (const std::string& queryid : ActivityQueryids(activity)) {
    auto info = context.store.GetStatementInfo(agent_id, database, queryid);
    RETURN_IF_ERROR(info);
    if (*info) place.statement_labels[queryid] = StatementLabel(**info);
  }
  return html + RenderActivitySections(activity, (*latest)->collected_s, context.now_s, place);
}

Result<std::string> AgentsSection(const PageContext& context) {
  auto agents = context.store.ListAgents(/*count_heartbeats=*/false);
  RETURN_IF_ERROR(agents);
  std::vector<std::vector<std::string>> rows;
  for (const AgentRow& agent : *agents) {
    const nlohmann::json heartbeat =
        agent.last_heartbeat_json ? StoredJson(*agent.last_heartbeat_json) : nlohmann::json();
    const std::string status = heartbeat.is_object() && heartbeat.contains("status") &&
                                       heartbeat["status"].is_string()
                                   ? heartbeat["status"].get<std::string>()
                                   : "unknown";
    rows.push_back({Escape(agent.registration.hostname) + "<br><code>" +
                        Escape(agent.registration.agent_id) + "</code>",
                    Escape(agent.registration.version), Badge(status),
                    Escape(FormatAgo(UnixSeconds(agent.last_seen_at), context.now_s)),
                    NumberCell(heartbeat, "spool_depth"), NumberCell(heartbeat, "snapshots_lost"),
                    NumberCell(heartbeat, "spool_dropped"), LastError(heartbeat)});
  }
  return "<h2>Agents</h2>" + RenderTable({"Agent", "Version", "Health", "Last seen",
                                          "Spool depth", "Snapshots lost", "Spool dropped",
                                          "Last error"},
                                         rows);
}

}  // namespace

Result<ApiReply> OverviewPage(const PageContext& context) {
  const TimeRange range = RangeOf(context.Param("range"));
  std::string body;
  auto agents = AgentsSection(context);
  RETURN_IF_ERROR(agents);
  body += *agents;

  auto databases = context.store.ListDatabases();
  RETURN_IF_ERROR(databases);
  std::string agent_id = context.Param("agent");
  std::string database = context.Param("database");
  if ((agent_id.empty() || database.empty()) && !databases->empty()) {
    agent_id = databases->front().agent_id;
    database = databases->front().database;
  }
  std::vector<std::vector<std::string>> rows;
  Kpis chosen_kpis;  // the chosen database's, for its banner
  for (const DatabaseInfo& db : *databases) {
    auto points = context.store.DatabaseSeries(db.agent_id, db.database, Resolution::kMinute,
                                               context.now_s - kKpiWindowSeconds);
    RETURN_IF_ERROR(points);
    const Kpis kpis = KpisOf(*points);
    const bool chosen = db.agent_id == agent_id && db.database == database;
    if (chosen) chosen_kpis = kpis;
    rows.push_back({"<a href=\"" + Escape("/overview" + DatabaseQuery(db.agent_id, db.database)) +
                        "\">" + Escape(db.database) + "</a>" + (chosen ? " ◀" : ""),
                    "<code>" + Escape(db.agent_id) + "</code>",
                    Escape(FormatAgo(db.last_collected_s, context.now_s)),
                    Optional(kpis.connections, &FormatNumber),
                    Optional(kpis.cache_hit_ratio, &FormatPercent),
                    Optional(kpis.tps, &FormatNumber)});
  }
  body += "<h2>Databases (last hour)</h2>" +
          RenderTable({"Database", "Agent", "Last snapshot", "Connections", "Cache hit ratio",
                       "TPS"},
                      rows);
  if (agent_id.empty()) {
    body += "<p class=\"notice\">No snapshot has arrived yet. Start an agent with this control "
            "plane's URL and an API key (docs/control-plane.md).</p>";
    return HtmlReply(200, RenderPage(context.Frame("Overview", "/overview"), body));
  }

  const std::string query = DatabaseQuery(agent_id, database);
  const int64_t since = context.now_s - range.seconds;
  auto series = context.store.DatabaseSeries(agent_id, database, range.resolution, since);
  RETURN_IF_ERROR(series);
  const Kpis& kpis = chosen_kpis;
  body += "<h2 id=\"database\">" + Escape(database) + " <small>on agent <code>" +
          Escape(agent_id) + "</code></small></h2>";
  body += RenderRanges("/overview", query, range);
  body += "<div class=\"kpis\">" +
          Kpi("kpi-connections", "connections (last hour)",
              Optional(kpis.connections, &FormatNumber)) +
          Kpi("kpi-cache-hit", "cache hit ratio", Optional(kpis.cache_hit_ratio, &FormatPercent)) +
          Kpi("kpi-tps", "transactions per second", Optional(kpis.tps, &FormatNumber)) +
          Kpi("kpi-exec", "statement time per second", Optional(kpis.exec_ms_per_s, &FormatMs)) +
          "</div>";

  std::vector<std::string> labels;
  ChartSeries tps{"TPS", {}}, connections{"connections", {}}, hit{"cache hit %", {}},
      exec{"ms of statement time per s", {}};
  for (const DatabasePoint& p : *series) {
    labels.push_back(FormatBucket(p.bucket_s, range.resolution == Resolution::kHour));
    const double n = static_cast<double>(p.samples);
    tps.values.push_back(p.samples > 0 ? std::optional(p.tps_sum / n) : std::nullopt);
    connections.values.push_back(p.samples > 0 ? std::optional(p.connections_sum / n)
                                               : std::nullopt);
    hit.values.push_back(p.cache_hit_samples > 0
                             ? std::optional(100 * p.cache_hit_ratio_sum /
                                             static_cast<double>(p.cache_hit_samples))
                             : std::nullopt);
    exec.values.push_back(p.window_s > 0 ? std::optional(p.total_exec_ms / p.window_s)
                                         : std::nullopt);
  }
  body += "<div class=\"charts\">" + RenderChart("chart-tps", "Transactions per second", "line",
                                                 labels, {tps}) +
          RenderChart("chart-connections", "Connections", "line", labels, {connections}) +
          RenderChart("chart-cache-hit", "Cache hit ratio (%)", "line", labels, {hit}) +
          RenderChart("chart-exec", "Statement time (ms per second)", "line", labels, {exec}) +
          "</div>";
  auto activity = ActivitySection(context, agent_id, database, range, since);
  RETURN_IF_ERROR(activity);
  body += *activity;

  const int64_t hour_since = since - since % 3600;
  auto top = context.store.TopStatements(agent_id, database, hour_since, kTopStatements);
  RETURN_IF_ERROR(top);
  auto hours = context.store.DatabaseSeries(agent_id, database, Resolution::kHour, hour_since);
  RETURN_IF_ERROR(hours);
  double database_ms = 0;
  for (const DatabasePoint& p : *hours) database_ms += p.total_exec_ms;
  std::vector<std::vector<std::string>> top_rows;
  for (const StatementTotals& s : *top) {
    top_rows.push_back(
        {StatementLink(agent_id, database, s.info.queryid, StatementLabel(s.info)),
         database_ms > 0 ? FormatPercent(s.total_exec_ms / database_ms) : "-",
         FormatMs(s.total_exec_ms), s.calls > 0 ? FormatMs(s.total_exec_ms / s.calls) : "-",
         FormatNumber(s.calls), FormatNumber(s.info.score), Escape(s.info.duration_class)});
  }
  body += "<h2>Top statements by total time</h2>" +
          RenderTable({"Statement", "Share", "Total time", "Mean time", "Calls", "Score",
                       "Duration class"},
                      top_rows);
  body += "<p>Export this database's figures: <a href=\"" +
          Escape("/export" + query + "&format=csv&range=" + range.name) +
          "\">CSV</a> · <a href=\"" +
          Escape("/export" + query + "&format=json&range=" + range.name) + "\">JSON</a></p>";
  return HtmlReply(200, RenderPage(context.Frame("Overview", "/overview"), body));
}

}  // namespace optischema::controlplane
