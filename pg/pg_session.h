#pragma once

// PgSession: the seam between the collector and libpq. The real implementation is
// LibpqSession; unit tests use a fake. Not thread-safe: one session per thread.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pg/agent_marker.h"

namespace optischema::pg {

// A small, fully materialised result in text format. NULL is nullopt.
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;

  // Column index by name, or -1.
  int Column(std::string_view name) const;
};

// One streamed row, valid only during the callback: text fields (StreamWithParams) or binary
// fields (Stream). NULL is nullopt.
using RowFields = std::span<const std::optional<std::string_view>>;
// Returns false to stop the stream early (the rest is read and discarded).
using RowCallback = std::function<bool(RowFields)>;

class PgSession {
 public:
  virtual ~PgSession() = default;

  // Runs one statement and returns its whole result. For small results only.
  // Errors: kConnectionLost when the connection broke (reconnect), kPermissionDenied
  // (SQLSTATE 42501), kQueryFailed otherwise, with SQLSTATE.
  virtual Result<QueryResult> Query(std::string_view sql) = 0;

  // Runs `select_sql` (a SELECT without trailing semicolon, no parameters) through
  // COPY ... TO STDOUT (FORMAT binary) and hands each row to `on_row` without holding the result
  // in memory: the cheapest way to read many rows. Fields are in PostgreSQL's binary send format
  // (network byte order; cast every column to a fixed type in the SELECT); NULL is nullopt. Same
  // errors as Query.
  virtual Status Stream(std::string_view select_sql, const RowCallback& on_row) = 0;

  // Runs `sql` with text parameters ($1, $2, ...; nullopt = NULL) in single-row mode: memory stays
  // flat and, unlike COPY, the statement text does not depend on the values, so
  // pg_stat_statements keeps one entry for it. The extended protocol it uses refuses a text holding
  // more than one statement. A command that returns no rows (e.g. PREPARE) succeeds without
  // calling `on_row`. Same errors as Query.
  virtual Status StreamWithParams(std::string_view sql,
                                  const std::vector<std::optional<std::string>>& params,
                                  const RowCallback& on_row) = 0;

  // Server version as PG_VERSION_NUM, e.g. 150004.
  virtual int ServerVersionNum() const = 0;
};

// What a session may do. kReadOnly (the collector): every transaction read-only, statement
// timeout 5 min, lock timeout 1 s. kApply (the applier, only for apply = true databases): writes
// allowed, lock timeout 5 s (DDL waits briefly, then gives up and retries later rather than queue
// every other session behind it), statement timeout `apply_statement_timeout_s` (an index build
// needs long).
enum class SessionMode { kReadOnly, kApply };


// Every session, in both modes, runs this first: name resolution searches pg_catalog and then the
// session's own temporary schema only (listed last, so it can never shadow a catalog name).
inline constexpr char kPinnedSearchPath[] = "SET search_path = pg_catalog, pg_temp";

struct ConnectOptions {
  std::string dsn;                      // libpq connection string or URI; PG* env vars apply
  std::optional<std::string> password;  // from password_file; overrides the DSN's password
  std::string application_name = "optischema-agent";
  int connect_timeout_s = 10;
  SessionMode mode = SessionMode::kReadOnly;
  int apply_statement_timeout_s = 6 * 3600;
};

// The password written into `dsn` (keyword "password=" or a URI's user information), if any, so
// that it can be masked in logs. nullopt also for a DSN libpq cannot parse.
std::optional<std::string> DsnPassword(const std::string& dsn);

// Whether libpq can parse `dsn` (keyword/value string or URI). libpq's own error for a DSN it
// cannot parse may quote part of it, password included, so callers report only this verdict.
bool DsnParses(const std::string& dsn);

// Opens a libpq connection. Errors: kConnectionFailed (unreachable; retry), kAuthFailed (bad
// password or no pg_hba entry; fix credentials). Messages never contain the password.
Result<std::unique_ptr<PgSession>> ConnectLibpq(const ConnectOptions& options);

}  // namespace optischema::pg
