// Approve, reject and request rollback from the console (console_pages.h,
// recommendation_actions.h). The router has checked the session, the CSRF token and the role.

#include "controlplane/console_pages.h"

namespace optischema::controlplane {
namespace {

std::string PagePath(const std::string& id, const std::string& done) {
  return "/recommendation?id=" + UrlEncode(id) + "&done=" + UrlEncode(done);
}

// A refusal the person can act on (wrong status, same approver, expired) is a 409 page naming
// it; a missing signing key is a 500 page saying how to make one; the store's errors go up.
Result<ApiReply> Refused(const PageContext& context, const std::string& action,
                         const std::string& id, const Error& error) {
  if (error.code != ErrorCode::kInvalidArgument && error.code != ErrorCode::kConfig) return error;
  if (Status st = context.Record(action + "_refused", id, error.message); !st.ok()) {
    return std::move(st).error();
  }
  return MessagePage(context, error.code == ErrorCode::kConfig ? 500 : 409, "Not done",
                     error.message);
}

}  // namespace

Result<ApiReply> ApproveAction(const PageContext& context) {
  const std::string id = context.Param("id");
  const std::string note = context.Param("note");
  auto outcome = ApproveRecommendation(context.store, context.options.data_dir, id,
                                       context.session.user.name, note, context.options.approval,
                                       context.clock);
  if (!outcome.ok()) return Refused(context, "approve", id, outcome.error());
  const bool first = *outcome == ApproveOutcome::kAwaitingSecond;
  if (Status st = context.Record(first ? "approve_first" : "approve", id, note); !st.ok()) {
    return std::move(st).error();
  }
  return RedirectReply(PagePath(
      id, first ? "approval recorded; a second, different approver must confirm it"
                : "approved and signed; the agent applies it when it next asks"));
}

Result<ApiReply> RejectAction(const PageContext& context) {
  const std::string id = context.Param("id");
  const std::string reason = context.Param("reason");
  if (reason.empty()) {
    return MessagePage(context, 400, "Not done", "Say why you reject the recommendation.");
  }
  if (Status st = RejectRecommendation(context.store, id, context.session.user.name, reason);
      !st.ok()) {
    return Refused(context, "reject", id, st.error());
  }
  if (Status st = context.Record("reject", id, reason); !st.ok()) return std::move(st).error();
  return RedirectReply(PagePath(id, "rejected"));
}

Result<ApiReply> RollbackAction(const PageContext& context) {
  const std::string id = context.Param("id");
  auto already = RequestRollback(context.store, id, context.session.user.name);
  if (!already.ok()) return Refused(context, "rollback", id, already.error());
  if (Status st = context.Record("rollback_request", id, *already ? "requested already" : "");
      !st.ok()) {
    return std::move(st).error();
  }
  return RedirectReply(
      PagePath(id, "rollback requested; the agent undoes the change when it next asks"));
}

}  // namespace optischema::controlplane
