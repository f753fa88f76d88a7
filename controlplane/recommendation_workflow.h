#pragma once

// How a recommendation is proposed and approved on the control plane (the commands are in
// recommendation_commands.h, the statuses in store.h):
//   `recommend` reads a proposal file: every field of protocol/recommendation.h except id
//   (optional: generated), approved_by, approved_at, signature; expires_at optional (default:
//   kDefaultLifetime from now). It is stored as the recommendation without those three fields.
//   `approve` adds approved_by and approved_at and signs; the signed text is what agents get.
//
// Pure functions; thread-safe.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "protocol/recommendation.h"

namespace optischema::controlplane {

inline constexpr std::chrono::hours kDefaultLifetime{24 * 7};

struct Proposal {
  protocol::Recommendation recommendation;  // approved_by and approved_at empty, no signature
  std::string json;        // the recommendation without approved_by, approved_at and signature
  std::string expires_at;  // recommendation.expires_at in UTC, as FormatRfc3339 writes it
};

// The proposal in `text`, with id `generated_id` when it has none. Errors, kInvalidArgument, name
// the field: "spec.columns: missing", "guard.max_regression_pct: canonical JSON allows integers
// only...", "approved_by: set by `approve`, not in the proposal", "agent_id: ...",
// "expires_at: already passed". Values from the text are never echoed.
Result<Proposal> ParseProposal(std::string_view text, std::chrono::system_clock::time_point now,
                               const std::string& generated_id);

// The signed recommendation: `proposal_json` (a Proposal's json) with approved_by and approved_at
// set, as SignRecommendationJson writes it. Errors: SignRecommendationJson's (kParseFailed naming
// the field, e.g. an empty approved_by; kConfig for a bad private key).
Result<std::string> SignApproval(std::string_view proposal_json, const std::string& approved_by,
                                 const std::string& approved_at, std::string_view private_key_b64);

}  // namespace optischema::controlplane
