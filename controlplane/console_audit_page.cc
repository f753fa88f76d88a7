// The audit page: each agent's mirrored audit log with the control plane's own check of its hash
// chain, and the console's records of what people did (console_pages.h).

#include <map>

#include "controlplane/audit_chain.h"
#include "controlplane/command_output.h"
#include "controlplane/console_pages.h"
#include "controlplane/json_members.h"

namespace optischema::controlplane {
namespace {

constexpr int64_t kShownConsoleRecords = 300;
constexpr std::size_t kShownAgentRecords = 300;

std::string AgentSection(const std::string& agent_id, const std::vector<std::string>& bodies) {
  const ChainCheck check = CheckAuditChain(bodies);
  std::string html = "<h2>Agent <code>" + Escape(agent_id) + "</code></h2>";
  if (check.ok) {
    html += "<p class=\"chain\" data-agent=\"" + Escape(agent_id) + "\">" + Badge("ok") +
            " chain verified: " + std::to_string(check.records) +
            " records, seq 1 to " + std::to_string(check.records) + "</p>";
  } else {
    html += "<p class=\"chain\" data-agent=\"" + Escape(agent_id) + "\">" + Badge("broken") +
            " chain broken at seq " + std::to_string(check.first_bad_seq) + ": " +
            Escape(check.reason) + "</p>";
  }
  // Distinct records by seq, newest first.
  std::map<int64_t, nlohmann::json, std::greater<>> by_seq;
  for (const std::string& body : bodies) {
    nlohmann::json record = StoredJson(body);
    if (record.is_object() && record.contains("seq") && record["seq"].is_number_integer()) {
      by_seq.emplace(record["seq"].get<int64_t>(), std::move(record));
    }
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [seq, r] : by_seq) {
    if (rows.size() == kShownAgentRecords) break;
    rows.push_back({std::to_string(seq), Escape(StringMember(r, "ts")), Escape(StringMember(r, "database")),
                    Escape(StringMember(r, "recommendation_id")), Badge(StringMember(r, "step")),
                    Escape(StringMember(r, "detail")), "<code>" + Escape(StringMember(r, "sql")) + "</code>"});
  }
  return html + RenderTable({"Seq", "When", "Database", "Recommendation", "Step", "Detail", "SQL"},
                            rows);
}

}  // namespace

Result<ApiReply> AuditPage(const PageContext& context) {
  std::string body = "<h2>People (this console and the users command)</h2>";
  auto records = context.store.ListConsoleAudit(kShownConsoleRecords);
  RETURN_IF_ERROR(records);
  std::vector<std::vector<std::string>> rows;
  for (const ConsoleAuditRecord& r : *records) {
    rows.push_back({Escape(r.at), Escape(r.user), Badge(r.action), Escape(r.target),
                    Escape(r.address), Escape(r.detail)});
  }
  body += "<div id=\"console-audit\">" +
          RenderTable({"When", "Who", "What", "Target", "From", "Detail"}, rows) + "</div>";

  auto agent_records = context.store.ListAuditRecords(std::nullopt);
  RETURN_IF_ERROR(agent_records);
  std::map<std::string, std::vector<std::string>> by_agent;
  for (AuditRow& row : *agent_records) by_agent[row.agent_id].push_back(std::move(row.body_json));
  for (const auto& [agent_id, bodies] : by_agent) body += AgentSection(agent_id, bodies);
  if (by_agent.empty()) body += "<p class=\"notice\">No agent has mirrored its audit log yet.</p>";
  return HtmlReply(200, RenderPage(context.Frame("Audit", "/audit"), body));
}

}  // namespace optischema::controlplane
