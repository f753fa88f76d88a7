#pragma once

// The approvals console of the reference control plane (docs/console.md): server-rendered pages
// behind a login, on the same HTTPS listener as protocol v1 (every path outside /v1/ is the
// console's).
//
// Routes (GET pages need a session, or answer 303 to /login; the JSON/CSV export answers 401):
//   GET  /login, POST /login, POST /logout
//   GET  /overview[?agent=&database=&range=]     fleet health, KPIs, top statements
//   GET  /statement?agent=&database=&queryid=    one statement's history and recommendations
//   GET  /recommendations[?status=]              every recommendation with its risk
//   GET  /recommendation?id=                     detail, timeline, actions
//   POST /recommendation/approve|reject|rollback approver or admin
//   GET  /advisor                                index findings and schema drift
//   GET  /audit                                  agents' audit chains and the console's records
//   GET  /before-after                           guarded changes: statements before and after
//   GET  /export?agent=&database=[&queryid=]&format=csv|json
//   GET  /users, POST /users/create|disable|reset-password, POST /api-keys/create   admin
//   GET  /password, POST /password               the user's own password; a user whose password
//        someone else chose (one-time) is sent here first, and every other request is refused
//   GET  /static/console.css|console.js|chart.js (no session needed; no data)
// Every POST must carry the session's CSRF token (form field csrf) and, when the browser sends
// an Origin header, come from the console's own origin; a refused POST is 403 and audited, as is
// a role's refusal. Every reply carries the console's Content-Security-Policy (console_http.h).
// Store failures are 503 pages without internals.
//
// Thread safety: Handle may be called from several threads at once.

#include <memory>
#include <string>

#include "controlplane/console_auth.h"
#include "controlplane/console_http.h"
#include "controlplane/recommendation_actions.h"
#include "controlplane/store.h"
#include "core/clock.h"

namespace optischema::controlplane {

// Where Debian's libjs-chart.js installs Chart.js.
inline constexpr char kDefaultChartJsPath[] = "/usr/share/javascript/chart.js/chart.min.js";

struct ConsoleOptions {
  std::string data_dir;   // the signing key signs approvals
  ApprovalPolicy approval;
  std::string chart_js;   // Chart.js itself; empty: pages say charts are unavailable
};

class Console {
 public:
  // `store` and `clock` must outlive the console.
  Console(Store& store, ConsoleOptions options, const Clock& clock);
  ~Console();

  ApiReply Handle(const WebRequest& request) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace optischema::controlplane
