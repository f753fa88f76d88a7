#pragma once

// What the agent does with the approved recommendations it pulls, until the applier exists: it
// checks each one (shape, and signature when recommendation_public_key is set) and logs it once.
// Nothing is applied.

#include <set>
#include <string>
#include <string_view>

namespace optischema::agent {

// Parses `body` (the reply of GET .../recommendations?status=approved) and logs every
// recommendation whose id is not in `announced` yet, then adds it there: valid ones at info with
// id, kind and database (and whether the signature verifies), malformed ones at warn with the
// reason. A malformed body is logged at warn.
void AnnounceRecommendations(std::string_view body, std::string_view public_key_b64,
                             std::set<std::string>& announced);

}  // namespace optischema::agent
