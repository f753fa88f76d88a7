#include "controlplane/recommendation_workflow.h"

#include <nlohmann/json.hpp>

#include "controlplane/message_validation.h"
#include "core/time_format.h"
#include "protocol/canonical_json.h"

namespace optischema::controlplane {
namespace {

using nlohmann::json;

// Set by `approve`: a proposal must not carry them.
constexpr const char* kApprovalFields[] = {"approved_by", "approved_at", "signature"};

// Stands in for approved_by while a proposal is checked as a whole recommendation.
constexpr char kPlaceholderApprover[] = "proposal";

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// Compact JSON; strings were valid UTF-8 when parsed, so nothing is replaced in practice.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

Result<Proposal> ParseProposal(std::string_view text, std::chrono::system_clock::time_point now,
                               const std::string& generated_id) {
  // Canonicalizing first refuses what a signature cannot cover (floats, duplicate keys, bad
  // UTF-8), naming the path.
  Result<std::string> canonical = protocol::CanonicalJson(text);
  if (!canonical.ok()) return Invalid("proposal: " + canonical.error().message);
  json j = json::parse(*canonical, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Invalid("proposal: expected a JSON object");
  for (const char* field : kApprovalFields) {
    if (j.contains(field))
      return Invalid(std::string(field) + ": set by `approve`, not in the proposal");
  }
  if (!j.contains("id")) j["id"] = generated_id;
  if (!j.contains("expires_at")) j["expires_at"] = FormatRfc3339(now + kDefaultLifetime);
  j["approved_by"] = kPlaceholderApprover;
  j["approved_at"] = FormatRfc3339(now);

  Result<protocol::Recommendation> parsed = protocol::ParseRecommendation(Dump(j));
  if (!parsed.ok()) return Invalid(parsed.error().message);
  Proposal proposal{std::move(parsed).value(), "", ""};
  protocol::Recommendation& r = proposal.recommendation;
  if (!IsCanonicalUuid(r.agent_id)) {
    return Invalid(
        "agent_id: expected the agent's id, a UUID in canonical lower-case form (see "
        "`agents list`)");
  }
  const std::optional<std::chrono::system_clock::time_point> expires = ParseRfc3339(r.expires_at);
  if (!expires) return Invalid("expires_at: not an RFC 3339 timestamp");
  if (*expires <= now) return Invalid("expires_at: already passed");
  proposal.expires_at = FormatRfc3339(*expires);

  r.approved_by.clear();
  r.approved_at.clear();
  json stored = json::parse(protocol::RecommendationToJson(r), nullptr, /*allow_exceptions=*/false);
  for (const char* field : kApprovalFields) stored.erase(field);
  proposal.json = Dump(stored);
  return proposal;
}

Result<std::string> SignApproval(std::string_view proposal_json, const std::string& approved_by,
                                 const std::string& approved_at, std::string_view private_key_b64) {
  json j = json::parse(proposal_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return MakeError(ErrorCode::kParseFailed, "the stored proposal is not a JSON object");
  }
  j["approved_by"] = approved_by;
  j["approved_at"] = approved_at;
  return protocol::SignRecommendationJson(Dump(j), private_key_b64);
}

}  // namespace optischema::controlplane
