#include "controlplane/recommendation_actions.h"

#include <array>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "controlplane/recommendation_workflow.h"
#include "controlplane/signing_key.h"
#include "core/time_format.h"

namespace optischema::controlplane {
namespace {

// Statuses in which the change is in place on the database, so there is something to undo.
constexpr std::array<std::string_view, 3> kRollbackFrom = {"applied", "verified", "regressed"};

Error Refusal(const std::string& reason) {
  return MakeError(ErrorCode::kInvalidArgument, reason);
}

Result<RecommendationRow> Find(Store& store, const std::string& id) {
  auto row = store.GetRecommendation(id);
  RETURN_IF_ERROR(row);
  if (!*row) return Refusal("no recommendation with id " + id);
  return std::move(**row);
}

std::string KindOf(const std::string& body_json) {
  const nlohmann::json body = nlohmann::json::parse(body_json, nullptr, false);
  if (!body.is_object() || !body.contains("kind") || !body["kind"].is_string()) return {};
  return body["kind"].get<std::string>();
}

// The user of the first approval recorded for `id`, or empty.
Result<std::string> FirstApprover(Store& store, const std::string& id) {
  auto decisions = store.Decisions(id);
  RETURN_IF_ERROR(decisions);
  for (auto it = decisions->rbegin(); it != decisions->rend(); ++it) {
    if (it->decision == "approve") return it->user;
  }
  return std::string();
}

}  // namespace

bool MayRollBack(std::string_view kind) { return kind != "analyze_table"; }

Result<ApproveOutcome> ApproveRecommendation(Store& store, const std::string& data_dir,
                                             const std::string& id, const std::string& user,
                                             const std::string& note, const ApprovalPolicy& policy,
                                             const Clock& clock) {
  auto row = Find(store, id);
  RETURN_IF_ERROR(row);
  const std::string& status = row->record.status;
  const bool second = status == kStatusAwaitingSecondApproval;
  if (status != kStatusProposed && !second) {
    return Refusal("recommendation " + id + " is " + status +
                   "; only a proposed recommendation can be approved");
  }
  const auto now = clock.Now();
  if (row->record.expires_at) {
    const auto expires = ParseRfc3339(*row->record.expires_at);
    if (!expires || *expires <= now) {
      return Refusal("recommendation " + id + " expired at " + *row->record.expires_at +
                     "; propose it again with a later expires_at");
    }
  }
  std::string approved_by = user;
  if (second) {
    auto first = FirstApprover(store, id);
    RETURN_IF_ERROR(first);
    if (*first == user) {
      return Refusal("recommendation " + id + " was approved by " + user +
                     " already; a second, different approver must confirm it");
    }
    approved_by = *first + ", " + user;
  } else if (policy.second_approver_kinds.contains(KindOf(row->record.body_json))) {
    auto changed = store.TransitionRecommendation(id, {kStatusProposed},
                                                  kStatusAwaitingSecondApproval, std::nullopt);
    RETURN_IF_ERROR(changed);
    if (!*changed) return Refusal("recommendation " + id + " changed meanwhile; look again");
    if (Status st = store.AddDecision({id, user, "approve", note, ""}); !st.ok()) {
      return std::move(st).error();
    }
    return ApproveOutcome::kAwaitingSecond;
  }
  auto private_key = ReadSigningKey(data_dir);
  RETURN_IF_ERROR(private_key);
  auto signed_json =
      SignApproval(row->record.body_json, approved_by, FormatRfc3339(now), *private_key);
  RETURN_IF_ERROR(signed_json);
  auto changed = store.TransitionRecommendation(id, {status}, kStatusApproved, *signed_json);
  RETURN_IF_ERROR(changed);
  if (!*changed) return Refusal("recommendation " + id + " changed meanwhile; look again");
  if (Status st = store.AddDecision({id, user, second ? "confirm" : "approve", note, ""});
      !st.ok()) {
    return std::move(st).error();
  }
  return ApproveOutcome::kApproved;
}

Status RejectRecommendation(Store& store, const std::string& id, const std::string& user,
                            const std::string& reason) {
  auto row = Find(store, id);
  RETURN_IF_ERROR(row);
  auto changed = store.TransitionRecommendation(
      id, {kStatusProposed, kStatusAwaitingSecondApproval}, kStatusRejected, std::nullopt);
  RETURN_IF_ERROR(changed);
  if (!*changed) {
    return Refusal("recommendation " + id + " is " + row->record.status +
                   "; only a proposed recommendation can be rejected");
  }
  return store.AddDecision({id, user, "reject", reason, ""});
}

Result<bool> RequestRollback(Store& store, const std::string& id, const std::string& user) {
  auto row = Find(store, id);
  RETURN_IF_ERROR(row);
  if (row->record.status == kStatusRollbackRequested) return true;
  if (!MayRollBack(KindOf(row->record.body_json))) {
    return Refusal("recommendation " + id +
                   " is an analyze_table: analyze_table changes nothing that can be rolled back "
                   "(the next ANALYZE replaces the statistics again)");
  }
  const std::vector<std::string> from(kRollbackFrom.begin(), kRollbackFrom.end());
  auto changed = store.TransitionRecommendation(id, from, kStatusRollbackRequested, std::nullopt);
  RETURN_IF_ERROR(changed);
  if (!*changed) {
    return Refusal("recommendation " + id + " is " + row->record.status +
                   "; only an applied one (applied, verified or regressed) can be rolled back");
  }
  if (Status st = store.AddDecision({id, user, "rollback", "", ""}); !st.ok()) {
    return std::move(st).error();
  }
  return false;
}

}  // namespace optischema::controlplane
