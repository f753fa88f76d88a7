#pragma once

// `optischema-controlplane users ...`: console users from the command line (user_management.h).
//   users create NAME --role viewer|approver|admin [--password-stdin]
//        prints a one-time password as the last line of `out` (the console asks the user for a
//        new one at the first login), or reads the password from `in` (one line) with
//        --password-stdin and prints nothing there
//   users list [--json]
//   users disable NAME
//   users reset-password NAME [--password-stdin]   likewise prints or reads the password
//   users enroll-totp NAME   prints the new TOTP secret (base32) as the last line of `out`
// They work with or without `serve` running on the directory; each is a console audit record
// from "cli" as $USER. Exit statuses as command_output.h: 2 for a refusal with the reason.

#include <istream>
#include <ostream>
#include <string>

namespace optischema::controlplane {

struct UserCommandOptions {
  std::string data_dir;
  std::string name;
  std::string role;
  bool password_stdin = false;
  bool json = false;
};

int RunUsersCreate(const UserCommandOptions& options, std::istream& in, std::ostream& out,
                   std::ostream& err);
int RunUsersList(const UserCommandOptions& options, std::ostream& out, std::ostream& err);
int RunUsersDisable(const UserCommandOptions& options, std::ostream& err);
int RunUsersResetPassword(const UserCommandOptions& options, std::istream& in, std::ostream& out,
                          std::ostream& err);
int RunUsersEnrollTotp(const UserCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace optischema::controlplane
