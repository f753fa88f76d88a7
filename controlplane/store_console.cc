// The Store's console members: users, sessions, the console's audit records and the decisions
// on recommendations (store.h).

#include <utility>

#include "controlplane/sqlite_handle.h"
#include "controlplane/store.h"

namespace optischema::controlplane {
namespace {

constexpr char kUserColumns[] =
    "name, role, password_hash, totp_secret, disabled, failed_login_attempts, locked_until_s, "
    "created_at, must_change_password";

ConsoleUser UserFrom(const SqliteStatement& row) {
  ConsoleUser user;
  user.name = row.ColumnText(0);
  user.role = ParseRole(row.ColumnText(1)).value_or(Role::kViewer);
  user.password_hash = row.ColumnText(2);
  user.totp_secret = row.ColumnOptionalText(3);
  user.disabled = row.ColumnInt(4) != 0;
  user.failed_login_attempts = row.ColumnInt(5);
  user.locked_until_s = row.ColumnOptionalInt(6);
  user.created_at = row.ColumnText(7);
  user.must_change_password = row.ColumnInt(8) != 0;
  return user;
}

// Binds the user's members as ?1..?9 in kUserColumns order.
void BindUser(SqliteStatement& statement, const ConsoleUser& user) {
  statement.Bind(1, user.name);
  statement.Bind(2, RoleName(user.role));
  statement.Bind(3, user.password_hash);
  statement.BindOptional(4, user.totp_secret);
  statement.Bind(5, int64_t{user.disabled ? 1 : 0});
  statement.Bind(6, user.failed_login_attempts);
  if (user.locked_until_s) {
    statement.Bind(7, *user.locked_until_s);
  } else {
    statement.BindNull(7);
  }
  statement.Bind(8, user.created_at);
  statement.Bind(9, int64_t{user.must_change_password ? 1 : 0});
}

ConsoleSession SessionFrom(const SqliteStatement& row) {
  return {row.ColumnText(0), row.ColumnText(1), row.ColumnText(2),
          row.ColumnInt(3),  row.ColumnInt(4),  row.ColumnText(5)};
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kApprover:
      return "approver";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (const Role role : {Role::kViewer, Role::kApprover, Role::kAdmin}) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

Status Store::AddUser(const ConsoleUser& user) {
  std::lock_guard lock(mutex_);
  auto insert = SqliteStatement::Prepare(
      db_.get(), std::string("INSERT INTO users (") + kUserColumns +
                     ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (name) DO NOTHING");
  RETURN_IF_ERROR(insert);
  ConsoleUser stored = user;
  stored.created_at = Now();
  BindUser(*insert, stored);
  if (Status st = insert->Run(); !st.ok()) return st;
  if (sqlite3_changes(db_.get()) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "a user named " + user.name + " exists already");
  }
  return OkStatus();
}

Result<std::optional<ConsoleUser>> Store::GetUser(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(
      db_.get(), std::string("SELECT ") + kUserColumns + " FROM users WHERE name = ?1");
  RETURN_IF_ERROR(query);
  query->Bind(1, name);
  auto row = query->Step();
  RETURN_IF_ERROR(row);
  if (!*row) return std::optional<ConsoleUser>();
  return std::optional<ConsoleUser>(UserFrom(*query));
}

Result<std::vector<ConsoleUser>> Store::ListUsers() {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(
      db_.get(), std::string("SELECT ") + kUserColumns + " FROM users ORDER BY name");
  RETURN_IF_ERROR(query);
  std::vector<ConsoleUser> users;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return users;
    users.push_back(UserFrom(*query));
  }
}

Status Store::UpdateUser(const ConsoleUser& user) {
  std::lock_guard lock(mutex_);
  auto update = SqliteStatement::Prepare(db_.get(), R"sql(
UPDATE users SET role = ?2, password_hash = ?3, totp_secret = ?4, disabled = ?5,
  failed_login_attempts = ?6, locked_until_s = ?7, must_change_password = ?9
WHERE name = ?1)sql");
  RETURN_IF_ERROR(update);
  BindUser(*update, user);
  if (Status st = update->Run(); !st.ok()) return st;
  if (sqlite3_changes(db_.get()) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "no user named " + user.name);
  }
  return OkStatus();
}

Status Store::AddSession(const ConsoleSession& session) {
  std::lock_guard lock(mutex_);
  auto insert = SqliteStatement::Prepare(db_.get(), R"sql(
INSERT INTO console_sessions (id_sha256, user, csrf_token, created_s, last_seen_s, address)
VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql");
  RETURN_IF_ERROR(insert);
  insert->Bind(1, session.id_sha256);
  insert->Bind(2, session.user);
  insert->Bind(3, session.csrf_token);
  insert->Bind(4, session.created_s);
  insert->Bind(5, session.last_seen_s);
  insert->Bind(6, session.address);
  return insert->Run();
}

Result<std::optional<ConsoleSession>> Store::GetSession(const std::string& id_sha256) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT id_sha256, user, csrf_token, created_s, last_seen_s, address
FROM console_sessions WHERE id_sha256 = ?1)sql");
  RETURN_IF_ERROR(query);
  query->Bind(1, id_sha256);
  auto row = query->Step();
  RETURN_IF_ERROR(row);
  if (!*row) return std::optional<ConsoleSession>();
  return std::optional<ConsoleSession>(SessionFrom(*query));
}

