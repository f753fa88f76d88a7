// The user's own password (console_pages.h, user_management.h): asked for at the first login
// after someone else chose it, and open to every user at any time.

#include "controlplane/console_pages.h"
#include "controlplane/password_hash.h"
#include "controlplane/user_management.h"

namespace optischema::controlplane {
namespace {

std::string PasswordForm(const PageContext& context, const std::string& error) {
  std::string body;
  if (context.session.user.must_change_password) {
    body += "<p class=\"notice\">Your password was chosen for you. Choose your own (at least " +
            std::to_string(kMinPasswordLength) + " characters) to go on.</p>";
  }
  if (!error.empty()) body += "<p class=\"error\" id=\"password-error\">" + Escape(error) + "</p>";
  body += "<form method=\"post\" action=\"/password\" class=\"login\">"
          "<input type=\"hidden\" name=\"csrf\" value=\"" +
          Escape(context.session.session.csrf_token) +
          "\"><label>Current password <input type=\"password\" name=\"current\" id=\"current\" "
          "autocomplete=\"current-password\" required></label>"
          "<label>New password <input type=\"password\" name=\"next\" id=\"next\" "
          "autocomplete=\"new-password\" required></label>"
          "<label>New password again <input type=\"password\" name=\"again\" id=\"again\" "
          "autocomplete=\"new-password\" required></label>"
          "<button type=\"submit\" id=\"change-password\">Change password</button></form>";
  return body;
}

}  // namespace

Result<ApiReply> PasswordPage(const PageContext& context) {
  return HtmlReply(200, RenderPage(context.Frame("Password", ""), PasswordForm(context, "")));
}

Result<ApiReply> ChangePasswordAction(const PageContext& context) {
  const std::string next = context.Param("next");
  if (next != context.Param("again")) {
    return HtmlReply(400, RenderPage(context.Frame("Password", ""),
                                     PasswordForm(context, "the two new passwords differ")));
  }
  const Status changed =
      ChangeOwnPassword(context.store, context.session.user.name, context.Param("current"), next,
                        context.session.session.id_sha256, context.request.address);
  if (!changed.ok()) {
    if (changed.error().code != ErrorCode::kInvalidArgument) return changed.error();
    return HtmlReply(400, RenderPage(context.Frame("Password", ""),
                                     PasswordForm(context, changed.error().message)));
  }
  return RedirectReply("/overview");
}

}  // namespace optischema::controlplane
