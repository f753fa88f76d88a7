#include "protocol/controlplane/recommendation_workflow.h"

#include <nlohmann/json.hpp>

#include "core/time_format.h"
#include "protocol/canonical_json.h"
#include "protocol/controlplane/message_validation.h"

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

// The decimal number in text[pos, pos + n), or -1 when those are not all digits.
int Digits(std::string_view text, std::size_t pos, std::size_t n) {
  if (pos + n > text.size()) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text) {
  using namespace std::chrono;
  const int y = Digits(text, 0, 4), mo = Digits(text, 5, 2), d = Digits(text, 8, 2);
  const int h = Digits(text, 11, 2), mi = Digits(text, 14, 2), s = Digits(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 ||
      text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  system_clock::time_point t = sys_days{date} + hours{h} + minutes{mi} + seconds{s};
  std::size_t i = 19;
  if (i < text.size() && text[i] == '.') {
    const std::size_t from = ++i;
    int64_t micros = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (i - from < 6) micros = micros * 10 + (text[i] - '0');
    }
    if (i == from || i - from > 9) return std::nullopt;
    for (std::size_t n = i - from; n < 6; ++n) micros *= 10;
    t += microseconds{micros};
  }
  if (i + 1 == text.size() && (text[i] == 'Z' || text[i] == 'z')) return t;
  if (i + 6 != text.size() || (text[i] != '+' && text[i] != '-') || text[i + 3] != ':') {
    return std::nullopt;
  }
  const int offset_h = Digits(text, i + 1, 2), offset_m = Digits(text, i + 4, 2);
  if (offset_h < 0 || offset_h > 23 || offset_m < 0 || offset_m > 59) return std::nullopt;
  const minutes offset{offset_h * 60 + offset_m};
  return text[i] == '+' ? t - offset : t + offset;
}

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
