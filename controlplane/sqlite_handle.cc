#include "controlplane/sqlite_handle.h"

#include <utility>

namespace optischema::controlplane {
namespace {

// How long a statement waits for another process's write lock before failing with kTimeout.
constexpr int kBusyTimeoutMs = 10000;

}  // namespace

Error SqliteError(sqlite3* db, std::string_view what) {
  const int code = sqlite3_extended_errcode(db);
  const bool busy = (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED;
  return MakeError(busy ? ErrorCode::kTimeout : ErrorCode::kIo,
                   std::string(what) + ": " + sqlite3_errmsg(db));
}

Result<SqliteDb> OpenSqlite(const std::string& path, bool create) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db(raw);  // sqlite3_open_v2 returns a handle to close even when it fails
  if (rc != SQLITE_OK) {
    if (db == nullptr) return MakeError(ErrorCode::kIo, path + ": cannot open: out of memory");
    return SqliteError(db.get(), path + ": cannot open");
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  if (Status st = ExecSql(db.get(), "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;");
      !st.ok()) {
    return std::move(st).error();
  }
  return db;
}

Status ExecSql(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db, "SQLite");
  }
  return OkStatus();
}

Result<SqliteStatement> SqliteStatement::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db, "preparing a statement");
  }
  return SqliteStatement(db, stmt);
}

void SqliteStatement::Bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void SqliteStatement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_.get(), index, value);
}

void SqliteStatement::BindNull(int index) { sqlite3_bind_null(stmt_.get(), index); }

void SqliteStatement::BindDouble(int index, double value) {
  sqlite3_bind_double(stmt_.get(), index, value);
}

void SqliteStatement::BindOptional(int index, const std::optional<std::string>& text) {
  if (text) {
    Bind(index, *text);
  } else {
    BindNull(index);
  }
}

Result<bool> SqliteStatement::Step() {
  switch (sqlite3_step(stmt_.get())) {
    case SQLITE_ROW:
      return true;
    case SQLITE_DONE:
      return false;
    default:
      return SqliteError(db_, "SQLite");
  }
}

Status SqliteStatement::Run() {
  auto row = Step();
  RETURN_IF_ERROR(row);
  return OkStatus();
}

int64_t SqliteStatement::ColumnInt(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string SqliteStatement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

std::optional<std::string> SqliteStatement::ColumnOptionalText(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL) return std::nullopt;
  return ColumnText(column);
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::optional<int64_t> SqliteStatement::ColumnOptionalInt(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL) return std::nullopt;
  return ColumnInt(column);
}

double SqliteStatement::ColumnDouble(int column) const {
  return sqlite3_column_double(stmt_.get(), column);
}

std::optional<double> SqliteStatement::ColumnOptionalDouble(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL) return std::nullopt;
  return ColumnDouble(column);
}

Result<SqliteTransaction> SqliteTransaction::Begin(sqlite3* db) {
  if (Status st = ExecSql(db, "BEGIN IMMEDIATE"); !st.ok()) return std::move(st).error();
  return SqliteTransaction(db);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() {
  if (db_ != nullptr) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status SqliteTransaction::Commit() {
  if (Status st = ExecSql(db_, "COMMIT"); !st.ok()) return st;
  db_ = nullptr;
  return OkStatus();
}

}  // namespace optischema::controlplane
