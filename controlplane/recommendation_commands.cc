#include "controlplane/recommendation_commands.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "controlplane/agent_proposals.h"
#include "controlplane/command_output.h"
#include "controlplane/recommendation_actions.h"
#include "controlplane/recommendation_workflow.h"
#include "controlplane/signing_key.h"
#include "controlplane/store.h"
#include "core/file_io.h"
#include "core/time_format.h"
#include "core/uuid.h"
#include "protocol/recommendation.h"

namespace optischema::controlplane {
namespace {

// Characters of a reason shown in the text listing; the JSON listing has it whole.
constexpr std::size_t kListedReasonChars = 60;

int Refuse(const std::string& reason, std::ostream& err) {
  return ReportError(MakeError(ErrorCode::kInvalidArgument, reason), err);
}

// The text of `path`; kInvalidArgument naming the file when it cannot be read.
Result<std::string> ReadTextFile(const std::string& path) {
  Result<std::string> text = ReadWholeFile(path);
  if (!text.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cannot read " + path + ": " + text.error().message);
  }
  return text;
}

// A string member of a stored body, or null.
nlohmann::json Member(const nlohmann::json& body, const char* key) {
  if (!body.is_object() || !body.contains(key) || !body[key].is_string()) return nullptr;
  return body[key];
}

std::string Text(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : "-";
}

// `text` on one line (control characters become spaces) and at most `max_chars` code points,
// the last one "…" when it was cut. `text` is valid UTF-8 (it was parsed as JSON).
std::string OneLine(std::string_view text, std::size_t max_chars) {
  const auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; };
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!continuation(text[i]) && ++chars == max_chars) {
      const bool more = std::any_of(text.begin() + static_cast<std::ptrdiff_t>(i) + 1, text.end(),
                                    [&](char c) { return !continuation(c); });
      if (more) return out + "…";
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out += c < 0x20 || c == 0x7f ? ' ' : text[i];
  }
  return out;
}

// Who proposed the recommendation: the agent's advisor or a person with `recommend`.
const char* Source(const std::string& id) {
  return id.rfind(kAgentProposalIdPrefix, 0) == 0 ? "agent" : "operator";
}

nlohmann::json LastEvent(const std::optional<std::string>& event_json) {
  if (!event_json) return nullptr;
  auto event = protocol::ParseRecommendationEvent(*event_json);
  if (!event.ok()) return nullptr;
  return {{"event", event->event}, {"detail", event->detail}, {"at", event->at}};
}

nlohmann::json ListedObject(const RecommendationRow& row) {
  const nlohmann::json body = StoredJson(row.record.body_json);
  const RecommendationRecord& r = row.record;
  return {{"id", r.id},
          {"kind", Member(body, "kind")},
          {"status", r.status},
          {"agent_id", r.agent_id},
          {"database", Member(body, "database")},
          {"approved_by", Member(body, "approved_by")},
          {"approved_at", Member(body, "approved_at")},
          {"expires_at", r.expires_at ? nlohmann::json(*r.expires_at) : nlohmann::json()},
          {"created_at", row.created_at},
          {"updated_at", row.updated_at},
          {"last_event", LastEvent(row.last_event_json)},
          {"reason", Member(body, "reason")},
          {"source", Source(r.id)}};
}

}  // namespace

std::string DefaultApprover() {
  const char* user = std::getenv("USER");
  return user != nullptr && *user != '\0' ? user : "admin";
}

int RunKeysInit(const std::string& data_dir, bool force, std::ostream& out, std::ostream& err) {
  std::error_code ignored;
  const bool replacing =
      force && std::filesystem::exists(data_dir + "/" + kSigningKeyFileName, ignored);
  auto public_key = CreateSigningKey(data_dir, force);
  if (!public_key.ok()) return ReportError(public_key.error(), err);
  if (replacing) {
    err << "replaced the previous signing key: recommendations approved with it no longer "
           "verify, and agents need the new public key\n";
  }
  err << "wrote the signing key to " << data_dir << "/" << kSigningKeyFileName
      << " (mode 0600; keep it secret and backed up)\n"
      << "set recommendation_public_key in each agent's configuration to the public key:\n";
  out << *public_key << "\n" << std::flush;
  return 0;
}

int RunKeysShow(const std::string& data_dir, std::ostream& out, std::ostream& err) {
  auto private_key = ReadSigningKey(data_dir);
  if (!private_key.ok()) return ReportError(private_key.error(), err);
  auto public_key = Ed25519PublicKeyOf(*private_key);
  if (!public_key.ok()) return ReportError(public_key.error(), err);
  out << *public_key << "\n" << std::flush;
  return 0;
}

