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
                  const std::string& actor, const std::string& address) {
  if (Status st = CheckUserName(name); !st.ok()) return st;
  if (Status st = CheckNewPassword(password); !st.ok()) return st;
  auto hash = HashPassword(password);
  RETURN_IF_ERROR(hash);
  ConsoleUser user;
  user.name = name;
  user.role = role;
  user.password_hash = *hash;
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
                     const std::string& actor, const std::string& address) {
  if (Status st = CheckNewPassword(password); !st.ok()) return st;
  auto user = Existing(store, name);
  RETURN_IF_ERROR(user);
  auto hash = HashPassword(password);
  RETURN_IF_ERROR(hash);
  user->password_hash = *hash;
  user->disabled = false;
  user->failed_login_attempts = 0;
  user->locked_until_s.reset();
  if (Status st = store.UpdateUser(*user); !st.ok()) return st;
  if (Status st = store.DeleteUserSessions(name); !st.ok()) return st;
  return Audit(store, actor, "user_reset_password", name, address, "");
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
