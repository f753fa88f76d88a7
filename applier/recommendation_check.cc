#include "applier/recommendation_check.h"

#include <string_view>

#include "applier/settings_allow_list.h"
#include "core/time_format.h"

namespace optischema::applier {
namespace {}  // namespace

Status CheckAuthenticity(const protocol::RecommendationEnvelope& envelope,
                         std::string_view public_key_b64) {
  if (envelope.raw_json.size() > kMaxRecommendationBytes) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "recommendation is larger than " +
                         std::to_string(kMaxRecommendationBytes / 1024) + " KiB; refused unread");
  }
  if (!envelope.recommendation.ok()) return envelope.recommendation.error();
  if (public_key_b64.empty()) {
    return MakeError(ErrorCode::kConfig,
                     "applying is off: control_plane.recommendation_public_key is not set");
  }
  return protocol::VerifyRecommendationSignature(envelope.raw_json, public_key_b64);
}

Result<CheckedRecommendation> CheckRecommendation(const protocol::RecommendationEnvelope& envelope,
                                                  const CheckContext& context) {
  if (Status authentic = CheckAuthenticity(envelope, context.public_key_b64); !authentic.ok()) {
    return std::move(authentic).error();
  }
  const protocol::Recommendation& rec = *envelope.recommendation;
  if (rec.agent_id != context.agent_id) {
    return MakeError(ErrorCode::kPermissionDenied, "recommendation is for another agent");
  }
  const auto expires = ParseRfc3339(rec.expires_at);
  if (!expires || *expires <= context.now) {
    return MakeError(ErrorCode::kInvalidArgument, "recommendation expired at " + rec.expires_at);
  }
  const auto database = context.databases.find(rec.database);
  if (database == context.databases.end()) {
    return MakeError(ErrorCode::kInvalidArgument, "database is not configured on this agent");
  }
  if (!database->second) {
    return MakeError(
        ErrorCode::kPermissionDenied,
        "apply = false for database " + rec.database +
            " (read-only); set apply = true in its [[database]] entry to allow changes");
  }
  if (context.already_applied && context.already_applied(rec.id)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "recommendation " + rec.id + " was applied before; a replay is refused");
  }
  if (const auto* setting = std::get_if<protocol::SetConfigSpec>(&rec.spec);
      setting != nullptr && !IsAllowedSetting(setting->name)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "setting " + setting->name +
                         " is not on the agent's allow-list of settings safe to tune for "
                         "performance (docs/security.md); change it by hand if that is intended");
  }
  CheckedRecommendation checked{rec, envelope.raw_json, std::nullopt};
  if (const auto* index = std::get_if<protocol::CreateIndexSpec>(&rec.spec);
      index != nullptr && index->where) {
    auto where = pg::CheckPredicate(*index->where);
    RETURN_IF_ERROR(where);
    checked.where = *std::move(where);
  }
  return checked;
}

}  // namespace optischema::applier
