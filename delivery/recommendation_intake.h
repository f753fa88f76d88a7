#pragma once

// What the link does with the approved recommendations it pulls when no apply worker takes them
// (applying is off: no database has apply = true, or no recommendation_public_key): it checks each
// one (shape, and signature when recommendation_public_key is set) and logs it once. Nothing is
// applied.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/recent_ids.h"

namespace optischema::delivery {

// Parses `body` (the reply of GET .../recommendations?status=approved) and logs every
// recommendation whose id is not in `announced` yet, then adds it there: valid ones at info with
// id, kind and database (and whether the signature verifies), malformed ones at warn with the
// reason. A malformed body is logged at warn. Only the first kMaxAnnouncedPerPull elements are
// looked at; `announced` is bounded (RecentIds), so a control plane sending fresh ids at every
// pull costs log lines at that rate, never memory.
inline constexpr std::size_t kMaxAnnouncedPerPull = 100;
void AnnounceRecommendations(std::string_view body, std::string_view public_key_b64,
                             RecentIds& announced);

}  // namespace optischema::delivery