int RunRecommend(const std::string& data_dir, const std::string& file, const Clock& clock,
                 std::ostream& out, std::ostream& err) {
  auto text = ReadTextFile(file);
  if (!text.ok()) return ReportError(text.error(), err);
  auto proposal = ParseProposal(*text, clock.Now(), NewUuidV4());
  if (!proposal.ok()) return Refuse(file + ": " + proposal.error().message, err);
  const protocol::Recommendation& r = proposal->recommendation;
  auto store = Store::Open(data_dir, Store::OpenMode::kCreate, clock);
  if (!store.ok()) return ReportError(store.error(), err);
  auto registered = (*store)->AgentExists(r.agent_id);
  if (!registered.ok()) return ReportError(registered.error(), err);
  if (Status st = (*store)->AddRecommendation(
          {r.id, r.agent_id, kStatusProposed, proposal->expires_at, proposal->json});
      !st.ok()) {
    return ReportError(st.error(), err);
  }
  if (!*registered) {
    err << "warning: agent " << r.agent_id
        << " has not registered (yet); it is served the recommendation once it registers\n";
  }
  err << "proposed recommendation " << r.id << " ("
      << protocol::RecommendationKindName(protocol::KindOf(r.spec)) << " on database " << r.database
      << " of agent " << r.agent_id << "), expires at " << proposal->expires_at
      << "; approve it with: optischema-controlplane approve --data " << data_dir << " " << r.id
      << "\n";
  out << r.id << "\n" << std::flush;
  return 0;
}

int RunApprove(const std::string& data_dir, const std::string& id, const std::string& approved_by,
               const Clock& clock, std::ostream& err) {
  auto store = Store::Open(data_dir, Store::OpenMode::kExisting, clock);
  if (!store.ok()) return ReportError(store.error(), err);
  // The command line is the operator's own way in (it holds the signing key): no two-person rule.
  auto approved = ApproveRecommendation(**store, data_dir, id, approved_by, "", ApprovalPolicy{},
                                        clock);
  if (!approved.ok()) return ReportError(approved.error(), err);
  auto row = (*store)->GetRecommendation(id);
  if (!row.ok()) return ReportError(row.error(), err);
  err << "approved recommendation " << id << " as " << approved_by;
  if (*row) {
    err << "; agent " << (*row)->record.agent_id << " is served it until "
        << (*row)->record.expires_at.value_or("-");
  }
  err << "\n";
  return 0;
}

int RunRollback(const std::string& data_dir, const std::string& id, const Clock& clock,
                std::ostream& err) {
  auto store = Store::Open(data_dir, Store::OpenMode::kExisting, clock);
  if (!store.ok()) return ReportError(store.error(), err);
  auto already = RequestRollback(**store, id, DefaultApprover());
  if (!already.ok()) return ReportError(already.error(), err);
  if (*already) {
    err << "a rollback of recommendation " << id << " is requested already\n";
    return 0;
  }
  err << "requested a rollback of recommendation " << id
      << "; the agent is told when it next asks for recommendations\n";
  return 0;
}

int RunRecommendationsList(const RecommendationsListOptions& options, std::ostream& out,
                           std::ostream& err) {
  const SystemClock clock;
  auto store = Store::Open(options.data_dir, Store::OpenMode::kExisting, clock);
  if (!store.ok()) return ReportError(store.error(), err);
  auto rows = (*store)->ListRecommendations(options.agent_id);
  if (!rows.ok()) return ReportError(rows.error(), err);
  nlohmann::json array = nlohmann::json::array();
  for (const RecommendationRow& row : *rows) array.push_back(ListedObject(row));
  if (options.json) {
    out << array.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> table = {{"ID", "KIND", "STATUS", "AGENT_ID", "DATABASE",
                                                  "APPROVED_BY", "EXPIRES_AT", "LAST_EVENT",
                                                  "REASON"}};
  for (const nlohmann::json& r : array) {
    std::string last_event = "-";
    if (r["last_event"].is_object()) {
      last_event = r["last_event"]["event"].get<std::string>();
      const std::string detail = r["last_event"]["detail"].get<std::string>();
      if (!detail.empty()) last_event += ": " + detail;
    }
    table.push_back({Text(r["id"]), Text(r["kind"]), Text(r["status"]), Text(r["agent_id"]),
                     Text(r["database"]), Text(r["approved_by"]), Text(r["expires_at"]), last_event,
                     OneLine(Text(r["reason"]), kListedReasonChars)});
  }
  PrintTable(out, table);
  return 0;
}

}  // namespace optischema::controlplane
