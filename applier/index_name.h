#pragma once

// Deterministic names for indexes the applier builds, so a retry, a crash recovery or a rollback
// finds the same index, and start-up clean-up can recognise the agent's own INVALID leftovers.

#include <string>
#include <string_view>

namespace optischema::applier {

inline constexpr std::string_view kIndexNamePrefix = "optischema_";

// "optischema_" + the first 16 hex digits of SHA-256(recommendation id): 27 bytes, well under
// PostgreSQL's 63-byte identifier limit.
std::string IndexNameForRecommendation(std::string_view recommendation_id);

}  // namespace optischema::applier
