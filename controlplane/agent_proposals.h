#pragma once

// Index proposals from the agent's advisor (protocol/advice.h) become `proposed` recommendations
// on the control plane, for a person to approve like any other (recommendation_workflow.h).
//
// One element of a snapshot's `proposals` array, as the agent writes it (advice_json.cc):
//   kind               "create_index", "drop_index", "set_table_options" or "analyze_table"; any
//                      other kind is refused
//   spec               the recommendation spec of that kind (protocol/recommendation.h)
//   affected_queryids  array of queryids as decimal strings (JSON numbers lose 64-bit precision)
//   table_digest       the table's schema digest when proposed; "" or absent: none known
//   reason             one sentence for people; "" or absent: none
// Other members (table, statements, costs, sizes) are evidence for people and are not stored.
//
// The recommendation built from it: id AgentProposalId(...), agent_id and database of the
// snapshot, kind and spec as given, affected_queryids as integers, the guard of its kind below,
// table_digest and reason as given, expires_at kDefaultLifetime after `now`. It goes through
// ParseProposal, so every rule of a recommendation is checked.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "controlplane/recommendation_workflow.h"
#include "controlplane/store.h"
#include "core/result.h"
#include "protocol/recommendation.h"

namespace optischema::controlplane {

// Ids of recommendations proposed by agents start with this; a person's never do unless chosen
// so in a proposal file.
inline constexpr char kAgentProposalIdPrefix[] = "adv-";

// Guards of agent proposals: watch the affected statements for 15 minutes after the change and
// count a 20% growth of their mean time as a regression. A new index is rolled back on its own
// (dropping it again is cheap); a dropped index is not rebuilt without a person, since building a
// large index takes long and loads the server.
inline constexpr protocol::RecommendationGuard kAgentCreateIndexGuard{
    /*verify_window_s=*/900, /*max_regression_pct=*/20, /*auto_rollback=*/true};
inline constexpr protocol::RecommendationGuard kAgentDropIndexGuard{
    /*verify_window_s=*/900, /*max_regression_pct=*/20, /*auto_rollback=*/false};
// Table options (autovacuum reloptions) are set back on their own on a regression, like a new
// index; an ANALYZE cannot be undone, so it has nothing to roll back.
inline constexpr protocol::RecommendationGuard kAgentSetTableOptionsGuard{
    /*verify_window_s=*/900, /*max_regression_pct=*/20, /*auto_rollback=*/true};
inline constexpr protocol::RecommendationGuard kAgentAnalyzeTableGuard{
    /*verify_window_s=*/900, /*max_regression_pct=*/20, /*auto_rollback=*/false};

// "adv-" + the first 32 lower-case hex digits of SHA-256 over
//   agent_id NUL database NUL kind NUL canonical_spec [NUL table_digest]
// where canonical_spec is the canonical JSON (protocol/canonical_json.h) of the spec as received
// and the digest part is there only when the proposal carries one. The same proposal in later
// snapshots therefore gets the same id, while the same change proposed again after its table
// changed (an older one is then refused by the agent) is a new recommendation. kInternal when
// OpenSSL fails. Thread-safe.
Result<std::string> AgentProposalId(std::string_view agent_id, std::string_view database,
                                    std::string_view kind, std::string_view canonical_spec,
                                    std::string_view table_digest = {});

// The proposal one element of `proposals` describes (see above). Errors, kInvalidArgument, name
// the member and never echo values: "kind: only create_index, drop_index, set_table_options and
// analyze_table are proposed by agents", "affected_queryids[1]: expected a decimal 64-bit integer in a string", or
// ParseProposal's ("recommendation adv-…: spec.columns: missing"). Pure; thread-safe.
Result<Proposal> AgentProposal(const nlohmann::json& element, const std::string& agent_id,
                               const std::string& database,
                               std::chrono::system_clock::time_point now);

struct AgentProposalCounts {
  int64_t stored = 0;   // new recommendations
  int64_t refused = 0;  // malformed elements, skipped
};

// Stores each element of `proposals` (the JSON array of the stored `snapshot`; anything else
// holds none) as a `proposed` recommendation of the snapshot's agent and database, unless one
// with its id exists already, in any status (then nothing happens). A malformed element is
// skipped and logged as "proposals[i]" with the reason. A store failure is logged and ends the
// run: the remaining proposals are not stored, and are stored when a later snapshot repeats them.
// Never fails, so the snapshot carrying the proposals is kept whatever they hold.
AgentProposalCounts StoreAgentProposals(Store& store, const SnapshotRecord& snapshot,
                                        const nlohmann::json& proposals,
                                        std::chrono::system_clock::time_point now);

}  // namespace optischema::controlplane
