// The recommendations list and one recommendation's page: risk, evidence, timeline and the
// actions the person's role allows (console_pages.h).

#include <algorithm>
#include <tuple>

#include "controlplane/console_pages.h"
#include "controlplane/console_recommendation_view.h"
#include "controlplane/json_members.h"
#include "controlplane/recommendation_actions.h"
#include "protocol/recommendation.h"

namespace optischema::controlplane {
namespace {

constexpr const char* kStatusFilters[] = {"proposed", "awaiting_second_approval", "approved",
                                          "applied",  "verified",                 "regressed",
                                          "rejected", "failed",                   "rolled_back"};

std::string Fact(const std::string& name, const std::string& html) {
  return "<dt>" + Escape(name) + "</dt><dd>" + html + "</dd>";
}

std::string Saving(const nlohmann::json& evidence) {
  if (!evidence.is_object()) return "no estimate in the agent's last report";
  std::string text = "cost " + NumberCell(evidence, "cost_before") + " → " + NumberCell(evidence, "cost_after");
  if (evidence.contains("saving_pct") && evidence["saving_pct"].is_number()) {
    text += " (" + FormatNumber(evidence["saving_pct"].get<double>()) + " % less)";
  }
  return Escape(text);
}

std::string Size(const nlohmann::json& evidence) {
  if (!evidence.is_object() || !evidence.contains("index_size_bytes") ||
      !evidence["index_size_bytes"].is_number()) {
    return "-";
  }
  return Escape(FormatNumber(evidence["index_size_bytes"].get<double>()) + " bytes");
}

struct TimelineEntry {
  std::string at;
  std::string who;
  std::string what;
  std::string detail;
};

Result<std::vector<TimelineEntry>> Timeline(const PageContext& context,
                                            const RecommendationView& r) {
  std::vector<TimelineEntry> entries;
  entries.push_back({r.row.created_at,
                     r.row.record.id.rfind("adv-", 0) == 0 ? "agent's advisor" : "operator",
                     "proposed", ""});
  auto decisions = context.store.Decisions(r.row.record.id);
  RETURN_IF_ERROR(decisions);
  for (const RecommendationDecision& d : *decisions) {
    entries.push_back({d.at, d.user, d.decision, d.note});
  }
  auto events = context.store.RecommendationEvents(r.row.record.id);
  RETURN_IF_ERROR(events);
  for (const std::string& text : *events) {
    auto event = protocol::ParseRecommendationEvent(text);
    if (!event.ok()) continue;
    entries.push_back({event->at, "agent", event->event, event->detail});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.at < b.at; });
  return entries;
}

std::string Actions(const PageContext& context, const RecommendationView& r) {
  if (!context.MayApprove()) return "";
  const std::string& status = r.row.record.status;
  const std::string& id = r.row.record.id;
  const std::string& csrf = context.session.session.csrf_token;
  std::string html;
  if (status == kStatusProposed || status == kStatusAwaitingSecondApproval) {
    html += RenderPostForm("/recommendation/approve", csrf, {{"id", id}},
                           "<input name=\"note\" id=\"approve-note\" placeholder=\"note "
                           "(optional)\">",
                           status == kStatusProposed ? "Approve" : "Confirm (second approver)",
                           "approve");
    html += RenderPostForm("/recommendation/reject", csrf, {{"id", id}},
                           "<input name=\"reason\" id=\"reject-reason\" placeholder=\"reason\" "
                           "required>",
                           "Reject", "reject");
  }
  if ((status == "applied" || status == "verified" || status == "regressed") &&
      MayRollBack(r.kind)) {
    html += RenderPostForm("/recommendation/rollback", csrf, {{"id", id}}, "",
                           "Request rollback", "rollback");
  }
  return html.empty() ? "" : "<div class=\"actions\">" + html + "</div>";
}

}  // namespace

