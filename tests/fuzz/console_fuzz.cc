// Fuzz target: the console's request handling, through Console::Handle over a real SQLite store
// holding users, a recommendation and a statement whose texts carry markup. The input is a
// request: its first byte picks who sends it (no session, viewer, approver, admin), the method,
// and whether the session's CSRF token and the console's Origin are added; the rest is split on
// '\n' into the path, the query string, the form body and an extra Cookie header.
//
// Logins and the two user actions that hash a password are skipped: Argon2id costs tens of
// milliseconds by design, which would leave no time for anything else. So are logging out and
// disabling a user, which would end the sessions the other inputs need.
//
// Invariants (a failure aborts): the status is one the console answers (200, 303, 400, 401, 403,
// 404, 405, 409, 503); every reply carries the Content-Security-Policy; a redirect goes to a path
// of the console; an HTML page holds exactly the two <script> elements of its frame (no input,
// stored or reflected, becomes markup).

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/console.h"
#include "controlplane/console_auth.h"
#include "controlplane/recommendation_workflow.h"
#include "controlplane/series_extraction.h"
#include "controlplane/signing_key.h"
#include "controlplane/store.h"
#include "controlplane/user_management.h"
#include "core/clock.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace optischema;
using controlplane::ApiReply;
using controlplane::Role;

constexpr char kPassword[] = "fuzzing password";
constexpr char kHost[] = "cp.example:8443";
constexpr char kMarkup[] = "<script>alert(1)</script><img src=x onerror=alert(2)>";

class FixedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return fuzz::TestNow(); }
  std::chrono::steady_clock::time_point Monotonic() const override { return {}; }
};

struct Browser {
  std::string cookie;
  std::string csrf;
};

struct Server {
  FixedClock clock;
  std::unique_ptr<controlplane::Store> store;
  std::unique_ptr<controlplane::Console> console;
  Browser browsers[4];  // none, viewer, approver, admin
};

Server& TheServer() {
  static Server* const server = [] {
    fuzz::SilenceLogging();
    auto* s = new Server;
    const std::string data = fuzz::ScratchDir() + "/data";
    auto store = controlplane::Store::Open(data, controlplane::Store::OpenMode::kCreate, s->clock);
    if (!store.ok()) fuzz::Fail("cannot open the store: " + store.error().message);
    s->store = std::move(*store);
    if (!controlplane::CreateSigningKey(data, false).ok()) fuzz::Fail("cannot make a key");
    const std::pair<const char*, Role> users[] = {
        {"viewer", Role::kViewer}, {"approver", Role::kApprover}, {"admin", Role::kAdmin}};
    controlplane::ConsoleAuth auth(*s->store, s->clock);
    for (int i = 0; i < 3; ++i) {
      if (!controlplane::CreateUser(*s->store, users[i].first, users[i].second, kPassword, "fuzz",
                                    "cli")
               .ok()) {
        fuzz::Fail("cannot create a user");
      }
      auto login = auth.Login({users[i].first, kPassword, "", "192.0.2.1"});
      if (!login.ok() || !login->ok) fuzz::Fail("cannot log in");
      auto session = auth.Authenticate(login->session_id);
      if (!session.ok() || !*session) fuzz::Fail("no session");
      s->browsers[i + 1] = {login->session_id, (*session)->session.csrf_token};
    }
    const std::string proposal =
        std::string(R"({"id":"r-1","agent_id":")") + fuzz::kTestAgentId +
        R"(","database":"shop","kind":"create_index","spec":{"schema":"public","table":"t","columns":["c"]},"affected_queryids":[42],"guard":{"verify_window_s":60,"max_regression_pct":10,"auto_rollback":true},"reason":")" +
        "<b>" + R"(","expires_at":"2026-12-22T12:00:00Z"})";
    auto parsed = controlplane::ParseProposal(proposal, s->clock.Now(), "r-1");
    if (!parsed.ok()) fuzz::Fail("bad seed proposal: " + parsed.error().message);
    if (!s->store
             ->AddRecommendation({"r-1", fuzz::kTestAgentId, controlplane::kStatusProposed,
                                  parsed->expires_at, parsed->json})
             .ok()) {
      fuzz::Fail("cannot store the proposal");
    }
    nlohmann::json snapshot = {
        {"database", "shop"},
        {"window_s", 30},
        {"statements",
         {{{"queryid", "42"}, {"fingerprint", kMarkup}, {"text", kMarkup}, {"calls", 1}}}},
        {"index_findings", {{{"kind", kMarkup}, {"reason", kMarkup}}}}};
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           s->clock.Now().time_since_epoch())
                           .count();
    const auto series = controlplane::ExtractSeries(snapshot, fuzz::kTestAgentId, now_s - 60);
    if (!s->store->AddSeriesSamples(series.database, series.statements, series.advice_json).ok()) {
      fuzz::Fail("cannot store the history");
    }
    s->console = std::make_unique<controlplane::Console>(
        *s->store, controlplane::ConsoleOptions{data, {{"drop_index"}}, "/* chart.js */"},
        s->clock);
    return s;
  }();
  return *server;
}

