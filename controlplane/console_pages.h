#pragma once

// The console's pages and actions, one function each (console.h lists the routes). Each gets
// the request and its checked session, reads and writes only through the store, and returns the
// reply; a store failure is returned as an error (console.cc answers 503). The router has
// checked the session, the CSRF token and the role before an action runs.
//
// Thread safety: each function may be called from several threads at once.

#include <cstdint>
#include <string>

#include "controlplane/console.h"
#include "controlplane/console_html.h"
#include "controlplane/series_records.h"

namespace optischema::controlplane {

struct PageContext {
  Store& store;
  const Clock& clock;
  const ConsoleOptions& options;
  const WebRequest& request;
  const SessionContext& session;
  int64_t now_s = 0;

  // The frame of a page titled `title` whose navigation entry is `active`.
  PageFrame Frame(const std::string& title, const std::string& active) const;
  // The query parameter (GET) or form field (POST) `name`, or empty.
  std::string Param(const std::string& name) const;
  bool MayApprove() const { return session.user.role >= Role::kApprover; }
  // A console audit record of this user's action from this address.
  Status Record(const std::string& action, const std::string& target,
                const std::string& detail) const;
};

// The period a page shows: ?range=1h|6h|24h|7d|14d (default 24h). Up to a day it is drawn from
// minute buckets, beyond from hour buckets (series_records.h).
struct TimeRange {
  std::string name;
  int64_t seconds = 0;
  Resolution resolution = Resolution::kMinute;
};
TimeRange RangeOf(const std::string& name);
// Links to the other ranges of `path` with `query` (already encoded, may be empty).
std::string RenderRanges(const std::string& path, const std::string& query,
                         const TimeRange& active);

// Unix seconds of an RFC 3339 time, or 0 when it does not parse.
int64_t UnixSeconds(const std::string& rfc3339);

// "?agent=…&database=…" for a database's pages.
std::string DatabaseQuery(const std::string& agent_id, const std::string& database);

// A link to the statement page.
std::string StatementLink(const std::string& agent_id, const std::string& database,
                          const std::string& queryid, const std::string& label);

// A link to the recommendation page.
std::string RecommendationLink(const std::string& id);

// A page that says what went wrong, with `status`.
ApiReply MessagePage(const PageContext& context, int status, const std::string& title,
                     const std::string& message);

Result<ApiReply> OverviewPage(const PageContext& context);
Result<ApiReply> StatementPage(const PageContext& context);
Result<ApiReply> RecommendationsPage(const PageContext& context);
Result<ApiReply> RecommendationPage(const PageContext& context);
Result<ApiReply> AdvisorPage(const PageContext& context);
Result<ApiReply> AuditPage(const PageContext& context);
Result<ApiReply> BeforeAfterPage(const PageContext& context);
Result<ApiReply> ExportData(const PageContext& context);
Result<ApiReply> UsersPage(const PageContext& context);
Result<ApiReply> PasswordPage(const PageContext& context);

Result<ApiReply> ApproveAction(const PageContext& context);
Result<ApiReply> RejectAction(const PageContext& context);
Result<ApiReply> RollbackAction(const PageContext& context);
Result<ApiReply> CreateUserAction(const PageContext& context);
Result<ApiReply> DisableUserAction(const PageContext& context);
Result<ApiReply> ResetPasswordAction(const PageContext& context);
Result<ApiReply> CreateApiKeyAction(const PageContext& context);
Result<ApiReply> ChangePasswordAction(const PageContext& context);

}  // namespace optischema::controlplane
