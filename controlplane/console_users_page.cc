// The admin's page: console users and API keys (console_pages.h, user_management.h). A new
// password or API key is shown once, on the page that made it, and never stored in clear.

#include "controlplane/api_keys.h"
#include "controlplane/console_pages.h"
#include "controlplane/password_hash.h"
#include "controlplane/user_management.h"

namespace optischema::controlplane {
namespace {

ApiReply Shown(const PageContext& context, const std::string& title, const std::string& what,
               const std::string& secret) {
  return HtmlReply(200, RenderPage(context.Frame(title, "/users"),
                                   "<p class=\"notice\">" + Escape(what) +
                                       " It is shown only now.</p><pre id=\"secret\">" +
                                       Escape(secret) +
                                       "</pre><p><a href=\"/users\">Back to users</a></p>"));
}

Result<ApiReply> Refused(const PageContext& context, const Error& error) {
  if (error.code != ErrorCode::kInvalidArgument) return error;
  return MessagePage(context, 400, "Not done", error.message);
}

}  // namespace

Result<ApiReply> UsersPage(const PageContext& context) {
  auto users = context.store.ListUsers();
  RETURN_IF_ERROR(users);
  const std::string& csrf = context.session.session.csrf_token;
  std::vector<std::vector<std::string>> rows;
  for (const ConsoleUser& u : *users) {
    std::string state = u.disabled ? "disabled" : "active";
    if (u.locked_until_s && *u.locked_until_s > context.now_s) state = "locked";
    rows.push_back(
        {Escape(u.name), Escape(RoleName(u.role)), u.totp_secret ? "yes" : "no", Badge(state),
         std::to_string(u.failed_login_attempts), Escape(u.created_at),
         RenderPostForm("/users/reset-password", csrf, {{"name", u.name}}, "",
                        "New password") +
             (u.disabled ? "" : RenderPostForm("/users/disable", csrf, {{"name", u.name}}, "",
                                               "Disable"))});
  }
  std::string body = RenderTable(
      {"Name", "Role", "Second factor", "State", "Failed logins", "Created", ""}, rows);
  body += "<h2>Add a user</h2><div class=\"actions\">" +
          RenderPostForm("/users/create", csrf, {},
                         "<input name=\"name\" placeholder=\"name\" required>"
                         "<select name=\"role\"><option>viewer</option><option>approver</option>"
                         "<option>admin</option></select>",
                         "Create with a one-time password") +
          "</div><p>A second factor is enrolled with <code>optischema-controlplane users "
          "enroll-totp NAME</code> (docs/console.md).</p>";
  body += "<h2>API keys for agents</h2><div class=\"actions\">" +
          RenderPostForm("/api-keys/create", csrf, {},
                         "<input name=\"name\" placeholder=\"key name\" required>", "Create key") +
          "</div>";
  return HtmlReply(200, RenderPage(context.Frame("Users and keys", "/users"), body));
}

Result<ApiReply> CreateUserAction(const PageContext& context) {
  const auto role = ParseRole(context.Param("role"));
  if (!role) return MessagePage(context, 400, "Not done", "role: viewer, approver or admin");
  auto password = NewRandomPassword();
  RETURN_IF_ERROR(password);
  if (Status st = CreateUser(context.store, context.Param("name"), *role, *password,
                             context.session.user.name, context.request.address,
                             /*one_time=*/true);
      !st.ok()) {
    return Refused(context, st.error());
  }
  return Shown(context, "User created",
               "Give this one-time password to " + context.Param("name") + ".", *password);
}

Result<ApiReply> DisableUserAction(const PageContext& context) {
  if (Status st = DisableUser(context.store, context.Param("name"), context.session.user.name,
                              context.request.address);
      !st.ok()) {
    return Refused(context, st.error());
  }
  return RedirectReply("/users");
}

Result<ApiReply> ResetPasswordAction(const PageContext& context) {
  auto password = NewRandomPassword();
  RETURN_IF_ERROR(password);
  if (Status st = ResetPassword(context.store, context.Param("name"), *password,
                                context.session.user.name, context.request.address,
                                /*one_time=*/true);
      !st.ok()) {
    return Refused(context, st.error());
  }
  return Shown(context, "Password reset",
               "Give this new password to " + context.Param("name") + ".", *password);
}

Result<ApiReply> CreateApiKeyAction(const PageContext& context) {
  const std::string name = context.Param("name");
  if (name.empty()) return MessagePage(context, 400, "Not done", "Name the key.");
  auto key = CreateApiKey(context.store, name);
  RETURN_IF_ERROR(key);
  if (Status st = context.Record("api_key_create", name, ""); !st.ok()) {
    return std::move(st).error();
  }
  return Shown(context, "API key created",
               "Set this key as control_plane.api_key in the agent's configuration.", *key);
}

}  // namespace optischema::controlplane
