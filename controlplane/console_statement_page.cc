// One statement: its anonymized text, its history, its latest plan and load by wait class, and
// the recommendations that name it (console_pages.h).

#include <algorithm>

#include "controlplane/command_output.h"
#include "controlplane/console_activity_view.h"
#include "controlplane/console_pages.h"
#include "controlplane/console_plan_view.h"
#include "controlplane/console_recommendation_view.h"

namespace optischema::controlplane {
namespace {

std::string Fact(const std::string& name, const std::string& html) {
  return "<dt>" + Escape(name) + "</dt><dd>" + html + "</dd>";
}

std::string OptionalMs(const std::optional<double>& ms) { return ms ? FormatMs(*ms) : "-"; }

// The statement's plan in its database's latest advice and its load in the latest activity.
Result<std::string> PlanAndLoad(const PageContext& context, const std::string& agent_id,
                                const std::string& database, const std::string& queryid) {
  auto databases = context.store.ListDatabases();
  RETURN_IF_ERROR(databases);
  std::string html;
  for (const DatabaseInfo& db : *databases) {
    if (db.agent_id != agent_id || db.database != database || !db.advice_json) continue;
    const nlohmann::json advice = StoredJson(*db.advice_json);
    const nlohmann::json& entry = PlanEntry(advice, queryid);
    if (!entry.is_null()) {
      html += "<section id=\"plan\"><h2>Plan (generic, from the latest advice, " +
              Escape(FormatAgo(db.advice_collected_s.value_or(0), context.now_s)) + ")</h2>" +
              RenderPlanEntry(entry) + "</section>";
    }
  }
  auto activity = context.store.GetLatestActivity(agent_id, database);
  RETURN_IF_ERROR(activity);
  if (*activity) {
    const std::string load = RenderStatementLoad(StoredJson((*activity)->json), queryid);
    if (!load.empty()) {
      html += "<section id=\"statement-load\"><h2>Load by wait class (latest window, " +
              Escape(FormatAgo((*activity)->collected_s, context.now_s)) + ")</h2>" + load +
              "</section>";
    }
  }
  return html;
}

}  // namespace

Result<ApiReply> StatementPage(const PageContext& context) {
  const std::string agent_id = context.Param("agent");
  const std::string database = context.Param("database");
  const std::string queryid = context.Param("queryid");
  auto info = context.store.GetStatementInfo(agent_id, database, queryid);
  RETURN_IF_ERROR(info);
  if (!*info) {
    return MessagePage(context, 404, "Statement",
                       "No statement with this queryid has been reported for this database.");
  }
  const StatementInfo& s = **info;
  const TimeRange range = RangeOf(context.Param("range"));
  const std::string query = DatabaseQuery(agent_id, database) + "&queryid=" + UrlEncode(queryid);
  std::string body = "<dl class=\"facts\">" +
                     Fact("Database", "<a href=\"" +
                                          Escape("/overview" + DatabaseQuery(agent_id, database)) +
                                          "\">" + Escape(database) + "</a>") +
                     Fact("Agent", "<code>" + Escape(agent_id) + "</code>") +
                     Fact("Queryid", "<code id=\"queryid\">" + Escape(queryid) + "</code>") +
                     Fact("Fingerprint", "<code>" + Escape(s.fingerprint) + "</code>") +
                     Fact("Duration class", Escape(s.duration_class)) +
                     Fact("Score", FormatNumber(s.score)) +
                     Fact("Cumulative min / max", OptionalMs(s.cumulative_min_ms) + " / " +
                                                      OptionalMs(s.cumulative_max_ms)) +
                     Fact("Last seen", Escape(FormatAgo(s.last_seen_s, context.now_s))) + "</dl>";
  body += "<h2>Text (anonymized by the agent)</h2><pre id=\"statement-text\">" +
          (s.text ? Escape(*s.text)
                  : std::string("the agent sent no text for this statement (it did not parse, "
                                "or texts are not sent)")) +
          "</pre>";

  auto points = context.store.StatementSeries(agent_id, database, queryid, range.resolution,
                                              context.now_s - range.seconds);
  RETURN_IF_ERROR(points);
  std::vector<std::string> labels;
  ChartSeries calls{"calls/s", {}}, mean{"mean ms", {}}, share{"time %", {}};
  for (const StatementPoint& p : *points) {
    labels.push_back(FormatBucket(p.bucket_s, range.resolution == Resolution::kHour));
    calls.values.push_back(p.window_s > 0 ? std::optional(p.calls / p.window_s) : std::nullopt);
    mean.values.push_back(p.calls > 0 ? std::optional(p.total_exec_ms / p.calls) : std::nullopt);
    share.values.push_back(p.database_exec_ms > 0
                               ? std::optional(100 * p.total_exec_ms / p.database_exec_ms)
                               : std::nullopt);
  }
  body += RenderRanges("/statement", query, range);
  body += "<div class=\"charts\">" +
          RenderChart("chart-calls", "Calls per second", "line", labels, {calls}) +
          RenderChart("chart-mean", "Mean time (ms)", "line", labels, {mean}) +
          RenderChart("chart-share", "Share of the database's statement time (%)", "line", labels,
                      {share}) +
          "</div>";
  auto plan_and_load = PlanAndLoad(context, agent_id, database, queryid);
  RETURN_IF_ERROR(plan_and_load);
  body += *plan_and_load;

  auto recommendations = LoadRecommendations(context.store, agent_id);
  RETURN_IF_ERROR(recommendations);
  std::vector<std::vector<std::string>> rows;
  for (const RecommendationView& r : *recommendations) {
    if (r.database != database || std::find(r.affected_queryids.begin(),
                                             r.affected_queryids.end(),
                                             queryid) == r.affected_queryids.end()) {
      continue;
    }
    rows.push_back({RecommendationLink(r.row.record.id), Escape(r.kind), Escape(r.target),
                    Badge(r.row.record.status), Badge(RiskLevelName(r.risk.level))});
  }
  body += "<h2>Recommendations naming this statement</h2>" +
          RenderTable({"Id", "Kind", "Target", "Status", "Risk"}, rows);
  body += "<p>Export this statement's figures: <a href=\"" +
          Escape("/export" + query + "&format=csv&range=" + range.name) +
          "\">CSV</a> · <a href=\"" +
          Escape("/export" + query + "&format=json&range=" + range.name) + "\">JSON</a></p>";
  return HtmlReply(200, RenderPage(context.Frame("Statement " + queryid, ""), body));
}

}  // namespace optischema::controlplane
