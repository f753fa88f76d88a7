#include "controlplane/agent_proposals.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <optional>
#include <utility>
#include <vector>

#include "protocol/canonical_json.h"

namespace optischema::controlplane {
namespace {

using nlohmann::json;

constexpr std::size_t kIdHexDigits = 32;

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

std::optional<int64_t> DecimalInt64(std::string_view text) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// An optional string member; "" when absent. kInvalidArgument when present and not a string.
// A person reads the reason in a listing: more than this is not a reason but a payload.
constexpr std::size_t kMaxReasonBytes = 4000;

Result<std::string> OptionalString(const json& element, const char* key) {
  const auto it = element.find(key);
  if (it == element.end()) return std::string();
  if (!it->is_string()) return Invalid(std::string(key) + ": expected a string");
  return it->get<std::string>();
}

Result<std::vector<int64_t>> QueryIds(const json& element) {
  const auto it = element.find("affected_queryids");
  if (it == element.end()) return Invalid("affected_queryids: missing");
  if (!it->is_array()) return Invalid("affected_queryids: expected an array");
  std::vector<int64_t> ids;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& q = (*it)[i];
    std::optional<int64_t> id;
    if (q.is_string()) id = DecimalInt64(q.get_ref<const std::string&>());
    if (!id) {
      return Invalid("affected_queryids[" + std::to_string(i) +
                     "]: expected a decimal 64-bit integer in a string");
    }
    ids.push_back(*id);
  }
  return ids;
}

// The guard of a kind agents may propose; null for any other kind.
const protocol::RecommendationGuard* GuardOf(std::string_view kind) {
  using protocol::RecommendationKind;
  static constexpr std::pair<RecommendationKind, const protocol::RecommendationGuard*> kGuards[] = {
      {RecommendationKind::kCreateIndex, &kAgentCreateIndexGuard},
      {RecommendationKind::kDropIndex, &kAgentDropIndexGuard},
      {RecommendationKind::kSetTableOptions, &kAgentSetTableOptionsGuard},
      {RecommendationKind::kAnalyzeTable, &kAgentAnalyzeTableGuard},
  };
  for (const auto& [k, guard] : kGuards) {
    if (kind == protocol::RecommendationKindName(k)) return guard;
  }
  return nullptr;
}

// Compact JSON; strings were valid UTF-8 when parsed, so nothing is replaced in practice.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

Result<std::string> AgentProposalId(std::string_view agent_id, std::string_view database,
                                    std::string_view kind, std::string_view canonical_spec,
                                    std::string_view table_digest) {
  std::string input;
  input.reserve(agent_id.size() + database.size() + kind.size() + canonical_spec.size() +
                table_digest.size() + 4);
  for (const std::string_view part : {agent_id, database, kind}) {
    input.append(part);
    input.push_back('\0');
  }
  input.append(canonical_spec);
  if (!table_digest.empty()) {
    input.push_back('\0');
    input.append(table_digest);
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // A one-shot digest: no EVP_MD_CTX to own.
  if (EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length * 2 < kIdHexDigits) {
    return MakeError(ErrorCode::kInternal, "OpenSSL's SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = kAgentProposalIdPrefix;
  for (std::size_t i = 0; i < kIdHexDigits / 2; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 0xf];
  }
  return id;
}

Result<Proposal> AgentProposal(const json& element, const std::string& agent_id,
                               const std::string& database,
                               std::chrono::system_clock::time_point now) {
  if (!element.is_object()) return Invalid("expected an object");
  const auto kind = element.find("kind");
  if (kind == element.end()) return Invalid("kind: missing");
  if (!kind->is_string()) return Invalid("kind: expected a string");
  const std::string& kind_name = kind->get_ref<const std::string&>();
  const protocol::RecommendationGuard* guard = GuardOf(kind_name);
  if (guard == nullptr) {
    return Invalid(
        "kind: only create_index, drop_index, set_table_options and analyze_table are proposed "
        "by agents");
  }
  const auto spec = element.find("spec");
  if (spec == element.end()) return Invalid("spec: missing");
  if (!spec->is_object()) return Invalid("spec: expected an object");
  Result<std::string> canonical_spec = protocol::CanonicalJson(Dump(*spec));
  if (!canonical_spec.ok()) return Invalid("spec: " + canonical_spec.error().message);
  auto queryids = QueryIds(element);
  RETURN_IF_ERROR(queryids);
  auto table_digest = OptionalString(element, "table_digest");
  RETURN_IF_ERROR(table_digest);
  auto reason = OptionalString(element, "reason");
  RETURN_IF_ERROR(reason);
  if (reason->size() > kMaxReasonBytes) {
    return Invalid("reason: longer than " + std::to_string(kMaxReasonBytes) + " bytes");
  }

  json proposal = {{"agent_id", agent_id},
                   {"database", database},
                   {"kind", kind_name},
                   {"spec", *spec},
                   {"affected_queryids", *queryids},
                   {"guard",
                    {{"verify_window_s", guard->verify_window_s},
                     {"max_regression_pct", guard->max_regression_pct},
                     {"auto_rollback", guard->auto_rollback}}}};
  if (!table_digest->empty()) proposal["table_digest"] = *table_digest;
  if (!reason->empty()) proposal["reason"] = *reason;
  auto id = AgentProposalId(agent_id, database, kind_name, *canonical_spec, *table_digest);
  RETURN_IF_ERROR(id);
  return ParseProposal(Dump(proposal), now, *id);
}

AgentProposalCounts StoreAgentProposals(Store& store, const SnapshotRecord& snapshot,
                                        const json& proposals,
                                        std::chrono::system_clock::time_point now) {
  AgentProposalCounts counts;
  if (!proposals.is_array()) return counts;
  for (std::size_t i = 0; i < proposals.size(); ++i) {
    Result<Proposal> proposal =
        AgentProposal(proposals[i], snapshot.agent_id, snapshot.database, now);
    if (!proposal.ok()) {
      ++counts.refused;
      spdlog::warn("snapshot {} of agent {}: proposals[{}] skipped: {}", snapshot.snapshot_id,
                   snapshot.agent_id, i, proposal.error().message);
      continue;
    }
    const protocol::Recommendation& r = proposal->recommendation;
    auto added = store.AddRecommendationIfAbsent(
        {r.id, r.agent_id, kStatusProposed, proposal->expires_at, proposal->json});
    if (!added.ok()) {
      spdlog::error("store: snapshot {} of agent {}: proposals[{}] and later not stored: {}",
                    snapshot.snapshot_id, snapshot.agent_id, i, added.error().ToString());
      break;
    }
    if (*added) {
      ++counts.stored;
      spdlog::info("snapshot {} of agent {}: proposed recommendation {} ({})", snapshot.snapshot_id,
                   snapshot.agent_id, r.id,
                   protocol::RecommendationKindName(protocol::KindOf(r.spec)));
    }
  }
  return counts;
}

}  // namespace optischema::controlplane
