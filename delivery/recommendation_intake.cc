#include "delivery/recommendation_intake.h"

#include "core/logging.h"
#include "protocol/recommendation.h"

namespace optischema::delivery {

void AnnounceRecommendations(std::string_view body, std::string_view public_key_b64,
                             RecentIds& announced) {
  auto list = protocol::ParseRecommendationList(body, kMaxAnnouncedPerPull);
  if (!list.ok()) {
    LogEvent(spdlog::level::warn, "recommendations reply refused",
             {{"error", list.error().message}});
    return;
  }
  for (const protocol::RecommendationEnvelope& envelope : list->envelopes) {
    if (!envelope.id.empty() && announced.contains(envelope.id)) continue;
    if (!envelope.recommendation.ok()) {
      LogEvent(
          spdlog::level::warn, "malformed recommendation refused",
          {{"recommendation_id", envelope.id}, {"error", envelope.recommendation.error().message}});
    } else {
      const protocol::Recommendation& recommendation = *envelope.recommendation;
      std::string signature = "not checked (recommendation_public_key is not set)";
      if (!public_key_b64.empty()) {
        const Status verified =
            protocol::VerifyRecommendationSignature(envelope.raw_json, public_key_b64);
        signature = verified.ok() ? "verifies" : "REFUSED: " + verified.error().message;
      }
      LogEvent(
          spdlog::level::info,
          "approved recommendation received; not applied: applying is off (set apply = true for "
          "the database and control_plane.recommendation_public_key)",
          {{"recommendation_id", recommendation.id},
           {"kind",
            std::string(protocol::RecommendationKindName(protocol::KindOf(recommendation.spec)))},
           {"database", recommendation.database},
           {"signature", signature}});
    }
    if (!envelope.id.empty()) announced.Insert(envelope.id);
  }
}

}  // namespace optischema::delivery
