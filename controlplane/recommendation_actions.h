#pragma once

// What a person does to a recommendation, from the console or the command line (statuses in
// store.h). Each action checks the status it starts from and changes it with a compare-and-set,
// so two people acting at once cannot both succeed; each is recorded as a decision (its timeline,
// store.h). Who may act is the caller's business (roles: console_auth.h and console.h).
//
// The two-person rule: for the kinds in `second_approver_kinds`, the first approval moves a
// proposed recommendation to kStatusAwaitingSecondApproval, which is not signed and not served;
// a different person's approval then signs it with both names in approved_by ("alice, bob").
//
// Errors: kInvalidArgument with a sentence for the person (unknown id, wrong status, expired,
// the same person approving twice, a recommendation that changed meanwhile); the store's errors;
// kConfig when the data directory has no signing key.

#include <set>
#include <string>
#include <string_view>

#include "controlplane/store.h"
#include "core/clock.h"
#include "core/result.h"

namespace optischema::controlplane {

inline constexpr char kStatusAwaitingSecondApproval[] = "awaiting_second_approval";
inline constexpr char kStatusRejected[] = "rejected";

struct ApprovalPolicy {
  std::set<std::string> second_approver_kinds;  // e.g. {"drop_index", "set_config"}
};

enum class ApproveOutcome {
  kApproved,        // signed: the agent is served it
  kAwaitingSecond,  // the first of two approvals is recorded
};

Result<ApproveOutcome> ApproveRecommendation(Store& store, const std::string& data_dir,
                                             const std::string& id, const std::string& user,
                                             const std::string& note, const ApprovalPolicy& policy,
                                             const Clock& clock);

// A proposed (or half-approved) recommendation becomes rejected; it is never served.
Status RejectRecommendation(Store& store, const std::string& id, const std::string& user,
                            const std::string& reason);

// Whether a recommendation of `kind` can be rolled back: every kind but analyze_table, whose
// new statistics replace the old ones (nothing is kept to restore).
bool MayRollBack(std::string_view kind);

// Asks the agent to undo an applied, verified or regressed recommendation; true when a rollback
// was requested already (nothing changes). kInvalidArgument for an analyze_table (MayRollBack).
Result<bool> RequestRollback(Store& store, const std::string& id, const std::string& user);

}  // namespace optischema::controlplane
