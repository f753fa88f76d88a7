#include "controlplane/user_management.h"

#include <algorithm>

#include "controlplane/password_hash.h"
#include "controlplane/totp.h"

namespace optischema::controlplane {
namespace {

constexpr std::size_t kMaxUserName = 64;

Result<ConsoleUser> Existing(Store& store, const std::string& name) {
  auto user = store.GetUser(name);
  RETURN_IF_ERROR(user);
  if (!*user) return MakeError(ErrorCode::kInvalidArgument, "no user named " + name);
  return std::move(**user);
}

Status Audit(Store& store, const std::string& actor, const std::string& action,
             const std::string& target, const std::string& address, const std::string& detail) {
  return store.AddConsoleAudit({"", actor, action, target, address, detail});
}

}  // namespace

Status CheckUserName(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= kMaxUserName &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@';
                  });
  if (ok) return OkStatus();
  return MakeError(ErrorCode::kInvalidArgument,
                   "a user name is 1 to 64 characters of A-Z a-z 0-9 . _ - @");
}

Status CreateUser(Store& store, const std::string& name, Role role, const std::string& password,
                  const std::string& actor, const std::string& address, bool one_time) {
  if (Status st = CheckUserName(name); !st.ok()) return st;
  if (Status st = CheckNewPassword(password); !st.ok()) return st;
  auto hash = HashPassword(password);
  RETURN_IF_ERROR(hash);
  ConsoleUser user;
  user.name = name;
  user.role = role;
  user.password_hash = *hash;
  user.must_change_password = one_time;
  if (Status st = store.AddUser(user); !st.ok()) return st;
  return Audit(store, actor, "user_create", name, address,
               "role " + std::string(RoleName(role)));
}

Status DisableUser(Store& store, const std::string& name, const std::string& actor,
                   const std::string& address) {
  auto user = Existing(store, name);
  RETURN_IF_ERROR(user);
  user->disabled = true;
  if (Status st = store.UpdateUser(*user); !st.ok()) return st;
  if (Status st = store.DeleteUserSessions(name); !st.ok()) return st;
  return Audit(store, actor, "user_disable", name, address, "");
}

Status ResetPassword(Store& store, const std::string& name, const std::string& password,
                     const std::string& actor, const std::string& address, bool one_time) {
  if (Status st = CheckNewPassword(password); !st.ok()) return st;
  auto user = Existing(store, name);
  RETURN_IF_ERROR(user);
  auto hash = HashPassword(password);
  RETURN_IF_ERROR(hash);
  user->password_hash = *hash;
  user->disabled = false;
  user->failed_login_attempts = 0;
  user->locked_until_s.reset();
  user->must_change_password = one_time;
  if (Status st = store.UpdateUser(*user); !st.ok()) return st;
  if (Status st = store.DeleteUserSessions(name); !st.ok()) return st;
  return Audit(store, actor, "user_reset_password", name, address, "");
}

Status ChangeOwnPassword(Store& store, const std::string& name, const std::string& current,
                         const std::string& next, const std::string& keep_session_sha256,
                         const std::string& address) {
  auto user = Existing(store, name);
  RETURN_IF_ERROR(user);
  if (!VerifyPassword(user->password_hash, current)) {
    // Guessing through this form would bypass the login's lockout: the session ends instead,
    // and the next guess goes through the login.
    if (Status st = store.DeleteSession(keep_session_sha256); !st.ok()) return st;
    if (Status st = Audit(store, name, "password_change_refused", name, address,
                          "the current password was wrong; session ended");
        !st.ok()) {
      return st;
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "the current password is wrong; log in again to retry");
  }
  if (next == current) {
    return MakeError(ErrorCode::kInvalidArgument, "choose a password different from the current one");
  }
  if (Status st = CheckNewPassword(next); !st.ok()) return st;
  auto hash = HashPassword(next);
  RETURN_IF_ERROR(hash);
  user->password_hash = *hash;
  user->must_change_password = false;
  if (Status st = store.UpdateUser(*user); !st.ok()) return st;
  if (Status st = store.DeleteUserSessionsExcept(name, keep_session_sha256); !st.ok()) return st;
  return Audit(store, name, "password_change", name, address, "");
}

Result<std::string> EnrollTotp(Store& store, const std::string& name, const std::string& actor,
                               const std::string& address) {
  auto user = Existing(store, name);
  RETURN_IF_ERROR(user);
  auto secret = NewTotpSecret();
  RETURN_IF_ERROR(secret);
  user->totp_secret = *secret;
  if (Status st = store.UpdateUser(*user); !st.ok()) return std::move(st).error();
  if (Status st = Audit(store, actor, "user_totp_enroll", name, address, ""); !st.ok()) {
    return std::move(st).error();
  }
  return secret;
}

}  // namespace optischema::controlplane
