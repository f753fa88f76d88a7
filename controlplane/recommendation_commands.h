#pragma once

// The recommendation workflow on the command line (statuses in store.h, formats in
// recommendation_workflow.h):
//   keys init / keys show   the signing key (signing_key.h); prints the public key
//   recommend               stores a proposal (status proposed); prints its id
//   approve                 signs a proposed one (status approved): agents are served it
//   rollback                asks the agent to undo an applied one (status rollback_requested)
//   recommendations list    what there is and what the agents reported
// They work with or without `serve` running on the directory. The last line of `out` is what
// scripts read (public key, id) or, for a --json listing, a JSON array on one line; everything
// else goes to `err`. Each returns the exit status of command_output.h; every refusal (unknown
// id, wrong status, expired, no signing key, bad file) is 2 with the reason. `clock` gives "now"
// (approved_at, expiry).

#include <optional>
#include <ostream>
#include <string>

#include "core/clock.h"

namespace optischema::controlplane {

// $USER, or "admin" when it is unset or empty: who approves when --by is not given.
std::string DefaultApprover();

// Creates the signing key (refused when one exists, unless `force`); prints the public key.
int RunKeysInit(const std::string& data_dir, bool force, std::ostream& out, std::ostream& err);
// Prints the public key of the existing signing key.
int RunKeysShow(const std::string& data_dir, std::ostream& out, std::ostream& err);

// Reads the proposal in `file`, stores it and prints its id. Creates the data directory and
// database when missing; warns when the agent has not registered (yet).
int RunRecommend(const std::string& data_dir, const std::string& file, const Clock& clock,
                 std::ostream& out, std::ostream& err);

// Approves the proposed recommendation `id` as `approved_by`: sets approved_by and approved_at
// (now), signs it with the data directory's key and stores the signed text. Refused for an
// unknown id, any status but proposed, an expired one, or no signing key.
int RunApprove(const std::string& data_dir, const std::string& id, const std::string& approved_by,
               const Clock& clock, std::ostream& err);

// Asks the agent to roll back `id`, which must be applied, verified or regressed; a rollback
// already requested is left as it is (exit 0).
int RunRollback(const std::string& data_dir, const std::string& id, const Clock& clock,
                std::ostream& err);

struct RecommendationsListOptions {
  std::string data_dir;
  bool json = false;
  std::optional<std::string> agent_id;
};

// Oldest first. Objects: id, kind, status, agent_id, database, approved_by and approved_at (null
// until approved), expires_at (UTC), created_at, updated_at, last_event ({event, detail, at} of
// the last event the agent reported, or null), reason (string or null), source ("agent" for a
// proposal of the agent's advisor, id "adv-…"; "operator" otherwise). Text: a table, the reason
// last and cut to 60 characters.
int RunRecommendationsList(const RecommendationsListOptions& options, std::ostream& out,
                           std::ostream& err);

}  // namespace optischema::controlplane
