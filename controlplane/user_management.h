#pragma once

// Managing console users, shared by `optischema-controlplane users ...` and the console's users
// page. Each change is a console audit record naming who made it (`actor`) and from where
// (`address`: the client, or "cli").
//
// Errors: kInvalidArgument with the reason (a bad name or role, a weak password, an unknown or
// existing user; passwords are never echoed); the store's errors; kInternal when the random
// source or the hash fails.

#include <string>

#include "controlplane/console_records.h"
#include "controlplane/store.h"
#include "core/result.h"

namespace optischema::controlplane {

// Names: 1 to 64 of A-Z a-z 0-9 . _ - @.
Status CheckUserName(const std::string& name);

// With `one_time`, the password was made for the user, who must choose a new one at the first
// login (ChangeOwnPassword).
Status CreateUser(Store& store, const std::string& name, Role role, const std::string& password,
                  const std::string& actor, const std::string& address, bool one_time = false);

// The user can no longer log in; their sessions end at once.
Status DisableUser(Store& store, const std::string& name, const std::string& actor,
                   const std::string& address);

// Sets a new password, lifts a lockout and enables the account; the user's sessions end.
Status ResetPassword(Store& store, const std::string& name, const std::string& password,
                     const std::string& actor, const std::string& address, bool one_time = false);

// The user sets their own new password (after proving the current one); clears
// must_change_password. The session the change is made from stays; others end. A wrong current
// password ends that session too (guesses then meet the login's lockout).
Status ChangeOwnPassword(Store& store, const std::string& name, const std::string& current,
                         const std::string& next, const std::string& keep_session_sha256,
                         const std::string& address);

// Gives the user a new TOTP secret (totp.h) and returns it, base32, to be typed into an
// authenticator; from then on the user's logins need a code.
Result<std::string> EnrollTotp(Store& store, const std::string& name, const std::string& actor,
                               const std::string& address);

}  // namespace optischema::controlplane
