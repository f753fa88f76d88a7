#include "controlplane/user_commands.h"

#include <nlohmann/json.hpp>

#include "controlplane/command_output.h"
#include "controlplane/password_hash.h"
#include "controlplane/recommendation_commands.h"
#include "controlplane/store.h"
#include "controlplane/user_management.h"

namespace optischema::controlplane {
namespace {

constexpr char kCliAddress[] = "cli";

// The password: one line from `in`, or a new random one (printed later).
Result<std::string> PasswordFor(const UserCommandOptions& options, std::istream& in) {
  if (!options.password_stdin) return NewRandomPassword();
  std::string line;
  if (!std::getline(in, line)) {
    return MakeError(ErrorCode::kInvalidArgument, "--password-stdin: no line on standard input");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& data_dir, const Clock& clock,
                                         Store::OpenMode mode) {
  return Store::Open(data_dir, mode, clock);
}

}  // namespace

int RunUsersCreate(const UserCommandOptions& options, std::istream& in, std::ostream& out,
                   std::ostream& err) {
  const auto role = ParseRole(options.role);
  if (!role) {
    return ReportError(
        MakeError(ErrorCode::kInvalidArgument, "--role: expected viewer, approver or admin"), err);
  }
  const SystemClock clock;
  auto store = OpenStore(options.data_dir, clock, Store::OpenMode::kCreate);
  if (!store.ok()) return ReportError(store.error(), err);
  auto password = PasswordFor(options, in);
  if (!password.ok()) return ReportError(password.error(), err);
  if (Status st = CreateUser(**store, options.name, *role, *password, DefaultApprover(),
                             kCliAddress, /*one_time=*/!options.password_stdin);
      !st.ok()) {
    return ReportError(st.error(), err);
  }
  err << "created " << RoleName(*role) << " " << options.name;
  if (options.password_stdin) {
    err << " with the password read from standard input\n";
    return 0;
  }
  err << "; give them this one-time password (shown only now):\n";
  out << *password << "\n" << std::flush;
  return 0;
}

int RunUsersList(const UserCommandOptions& options, std::ostream& out, std::ostream& err) {
  const SystemClock clock;
  auto store = OpenStore(options.data_dir, clock, Store::OpenMode::kExisting);
  if (!store.ok()) return ReportError(store.error(), err);
  auto users = (*store)->ListUsers();
  if (!users.ok()) return ReportError(users.error(), err);
  nlohmann::json array = nlohmann::json::array();
  std::vector<std::vector<std::string>> table = {
      {"NAME", "ROLE", "TOTP", "DISABLED", "FAILED_LOGINS", "LOCKED_UNTIL", "CREATED_AT"}};
  for (const ConsoleUser& u : *users) {
    array.push_back({{"name", u.name},
                     {"role", RoleName(u.role)},
                     {"totp", u.totp_secret.has_value()},
                     {"disabled", u.disabled},
                     {"failed_login_attempts", u.failed_login_attempts},
                     {"locked_until_s", u.locked_until_s ? nlohmann::json(*u.locked_until_s)
                                                         : nlohmann::json()},
                     {"created_at", u.created_at}});
    table.push_back({u.name, std::string(RoleName(u.role)), u.totp_secret ? "yes" : "no",
                     u.disabled ? "yes" : "no", std::to_string(u.failed_login_attempts),
                     u.locked_until_s ? std::to_string(*u.locked_until_s) : "-", u.created_at});
  }
  if (options.json) {
    out << array.dump() << "\n";
  } else {
    PrintTable(out, table);
  }
  return 0;
}

int RunUsersDisable(const UserCommandOptions& options, std::ostream& err) {
  const SystemClock clock;
  auto store = OpenStore(options.data_dir, clock, Store::OpenMode::kExisting);
  if (!store.ok()) return ReportError(store.error(), err);
  if (Status st = DisableUser(**store, options.name, DefaultApprover(), kCliAddress); !st.ok()) {
    return ReportError(st.error(), err);
  }
  err << "disabled " << options.name << "; their sessions have ended\n";
  return 0;
}

int RunUsersResetPassword(const UserCommandOptions& options, std::istream& in, std::ostream& out,
                          std::ostream& err) {
  const SystemClock clock;
  auto store = OpenStore(options.data_dir, clock, Store::OpenMode::kExisting);
  if (!store.ok()) return ReportError(store.error(), err);
  auto password = PasswordFor(options, in);
  if (!password.ok()) return ReportError(password.error(), err);
  if (Status st =
          ResetPassword(**store, options.name, *password, DefaultApprover(), kCliAddress,
                        /*one_time=*/!options.password_stdin);
      !st.ok()) {
    return ReportError(st.error(), err);
  }
  err << "set a new password for " << options.name << "; lockout lifted, sessions ended";
  if (options.password_stdin) {
    err << "\n";
    return 0;
  }
  err << "; the new password (shown only now):\n";
  out << *password << "\n" << std::flush;
  return 0;
}

int RunUsersEnrollTotp(const UserCommandOptions& options, std::ostream& out, std::ostream& err) {
  const SystemClock clock;
  auto store = OpenStore(options.data_dir, clock, Store::OpenMode::kExisting);
  if (!store.ok()) return ReportError(store.error(), err);
  auto secret = EnrollTotp(**store, options.name, DefaultApprover(), kCliAddress);
  if (!secret.ok()) return ReportError(secret.error(), err);
  err << "enrolled a second factor for " << options.name
      << ": type this secret into an authenticator app (TOTP, 6 digits, 30 s, SHA-1); from now "
         "on their logins need a code:\n";
  out << *secret << "\n" << std::flush;
  return 0;
}

}  // namespace optischema::controlplane
