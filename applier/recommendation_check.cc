#include "applier/recommendation_check.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "core/time_format.h"

namespace optischema::applier {
namespace {

// Settings a recommendation never changes, whatever its signature: each runs commands or loads
// code on the database server, or moves its files. Names are compared in lower case, as
// PostgreSQL does.
constexpr std::array<std::string_view, 16> kRefusedSettings = {
    "archive_cleanup_command",
    "archive_command",
    "archive_library",
    "config_file",
    "data_directory",
    "dynamic_library_path",
    "external_pid_file",
    "hba_file",
    "ident_file",
    "jit_provider",
    "local_preload_libraries",
    "recovery_end_command",
    "restore_command",
    "session_preload_libraries",
    "shared_preload_libraries",
    "ssl_passphrase_command",
};

bool IsRefusedSetting(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(kRefusedSettings.begin(), kRefusedSettings.end(), name) !=
         kRefusedSettings.end();
}

}  // namespace

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
  if (const auto* setting = std::get_if<protocol::SetConfigSpec>(&rec.spec);
      setting != nullptr && IsRefusedSetting(setting->name)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "setting " + setting->name +
                         " is never changed by the agent: it runs commands or loads code on the "
                         "database server; change it by hand if that is intended");
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