Result<ApiReply> RecommendationsPage(const PageContext& context) {
  const std::string filter = context.Param("status");
  auto all = LoadRecommendations(context.store, std::nullopt);
  RETURN_IF_ERROR(all);
  std::string body = "<p class=\"ranges\">Show: <a href=\"/recommendations\"" +
                     std::string(filter.empty() ? " class=\"active\"" : "") + ">all</a>";
  for (const char* status : kStatusFilters) {
    body += " <a href=\"/recommendations?status=" + std::string(status) + "\"" +
            (filter == status ? " class=\"active\"" : "") + ">" + status + "</a>";
  }
  body += "</p>";
  std::vector<std::vector<std::string>> rows;
  // Newest first: what needs a decision is usually recent.
  for (auto it = all->rbegin(); it != all->rend(); ++it) {
    const RecommendationView& r = *it;
    if (!filter.empty() && r.row.record.status != filter) continue;
    rows.push_back({RecommendationLink(r.row.record.id), Escape(r.kind), Escape(r.target),
                    Escape(r.database), Badge(r.row.record.status),
                    Badge(RiskLevelName(r.risk.level)), Escape(StringMember(r.body, "reason")),
                    Escape(r.row.record.expires_at.value_or("-"))});
  }
  body += RenderTable(
      {"Id", "Kind", "Target", "Database", "Status", "Risk", "Reason", "Expires"}, rows);
  return HtmlReply(200, RenderPage(context.Frame("Recommendations", "/recommendations"), body));
}

Result<ApiReply> RecommendationPage(const PageContext& context) {
  const std::string id = context.Param("id");
  auto found = LoadRecommendation(context.store, id);
  RETURN_IF_ERROR(found);
  if (!*found) return MessagePage(context, 404, "Recommendation", "No recommendation " + id + ".");
  const RecommendationView& r = **found;
  std::string affected;
  for (const std::string& queryid : r.affected_queryids) {
    if (!affected.empty()) affected += ", ";
    affected += StatementLink(r.row.record.agent_id, r.database, queryid, queryid);
  }
  std::string body;
  if (context.Param("done") != "") {
    body += "<p class=\"notice\" id=\"done\">" + Escape(context.Param("done")) + "</p>";
  }
  body += "<dl class=\"facts\">" + Fact("Kind", Escape(r.kind)) +
          Fact("Target", "<code>" + Escape(r.target) + "</code>") +
          Fact("Status", "<span id=\"status\">" + Badge(r.row.record.status) + "</span>") +
          Fact("Risk", "<span id=\"risk\">" + Badge(RiskLevelName(r.risk.level)) +
                           "</span> <span class=\"rule\" id=\"risk-rule\">" +
                           Escape(r.risk.rule) + "</span>") +
          Fact("Reason", Escape(StringMember(r.body, "reason"))) +
          Fact("Estimated saving", Saving(r.evidence)) + Fact("Estimated size", Size(r.evidence)) +
          Fact("Statements affected", affected.empty() ? "none named" : affected) +
          Fact("Database", Escape(r.database)) +
          Fact("Agent", "<code>" + Escape(r.row.record.agent_id) + "</code>") +
          Fact("Approved by", Escape(StringMember(r.body, "approved_by"))) +
          Fact("Expires", Escape(r.row.record.expires_at.value_or("never"))) + "</dl>";
  body += Actions(context, r);
  auto timeline = Timeline(context, r);
  RETURN_IF_ERROR(timeline);
  std::vector<std::vector<std::string>> rows;
  for (const TimelineEntry& e : *timeline) {
    rows.push_back({Escape(e.at), Escape(e.who), Badge(e.what), Escape(e.detail)});
  }
  body += "<h2>Timeline</h2><div id=\"timeline\">" +
          RenderTable({"When", "Who", "What", "Detail"}, rows) + "</div>";
  return HtmlReply(200,
                   RenderPage(context.Frame("Recommendation " + id, "/recommendations"), body));
}

}  // namespace optischema::controlplane
