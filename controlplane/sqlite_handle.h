#pragma once

// RAII over the SQLite C API for the control plane's store: a connection and prepared statements,
// with errors turned into Result. Used only inside the store's .cc files.
//
// Errors are kIo "<what>: <SQLite's message>", or kTimeout when the database stayed locked by
// another process for longer than the busy timeout (retrying later may succeed).
//
// Thread safety: none. A SqliteDb and its statements belong to one thread at a time (the store
// serializes access with its own mutex).

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace optischema::controlplane {

struct SqliteDbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteStmtFinalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteDbClose>;

// Error for the last failed call on `db`: `what` and SQLite's message.
Error SqliteError(sqlite3* db, std::string_view what);

// Opens (creating when `create`) the database file at `path` in WAL mode with foreign keys on and
// a busy timeout, so that several processes can use it at once.
Result<SqliteDb> OpenSqlite(const std::string& path, bool create);

// Runs `sql` (one or more statements, no parameters, no rows wanted).
Status ExecSql(sqlite3* db, const char* sql);

// A prepared statement. Bind parameters are 1-based as in SQLite.
class SqliteStatement {
 public:
  static Result<SqliteStatement> Prepare(sqlite3* db, std::string_view sql);

  void Bind(int index, std::string_view text);
  void Bind(int index, int64_t value);
  void BindNull(int index);
  void BindDouble(int index, double value);
  void BindOptional(int index, const std::optional<std::string>& text);

  // Advances: true when a row is available, false when done; an error otherwise.
  Result<bool> Step();
  // Runs a statement that returns no rows.
  Status Run();
  // Makes the statement ready to run again, its parameters unbound.
  void Reset();

  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;
  std::optional<std::string> ColumnOptionalText(int column) const;
  std::optional<int64_t> ColumnOptionalInt(int column) const;
  double ColumnDouble(int column) const;
  std::optional<double> ColumnOptionalDouble(int column) const;

 private:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, SqliteStmtFinalize> stmt_;
};

// BEGIN IMMEDIATE on construction (take the write lock up front, so a busy database fails here
// rather than half-way); ROLLBACK on destruction unless Commit() succeeded.
class SqliteTransaction {
 public:
  static Result<SqliteTransaction> Begin(sqlite3* db);
  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();

  Status Commit();

 private:
  explicit SqliteTransaction(sqlite3* db) : db_(db) {}

  sqlite3* db_;  // null once committed or moved from
};

}  // namespace optischema::controlplane