std::size_t CountScriptTags(const std::string& html) {
  std::string lower = html;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::size_t count = 0;
  for (std::size_t at = lower.find("<script"); at != std::string::npos;
       at = lower.find("<script", at + 1)) {
    ++count;
  }
  return count;
}

std::string Header(const ApiReply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers) {
    if (key == name) return value;
  }
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Server& server = TheServer();
  const uint8_t flags = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    const std::size_t newline = rest.find('\n', start);
    if (newline == std::string_view::npos) break;
    parts.emplace_back(rest.substr(start, newline - start));
    start = newline + 1;
  }
  parts.emplace_back(rest.substr(std::min(start, rest.size())));
  parts.resize(4);

  controlplane::WebRequest request;
  request.method = (flags & 0x04) != 0 ? "POST" : "GET";
  request.path = parts[0];
  request.query = controlplane::ParseUrlEncoded(parts[1]);
  if (request.method == "POST") request.form = controlplane::ParseUrlEncoded(parts[2]);
  if (request.method == "POST" &&
      (request.path == "/login" || request.path == "/users/create" ||
       request.path == "/users/reset-password" || request.path == "/logout" ||
       request.path == "/users/disable")) {
    return 0;
  }
  const Browser& browser = server.browsers[flags & 0x03];
  request.cookie = parts[3];
  if (!browser.cookie.empty()) {
    request.cookie += "; " + std::string(controlplane::kSessionCookieName) + "=" + browser.cookie;
  }
  if ((flags & 0x08) != 0 && request.method == "POST") request.form["csrf"] = browser.csrf;
  if ((flags & 0x10) != 0) request.origin = std::string("https://") + kHost;
  request.host = kHost;
  request.address = "192.0.2.1";

  const ApiReply reply = server.console->Handle(request);
  static const int kStatuses[] = {200, 303, 400, 401, 403, 404, 405, 409, 503};
  if (std::find(std::begin(kStatuses), std::end(kStatuses), reply.status) ==
      std::end(kStatuses)) {
    fuzz::Fail("unexpected status " + std::to_string(reply.status));
  }
  if (Header(reply, "Content-Security-Policy") != controlplane::kContentSecurityPolicy) {
    fuzz::Fail("a reply without the Content-Security-Policy");
  }
  if (reply.status == 303 && Header(reply, "Location").rfind('/', 0) != 0) {
    fuzz::Fail("a redirect outside the console");
  }
  if (reply.content_type.rfind("text/html", 0) == 0 && CountScriptTags(reply.body) != 2) {
    fuzz::Fail("an HTML page with a <script> element of the input's making");
  }
  return 0;
}