Status Store::TouchSession(const std::string& id_sha256, int64_t last_seen_s) {
  std::lock_guard lock(mutex_);
  auto update = SqliteStatement::Prepare(
      db_.get(), "UPDATE console_sessions SET last_seen_s = ?2 WHERE id_sha256 = ?1");
  RETURN_IF_ERROR(update);
  update->Bind(1, id_sha256);
  update->Bind(2, last_seen_s);
  return update->Run();
}

Status Store::DeleteSession(const std::string& id_sha256) {
  std::lock_guard lock(mutex_);
  auto remove =
      SqliteStatement::Prepare(db_.get(), "DELETE FROM console_sessions WHERE id_sha256 = ?1");
  RETURN_IF_ERROR(remove);
  remove->Bind(1, id_sha256);
  return remove->Run();
}

Status Store::DeleteUserSessions(const std::string& user) {
  std::lock_guard lock(mutex_);
  auto remove = SqliteStatement::Prepare(db_.get(), "DELETE FROM console_sessions WHERE user = ?1");
  RETURN_IF_ERROR(remove);
  remove->Bind(1, user);
  return remove->Run();
}

Status Store::DeleteUserSessionsExcept(const std::string& user, const std::string& keep_sha256) {
  std::lock_guard lock(mutex_);
  auto remove = SqliteStatement::Prepare(
      db_.get(), "DELETE FROM console_sessions WHERE user = ?1 AND id_sha256 <> ?2");
  RETURN_IF_ERROR(remove);
  remove->Bind(1, user);
  remove->Bind(2, keep_sha256);
  return remove->Run();
}

Result<int64_t> Store::PruneSessions(int64_t idle_before_s, int64_t created_before_s) {
  std::lock_guard lock(mutex_);
  auto remove = SqliteStatement::Prepare(
      db_.get(), "DELETE FROM console_sessions WHERE last_seen_s < ?1 OR created_s < ?2");
  RETURN_IF_ERROR(remove);
  remove->Bind(1, idle_before_s);
  remove->Bind(2, created_before_s);
  if (Status st = remove->Run(); !st.ok()) return std::move(st).error();
  return int64_t{sqlite3_changes(db_.get())};
}

Status Store::AddConsoleAudit(ConsoleAuditRecord record) {
  std::lock_guard lock(mutex_);
  auto insert = SqliteStatement::Prepare(db_.get(), R"sql(
INSERT INTO console_audit (at, user, action, target, address, detail)
VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql");
  RETURN_IF_ERROR(insert);
  insert->Bind(1, Now());
  insert->Bind(2, record.user);
  insert->Bind(3, record.action);
  insert->Bind(4, record.target);
  insert->Bind(5, record.address);
  insert->Bind(6, record.detail);
  return insert->Run();
}

Result<std::vector<ConsoleAuditRecord>> Store::ListConsoleAudit(int64_t limit) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT at, user, action, target, address, detail FROM console_audit ORDER BY id DESC LIMIT ?1)sql");
  RETURN_IF_ERROR(query);
  query->Bind(1, limit);
  std::vector<ConsoleAuditRecord> records;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return records;
    records.push_back({query->ColumnText(0), query->ColumnText(1), query->ColumnText(2),
                       query->ColumnText(3), query->ColumnText(4), query->ColumnText(5)});
  }
}

Status Store::AddDecision(RecommendationDecision decision) {
  std::lock_guard lock(mutex_);
  auto insert = SqliteStatement::Prepare(db_.get(), R"sql(
INSERT INTO recommendation_decisions (recommendation_id, user, decision, note, at)
VALUES (?1, ?2, ?3, ?4, ?5))sql");
  RETURN_IF_ERROR(insert);
  insert->Bind(1, decision.recommendation_id);
  insert->Bind(2, decision.user);
  insert->Bind(3, decision.decision);
  insert->Bind(4, decision.note);
  insert->Bind(5, Now());
  return insert->Run();
}

Result<std::vector<RecommendationDecision>> Store::Decisions(const std::string& recommendation_id) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT recommendation_id, user, decision, note, at FROM recommendation_decisions
WHERE recommendation_id = ?1 ORDER BY id)sql");
  RETURN_IF_ERROR(query);
  query->Bind(1, recommendation_id);
  std::vector<RecommendationDecision> decisions;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return decisions;
    decisions.push_back({query->ColumnText(0), query->ColumnText(1), query->ColumnText(2),
                         query->ColumnText(3), query->ColumnText(4)});
  }
}

Result<std::vector<std::string>> Store::RecommendationEvents(const std::string& recommendation_id) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(
      db_.get(),
      "SELECT body FROM recommendation_events WHERE recommendation_id = ?1 ORDER BY id");
  RETURN_IF_ERROR(query);
  query->Bind(1, recommendation_id);
  std::vector<std::string> events;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return events;
    events.push_back(query->ColumnText(0));
  }
}

}  // namespace optischema::controlplane
