#include "controlplane/console.h"

#include <spdlog/spdlog.h>

#include <array>
#include <utility>

#include "controlplane/console_assets.h"
#include "controlplane/console_pages.h"

namespace optischema::controlplane {
namespace {

using Handler = Result<ApiReply> (*)(const PageContext&);

struct Route {
  const char* method;
  const char* path;
  Role needs;
  Handler handler;
};

constexpr std::array kRoutes = {
    Route{"GET", "/overview", Role::kViewer, &OverviewPage},
    Route{"GET", "/statement", Role::kViewer, &StatementPage},
    Route{"GET", "/recommendations", Role::kViewer, &RecommendationsPage},
    Route{"GET", "/recommendation", Role::kViewer, &RecommendationPage},
    Route{"GET", "/advisor", Role::kViewer, &AdvisorPage},
    Route{"GET", "/audit", Role::kViewer, &AuditPage},
    Route{"GET", "/before-after", Role::kViewer, &BeforeAfterPage},
    Route{"GET", "/export", Role::kViewer, &ExportData},
    Route{"GET", "/users", Role::kAdmin, &UsersPage},
    Route{"GET", "/password", Role::kViewer, &PasswordPage},
    Route{"POST", "/password", Role::kViewer, &ChangePasswordAction},
    Route{"POST", "/recommendation/approve", Role::kApprover, &ApproveAction},
    Route{"POST", "/recommendation/reject", Role::kApprover, &RejectAction},
    Route{"POST", "/recommendation/rollback", Role::kApprover, &RollbackAction},
    Route{"POST", "/users/create", Role::kAdmin, &CreateUserAction},
    Route{"POST", "/users/disable", Role::kAdmin, &DisableUserAction},
    Route{"POST", "/users/reset-password", Role::kAdmin, &ResetPasswordAction},
    Route{"POST", "/api-keys/create", Role::kAdmin, &CreateApiKeyAction},
};

std::string SessionCookie(const std::string& value, bool clear) {
  return std::string(kSessionCookieName) + "=" + value + "; Path=/" +
         (clear ? "; Max-Age=0" : "") + "; HttpOnly; Secure; SameSite=Strict";
}

ApiReply PlainError(int status, const std::string& message) {
  return ConsoleReply(status, "text/plain; charset=utf-8", message + "\n");
}

std::string LoginForm(const std::string& message) {
  std::string body;
  if (!message.empty()) body += "<p class=\"error\" id=\"login-error\">" + Escape(message) + "</p>";
  body +=
      "<form method=\"post\" action=\"/login\" class=\"login\">"
      "<label>Name <input name=\"name\" id=\"name\" autocomplete=\"username\" required></label>"
      "<label>Password <input type=\"password\" name=\"password\" id=\"password\" "
      "autocomplete=\"current-password\" required></label>"
      "<label>Code (when you enrolled a second factor) <input name=\"code\" id=\"code\" "
      "inputmode=\"numeric\" autocomplete=\"one-time-code\"></label>"
      "<button type=\"submit\" id=\"login\">Log in</button></form>";
  return body;
}

ApiReply LoginPage(int status, const std::string& message) {
  PageFrame frame;
  frame.title = "Log in";
  return HtmlReply(status, RenderPage(frame, LoginForm(message)));
}

}  // namespace

struct Console::Impl {
  Store& store;
  ConsoleOptions options;
  const Clock& clock;
  mutable ConsoleAuth auth;

