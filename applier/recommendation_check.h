#pragma once

// The checks every pulled recommendation passes before anything touches the database. A refusal
// carries the reason the agent reports to the control plane as `rejected`.
//
// In order: the recommendation parses (shape, kinds, identifiers), applying is on
// (recommendation_public_key configured), its signature verifies over the bytes received, it is
// for this agent, it has not expired, it names a configured database with apply = true, it was
// not applied before (by id), a set_config does not name a setting that runs commands or loads
// code (archive_command, shared_preload_libraries, ...), and for create_index a `where` passes
// CheckPredicate.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "applier/predicate.h"
#include "core/result.h"
#include "protocol/recommendation.h"

namespace optischema::applier {

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
  std::string raw_json;                // the signed bytes as received
  std::optional<SafePredicate> where;  // create_index with a where only
};

// Errors (the message is the reason to report; it never echoes field values):
//   kConfig            applying is off (no public key) or the key is malformed;
//   kPermissionDenied  signature missing or invalid, another agent, apply = false, replay, a
//                      setting that is never changed;
//   kParseFailed       malformed recommendation;
//   kInvalidArgument   expired, unknown database, a `where` outside the grammar.
Result<CheckedRecommendation> CheckRecommendation(const protocol::RecommendationEnvelope& envelope,
                                                  const CheckContext& context);

}  // namespace optischema::applier
