#pragma once

// The checks every pulled recommendation passes before anything touches the database. A refusal
// carries the reason the agent reports to the control plane as `rejected`.
//
// In order: the recommendation parses (shape, kinds, identifiers), applying is on
// (recommendation_public_key configured), its signature verifies over the bytes received, it is
// for this agent, it has not expired, it names a configured database with apply = true, it was
// not applied before (by id), a set_config names a setting on the allow-list
// (applier/settings_allow_list.h), and for create_index a `where` passes CheckPredicate. The
// options of a set_table_options are allow-listed and range-checked by the parse itself
// (protocol/table_options_allow_list.h), so one outside the list never gets this far.
//
// The first three (size, strict parse, signature) are CheckAuthenticity: until they pass, the
// element is untrusted bytes, and nothing but its id, size and verdict may be recorded.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "pg/predicate.h"
#include "protocol/recommendation.h"

namespace optischema::applier {

// A pulled element larger than this is refused without being parsed as a recommendation (the
// longest legitimate one, a rewrite with two long statement texts, stays far below).
inline constexpr std::size_t kMaxRecommendationBytes = 64 * 1024;

struct CheckContext {
  std::string agent_id;
  std::string public_key_b64;  // empty: applying is off
  std::chrono::system_clock::time_point now;
  std::map<std::string, bool> databases;  // configured name -> apply
  // Whether a recommendation with this id was applied before (from the audit log).
  std::function<bool(const std::string& id)> already_applied;
};

struct CheckedRecommendation {
  protocol::Recommendation recommendation;
  std::string raw_json;                    // the signed bytes as received
  std::optional<pg::SafePredicate> where;  // create_index with a where only
};

// Errors (the message is the reason to report; it never echoes field values):
//   kConfig            applying is off (no public key) or the key is malformed;
//   kPermissionDenied  too large, signature missing or invalid, another agent, apply = false,
//                      replay, a setting outside the allow-list;
//   kParseFailed       malformed recommendation;
//   kInvalidArgument   expired, unknown database, a `where` outside the grammar.
// OK when the element is at most kMaxRecommendationBytes, parses strictly, and its signature
// verifies with `public_key_b64`. Errors: kPermissionDenied (too large, signature missing or
// invalid), kParseFailed (malformed), kConfig (no key, or a malformed key).
Status CheckAuthenticity(const protocol::RecommendationEnvelope& envelope,
                         std::string_view public_key_b64);

// CheckAuthenticity, then the rest, in the order above.
Result<CheckedRecommendation> CheckRecommendation(const protocol::RecommendationEnvelope& envelope,
                                                  const CheckContext& context);

}  // namespace optischema::applier
