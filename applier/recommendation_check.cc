#include "applier/recommendation_check.h"

#include "core/time_format.h"

namespace optischema::applier {

Result<CheckedRecommendation> CheckRecommendation(const protocol::RecommendationEnvelope& envelope,
                                                  const CheckContext& context) {
  if (!envelope.recommendation.ok()) return envelope.recommendation.error();
  const protocol::Recommendation& rec = *envelope.recommendation;
  if (context.public_key_b64.empty()) {
    return MakeError(ErrorCode::kConfig,
                     "applying is off: control_plane.recommendation_public_key is not set");
  }
  if (Status signature =
          protocol::VerifyRecommendationSignature(envelope.raw_json, context.public_key_b64);
      !signature.ok()) {
    return signature.error();
  }
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
  CheckedRecommendation checked{rec, envelope.raw_json, std::nullopt};
  if (const auto* index = std::get_if<protocol::CreateIndexSpec>(&rec.spec);
      index != nullptr && index->where) {
    auto where = CheckPredicate(*index->where);
    if (!where.ok()) return std::move(where).error();
    checked.where = *std::move(where);
  }
  return checked;
}

}  // namespace optischema::applier
