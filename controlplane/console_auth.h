#pragma once

// Logins and sessions of the console (docs/console.md):
// - a login checks the user's Argon2id hash (password_hash.h) and, when the user has one, a TOTP
//   code (totp.h); a disabled or unknown user is refused like a wrong password, after the same
//   hashing work, so that the reply time does not tell which names exist;
// - kMaxFailedLogins failures in a row lock the account for kLockoutDuration; a locked account is
//   refused whatever the password, and the lock ends by itself;
// - a session id is 256 random bits, sent only in the cookie and stored only as its SHA-256; a
//   session ends after kSessionIdleTimeout without a request, kSessionLifetime after the login,
//   at logout, and when its user is disabled or given a new password;
// - every login, failure, lockout and logout is a console audit record (store.h) with the
//   client's address; passwords and codes never are.
//
// Thread safety: every member function may be called from any thread (the store serializes).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "controlplane/console_records.h"
#include "controlplane/store.h"
#include "core/clock.h"
#include "core/result.h"

namespace optischema::controlplane {

inline constexpr int kMaxFailedLogins = 5;
inline constexpr std::chrono::minutes kLockoutDuration{15};
inline constexpr std::chrono::minutes kSessionIdleTimeout{30};
inline constexpr std::chrono::hours kSessionLifetime{12};
inline constexpr char kSessionCookieName[] = "optischema_session";

struct LoginAttempt {
  std::string name;
  std::string password;
  std::string totp_code;  // empty when none was typed
  std::string address;
};

struct LoginResult {
  bool ok = false;
  std::string session_id;  // when ok: the value of the session cookie
  std::string refusal;     // when !ok: what the login page says
};

struct SessionContext {
  ConsoleSession session;
  ConsoleUser user;
};

class ConsoleAuth {
 public:
  // `store` and `clock` must outlive the object.
  ConsoleAuth(Store& store, const Clock& clock);

  // kIo/kTimeout only when the store fails; a refused login is ok() with !ok.
  Result<LoginResult> Login(const LoginAttempt& attempt);

  // The live session the cookie value `session_id` names, its last request set to now; nullopt
  // for an unknown, idle, expired session or one whose user is disabled (such a session is
  // deleted).
  Result<std::optional<SessionContext>> Authenticate(const std::string& session_id);

  // Ends the session and records the logout.
  Status Logout(const SessionContext& context, const std::string& address);

 private:
  int64_t NowSeconds() const;
  Status Record(const std::string& user, const std::string& action, const std::string& address,
                const std::string& detail);

  Store& store_;
  const Clock& clock_;
};

// 32 random bytes as 64 hex digits (session ids, CSRF tokens). kInternal when the random source
// fails.
Result<std::string> RandomToken();

// Whether `a` and `b` are equal, in time that depends only on their lengths.
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace optischema::controlplane