  int64_t NowSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch())
        .count();
  }

  // A POST from another origin (when the browser names one) is refused.
  static bool SameOrigin(const WebRequest& request) {
    return request.origin.empty() || request.origin == "https://" + request.host;
  }

  ApiReply Static(const std::string& path) const {
    if (path == "/static/console.css") {
      return ConsoleReply(200, "text/css; charset=utf-8", std::string(kConsoleCss));
    }
    if (path == "/static/console.js") {
      return ConsoleReply(200, "text/javascript; charset=utf-8", std::string(kConsoleJs));
    }
    if (path == "/static/chart.js" && !options.chart_js.empty()) {
      return ConsoleReply(200, "text/javascript; charset=utf-8", options.chart_js);
    }
    return PlainError(404, "no such file");
  }

  ApiReply Login(const WebRequest& request) const {
    if (!SameOrigin(request)) return PlainError(403, "cross-origin login refused");
    const auto field = [&](const char* name) {
      const auto it = request.form.find(name);
      return it == request.form.end() ? std::string() : it->second;
    };
    auto result = auth.Login({field("name"), field("password"), field("code"), request.address});
    if (!result.ok()) {
      spdlog::error("console login: {}", result.error().ToString());
      return PlainError(503, "the control plane's store is unavailable; try again");
    }
    if (!result->ok) return LoginPage(401, result->refusal);
    ApiReply reply = RedirectReply("/overview");
    reply.headers.emplace_back("Set-Cookie", SessionCookie(result->session_id, false));
    return reply;
  }

  ApiReply Handle(const WebRequest& request) const {
    if (request.method == "GET" && request.path.rfind("/static/", 0) == 0) {
      return Static(request.path);
    }
    if (request.path == "/login") {
      if (request.method == "POST") return Login(request);
      if (request.method == "GET") return LoginPage(200, "");
      return PlainError(405, "GET or POST");
    }
    auto session = auth.Authenticate(CookieValue(request.cookie, kSessionCookieName));
    if (!session.ok()) {
      spdlog::error("console session: {}", session.error().ToString());
      return PlainError(503, "the control plane's store is unavailable; try again");
    }
    if (!*session) {
      if (request.method == "GET" && request.path != "/export") return RedirectReply("/login");
      return PlainError(401, "log in first");
    }
    const PageContext context{store, clock, options, request, **session, NowSeconds()};
    if (request.method == "POST") {
      const auto token = request.form.find("csrf");
      if (!SameOrigin(request) || token == request.form.end() ||
          !ConstantTimeEquals(token->second, (*session)->session.csrf_token)) {
        (void)context.Record("csrf_refused", request.path,
                             "a POST without this session's CSRF token or from another origin");
        return MessagePage(context, 403, "Refused",
                           "This form is out of date or did not come from this console. Load "
                           "the page again and retry.");
      }
      if (request.path == "/logout") {
        if (Status st = auth.Logout(**session, request.address); !st.ok()) {
          spdlog::error("console logout: {}", st.error().ToString());
        }
        ApiReply reply = RedirectReply("/login");
        reply.headers.emplace_back("Set-Cookie", SessionCookie("", true));
        return reply;
      }
    }
    // A password someone else chose is changed before anything else.
    if ((*session)->user.must_change_password && request.path != "/password") {
      if (request.method == "GET") return RedirectReply("/password");
      return MessagePage(context, 403, "Choose your password",
                         "Choose your own password first (page Password).");
    }
    if (request.method == "GET" && request.path == "/") return RedirectReply("/overview");
    for (const Route& route : kRoutes) {
      if (request.method != route.method || request.path != route.path) continue;
      if ((*session)->user.role < route.needs) {
        (void)context.Record("forbidden", request.path,
                             "needs the " + std::string(RoleName(route.needs)) + " role");
        return MessagePage(context, 403, "Not allowed",
                           "Your role (" + std::string(RoleName((*session)->user.role)) +
                               ") may not do this; it needs " +
                               std::string(RoleName(route.needs)) + ".");
      }
      auto reply = route.handler(context);
      if (!reply.ok()) {
        spdlog::error("console {} {}: {}", request.method, request.path,
                      reply.error().ToString());
        return MessagePage(context, 503, "Unavailable",
                           "The control plane's store could not answer; try again.");
      }
      return std::move(*reply);
    }
    return MessagePage(context, 404, "Not found", "There is no such page.");
  }
};

Console::Console(Store& store, ConsoleOptions options, const Clock& clock)
    : impl_(new Impl{store, std::move(options), clock, ConsoleAuth(store, clock)}) {}

Console::~Console() = default;

ApiReply Console::Handle(const WebRequest& request) const { return impl_->Handle(request); }

}  // namespace optischema::controlplane
