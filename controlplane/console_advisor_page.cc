// The advisor: each database's index findings, schema drift, table health, vacuum findings and
// the plans of its top statements, from the agent's last advice (console_pages.h).

#include "controlplane/command_output.h"
#include "controlplane/console_pages.h"
#include "controlplane/console_plan_view.h"
#include "controlplane/console_table_health_view.h"
#include "controlplane/json_members.h"

namespace optischema::controlplane {
namespace {

std::string DatabaseAdvice(const DatabaseInfo& db, int64_t now_s) {
  const nlohmann::json advice = StoredJson(*db.advice_json);
  std::string html = "<h2>" + Escape(db.database) + " <small>on agent <code>" +
                     Escape(db.agent_id) + "</code>, reported " +
                     Escape(FormatAgo(db.advice_collected_s.value_or(0), now_s)) +
                     "</small></h2>";
  std::vector<std::vector<std::string>> findings;
  for (const nlohmann::json& f : ArrayMember(advice, "index_findings")) {
    std::string index = StringMember(f, "schema") + "." + StringMember(f, "index");
    findings.push_back({Badge(StringMember(f, "kind")), Escape(StringMember(f, "schema") + "." + StringMember(f, "table")),
                        Escape(index), NumberCell(f, "bytes"), NumberCell(f, "writes_per_s"),
                        Escape(StringMember(f, "covered_by")), Escape(StringMember(f, "reason"))});
  }
  html += "<h3>Findings</h3>" + RenderTable({"Finding", "Table", "Index", "Bytes freed",
                                             "Writes/s on the table", "Covered by", "Why"},
                                            findings);
  std::vector<std::vector<std::string>> drift;
  for (const nlohmann::json& d : ArrayMember(advice, "drift")) {
    drift.push_back({Escape(StringMember(d, "table")), Badge(StringMember(d, "change")), Escape(StringMember(d, "name")),
                     Escape(StringMember(d, "detail"))});
  }
  html += "<h3>Schema drift</h3>" + RenderTable({"Table", "Change", "Name", "Detail"}, drift);
  const nlohmann::json& advisor = AnyMember(advice, "advisor");
  std::string notes;
  for (const nlohmann::json& note : ArrayMember(advisor, "notes")) {
    if (note.is_string()) notes += "<li>" + Escape(note.get<std::string>()) + "</li>";
  }
  if (!notes.empty()) html += "<h3>Advisor notes</h3><ul>" + notes + "</ul>";
  html += RenderTableHealth(advice);
  html += RenderVacuumFindings(advice);
  if (AnyMember(advice, "plans").is_array()) {
    html += "<section id=\"plans\"><h3>Plans of the top statements</h3>" +
            RenderPlans(advice, db.agent_id, db.database) + "</section>";
  }
  return html;
}

}  // namespace

Result<ApiReply> AdvisorPage(const PageContext& context) {
  auto databases = context.store.ListDatabases();
  RETURN_IF_ERROR(databases);
  std::string body;
  for (const DatabaseInfo& db : *databases) {
    if (db.advice_json) body += DatabaseAdvice(db, context.now_s);
  }
  if (body.empty()) {
    body = "<p class=\"notice\">No agent has sent advice yet: the advisor runs every "
           "advisor.interval (docs/advisor.md).</p>";
  }
  return HtmlReply(200, RenderPage(context.Frame("Index advisor", "/advisor"), body));
}

}  // namespace optischema::controlplane
