#include "controlplane/console_auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>

#include "controlplane/password_hash.h"
#include "controlplane/totp.h"
#include "protocol/sha256.h"

namespace optischema::controlplane {
namespace {

constexpr char kGenericRefusal[] = "wrong name, password or code";
// Longest typed user name kept in an audit record of a failed login.
constexpr std::size_t kMaxRecordedName = 64;

// A hash of a password nobody knows, verified for unknown names so that they cost the same time.
const std::string& DecoyHash() {
  static const std::string hash = [] {
    auto decoy = HashPassword("decoy password that never matches");
    return decoy.ok() ? *decoy : std::string();
  }();
  return hash;
}

std::string Printable(const std::string& text) {
  std::string out = text.substr(0, kMaxRecordedName);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

Result<std::string> RandomToken() {
  std::array<unsigned char, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot draw random bytes for a session");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (const unsigned char byte : random) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0xf];
  }
  return hex;
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

ConsoleAuth::ConsoleAuth(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

int64_t ConsoleAuth::NowSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch())
      .count();
}

Status ConsoleAuth::Record(const std::string& user, const std::string& action,
                           const std::string& address, const std::string& detail) {
  return store_.AddConsoleAudit({"", Printable(user), action, "", address, detail});
}

Result<LoginResult> ConsoleAuth::Login(const LoginAttempt& attempt) {
  auto found = store_.GetUser(attempt.name);
  RETURN_IF_ERROR(found);
  const int64_t now = NowSeconds();
  if (!*found || (*found)->disabled) {
    (void)VerifyPassword(DecoyHash(), attempt.password);
    if (Status st = Record(attempt.name, "login_failed", attempt.address,
                           *found ? "the account is disabled" : "no such user"); !st.ok()) return std::move(st).error();
    return LoginResult{false, "", kGenericRefusal};
  }
  ConsoleUser user = **found;
  if (user.locked_until_s && *user.locked_until_s > now) {
    if (Status st = Record(user.name, "login_refused_locked", attempt.address,
                           "the account is locked after " +
                               std::to_string(user.failed_login_attempts) + " failed logins"); !st.ok()) return std::move(st).error();
    const int64_t minutes = (*user.locked_until_s - now + 59) / 60;
    return LoginResult{false, "",
                       "this account is locked after too many failed logins; try again in " +
                           std::to_string(minutes) + " minute(s) or ask an admin"};
  }
  const bool password_ok = VerifyPassword(user.password_hash, attempt.password);
  const bool code_ok =
      !user.totp_secret || VerifyTotp(*user.totp_secret, attempt.totp_code, now);
  if (!password_ok || !code_ok) {
    // A lock that has run out starts a new count.
    if (user.locked_until_s) {
      user.locked_until_s.reset();
      user.failed_login_attempts = 0;
    }
    ++user.failed_login_attempts;
    const bool lock = user.failed_login_attempts >= kMaxFailedLogins;
    if (lock) {
      user.locked_until_s =
          now + std::chrono::duration_cast<std::chrono::seconds>(kLockoutDuration).count();
    }
    if (Status st = store_.UpdateUser(user); !st.ok()) return std::move(st).error();
    if (Status st = Record(user.name, "login_failed", attempt.address,
                           !password_ok ? "wrong password" : "wrong or missing TOTP code"); !st.ok()) return std::move(st).error();
    if (lock) {
      if (Status st = Record(user.name, "lockout", attempt.address,
                             std::to_string(user.failed_login_attempts) +
                                 " failed logins in a row; locked for " +
                                 std::to_string(kLockoutDuration.count()) + " minutes"); !st.ok()) return std::move(st).error();
    }
    return LoginResult{false, "", kGenericRefusal};
  }
  user.failed_login_attempts = 0;
  user.locked_until_s.reset();
  if (Status st = store_.UpdateUser(user); !st.ok()) return std::move(st).error();
  auto session_id = RandomToken();
  RETURN_IF_ERROR(session_id);
  auto csrf = RandomToken();
  RETURN_IF_ERROR(csrf);
  if (Status st = store_.AddSession(
      {protocol::Sha256Hex(*session_id), user.name, *csrf, now, now, attempt.address}); !st.ok()) return std::move(st).error();
  if (Status st = Record(user.name, "login", attempt.address,
                         user.totp_secret ? "password and TOTP code" : "password"); !st.ok()) return std::move(st).error();
  return LoginResult{true, *session_id, ""};
}

Result<std::optional<SessionContext>> ConsoleAuth::Authenticate(const std::string& session_id) {
  if (session_id.empty()) return std::optional<SessionContext>();
  const std::string key = protocol::Sha256Hex(session_id);
  auto session = store_.GetSession(key);
  RETURN_IF_ERROR(session);
  if (!*session) return std::optional<SessionContext>();
  const int64_t now = NowSeconds();
  const auto seconds = [](auto duration) {
    return std::chrono::duration_cast<std::chrono::seconds>(duration).count();
  };
  auto user = store_.GetUser((*session)->user);
  RETURN_IF_ERROR(user);
  if (now - (*session)->last_seen_s >= seconds(kSessionIdleTimeout) ||
      now - (*session)->created_s >= seconds(kSessionLifetime) || !*user || (*user)->disabled) {
    if (Status st = store_.DeleteSession(key); !st.ok()) return std::move(st).error();
    return std::optional<SessionContext>();
  }
  if (Status st = store_.TouchSession(key, now); !st.ok()) return std::move(st).error();
  (*session)->last_seen_s = now;
  return std::optional<SessionContext>(SessionContext{**session, **user});
}

Status ConsoleAuth::Logout(const SessionContext& context, const std::string& address) {
  if (Status st = store_.DeleteSession(context.session.id_sha256); !st.ok()) return std::move(st).error();
  return Record(context.user.name, "logout", address, "");
}

}  // namespace optischema::controlplane
