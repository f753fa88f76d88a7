#pragma once

// What the store keeps for the console: its users, their sessions, the console's own audit
// records and the decisions people took on recommendations. store.h reads and writes them;
// console_auth.h and the pages decide what they mean.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace optischema::controlplane {

// What a console user may do. Each role may do everything the roles before it may.
enum class Role {
  kViewer,    // sees every page, changes nothing
  kApprover,  // also approves, rejects and requests rollbacks
  kAdmin,     // also manages users and API keys
};

// "viewer", "approver", "admin".
std::string_view RoleName(Role role);
// The role named `name`, or nullopt.
std::optional<Role> ParseRole(std::string_view name);

struct ConsoleUser {
  std::string name;
  Role role = Role::kViewer;
  std::string password_hash;  // Argon2id, encoded (password_hash.h)
  // Base32 TOTP secret (totp.h) when the user has a second factor.
  std::optional<std::string> totp_secret;
  bool disabled = false;
  // A password someone else chose (made by `users create` or a reset): the console asks for a
  // new one before anything else.
  bool must_change_password = false;
  int64_t failed_login_attempts = 0;  // since the last successful login
  std::optional<int64_t> locked_until_s;  // Unix seconds; logins refused before then
  std::string created_at;                 // RFC 3339
};

// A logged-in browser. The store keeps only the SHA-256 of the session id the cookie carries.
struct ConsoleSession {
  std::string id_sha256;  // 64 hex digits
  std::string user;
  std::string csrf_token;  // 64 hex digits; every state-changing request must carry it
  int64_t created_s = 0;    // Unix seconds
  int64_t last_seen_s = 0;  // Unix seconds of the last request
  std::string address;      // the client address at login
};

// Something a person did (or tried) in the console or with the users command.
struct ConsoleAuditRecord {
  std::string at;       // RFC 3339, set by the store
  std::string user;     // who (the name typed at a failed login)
  std::string action;   // e.g. login, login_failed, lockout, logout, approve, reject, ...
  std::string target;   // what it acted on (a recommendation id, a user name), may be empty
  std::string address;  // the client address, or "cli"
  std::string detail;   // e.g. the approval note, the reason of a refusal
};

// A person's decision on a recommendation, kept for its timeline and the two-person rule.
struct RecommendationDecision {
  std::string recommendation_id;
  std::string user;
  std::string decision;  // approve, confirm (the second approver), reject, rollback
  std::string note;
  std::string at;  // RFC 3339, set by the store
};

}  // namespace optischema::controlplane
