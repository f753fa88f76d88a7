// LibpqSession: PgSession over one libpq connection. Large reads stream through
// COPY (...) TO STDOUT so memory stays flat whatever the number of rows.

#include <libpq-fe.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "pg/pg_session.h"

namespace optischema::pg {

int QueryResult::Column(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int>(i);
  }
  return -1;
}

namespace {

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
struct CopyBufferDeleter {
  void operator()(char* p) const { PQfreemem(p); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;
using CopyBuffer = std::unique_ptr<char, CopyBufferDeleter>;

std::string TrimMessage(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool IsConnectionClass(std::string_view sqlstate) {
  // 08: connection exception; 57P01-57P03: server shutting down / cannot connect now.
  return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

Error ErrorFromResult(PGconn* conn, const PGresult* res) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  std::string message = TrimMessage(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  if (message.empty()) message = TrimMessage(PQerrorMessage(conn));
  if (PQstatus(conn) != CONNECTION_OK || IsConnectionClass(sqlstate)) {
    return MakeError(ErrorCode::kConnectionLost, "database connection lost: " + message, sqlstate);
  }
  if (sqlstate == "42501") {
    return MakeError(ErrorCode::kPermissionDenied, message, sqlstate);
  }
  if (message.find("pg_stat_statements must be loaded via") != std::string::npos) {
    return MakeError(ErrorCode::kExtensionMissing,
                     message +
                         " — add pg_stat_statements to shared_preload_libraries in "
                         "postgresql.conf and restart PostgreSQL",
                     sqlstate);
  }
  if (sqlstate == "57014") return MakeError(ErrorCode::kTimeout, message, sqlstate);
  return MakeError(ErrorCode::kQueryFailed, message, sqlstate);
}

// Reads big-endian integers from COPY binary data.
uint16_t ReadU16(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}
uint32_t ReadU32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

constexpr std::string_view kCopyBinarySignature("PGCOPY\n\377\r\n\0", 11);

// Parses the tuples of one COPY binary data message (the first one also carries the file
// header). Calls on_row per tuple until it returns false. Returns false on malformed data.
bool ParseCopyBinaryMessage(std::string_view data, bool* header_seen, bool* done, bool* wanted,
                            std::vector<std::optional<std::string_view>>& fields,
                            const RowCallback& on_row) {
  std::size_t pos = 0;
  if (!*header_seen) {
    if (data.size() < kCopyBinarySignature.size() + 8 || !data.starts_with(kCopyBinarySignature)) {
      return false;
    }
    pos = kCopyBinarySignature.size() + 4;  // signature, flags
    const uint32_t extension = ReadU32(data.data() + pos);
    pos += 4;
    if (extension > data.size() - pos) return false;
    pos += extension;
    *header_seen = true;
  }
  while (pos + 2 <= data.size()) {
    const auto count = static_cast<int16_t>(ReadU16(data.data() + pos));
    pos += 2;
    if (count == -1) {
      *done = true;
      return true;
    }
    if (count < 0) return false;
    fields.clear();
    for (int16_t i = 0; i < count; ++i) {
      if (pos + 4 > data.size()) return false;
      const auto length = static_cast<int32_t>(ReadU32(data.data() + pos));
      pos += 4;
      if (length == -1) {
        fields.emplace_back(std::nullopt);
        continue;
      }
      if (length < 0 || static_cast<std::size_t>(length) > data.size() - pos) return false;
      fields.emplace_back(data.substr(pos, static_cast<std::size_t>(length)));
      pos += static_cast<std::size_t>(length);
    }
    if (*wanted) *wanted = on_row(RowFields(fields.data(), fields.size()));
  }
  return pos == data.size();
}

class LibpqSession final : public PgSession {
 public:
  explicit LibpqSession(ConnPtr conn) : conn_(std::move(conn)) {}

  Result<QueryResult> Query(std::string_view sql) override {
    const std::string text = MarkStatement(sql);
    ResultPtr res(PQexec(conn_.get(), text.c_str()));
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      return ErrorFromResult(conn_.get(), res.get());
    }
    QueryResult out;
    const int ncols = PQnfields(res.get());
    const int nrows = PQntuples(res.get());
    out.columns.reserve(static_cast<std::size_t>(ncols));
    for (int c = 0; c < ncols; ++c) out.columns.emplace_back(PQfname(res.get(), c));
    out.rows.resize(static_cast<std::size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
      auto& row = out.rows[static_cast<std::size_t>(r)];
      row.reserve(static_cast<std::size_t>(ncols));
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res.get(), r, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(PQgetvalue(res.get(), r, c),
                                       static_cast<std::size_t>(PQgetlength(res.get(), r, c))));
        }
      }
    }
    return out;
  }

  Status Stream(std::string_view select_sql, const RowCallback& on_row) override {
    std::string text = MarkStatement("COPY (");
    text.append(select_sql);
    text.append(") TO STDOUT (FORMAT binary)");
    {
      ResultPtr res(PQexec(conn_.get(), text.c_str()));
      if (!res || PQresultStatus(res.get()) != PGRES_COPY_OUT) {
        return ErrorFromResult(conn_.get(), res.get());
      }
    }
    std::vector<std::optional<std::string_view>> fields;
    bool header_seen = false;
    bool done = false;
    bool wanted = true;
    bool malformed = false;
    for (;;) {
      char* raw = nullptr;
      const int n = PQgetCopyData(conn_.get(), &raw, 0);
      if (n == -1) break;  // end of data
      if (n < 0) return ErrorFromResult(conn_.get(), nullptr);
      CopyBuffer buffer(raw);
      if (malformed || done) continue;  // drain the rest
      if (!ParseCopyBinaryMessage(std::string_view(raw, static_cast<std::size_t>(n)), &header_seen,
                                  &done, &wanted, fields, on_row)) {
        malformed = true;
      }
    }
    ResultPtr final_res(PQgetResult(conn_.get()));
    Status status = OkStatus();
    if (!final_res || PQresultStatus(final_res.get()) != PGRES_COMMAND_OK) {
      status = ErrorFromResult(conn_.get(), final_res.get());
    }
    // Drain any further results so the connection is ready for the next command.
    while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
    if (!status.ok()) return status;
    if (malformed) return MakeError(ErrorCode::kInternal, "malformed COPY binary data");
    return OkStatus();
  }

  Status StreamWithParams(std::string_view sql,
                          const std::vector<std::optional<std::string>>& params,
                          const RowCallback& on_row) override {
    const std::string text = MarkStatement(sql);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    if (!PQsendQueryParams(conn_.get(), text.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0) ||
        !PQsetSingleRowMode(conn_.get())) {
      while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
      return ErrorFromResult(conn_.get(), nullptr);
    }
    Status status = OkStatus();
    bool wanted = true;
    std::vector<std::optional<std::string_view>> fields;
    while (PGresult* raw = PQgetResult(conn_.get())) {
      ResultPtr res(raw);
      const ExecStatusType st = PQresultStatus(res.get());
      if (st == PGRES_SINGLE_TUPLE) {
        if (!wanted) continue;  // drain
        const int ncols = PQnfields(res.get());
        fields.clear();
        for (int c = 0; c < ncols; ++c) {
          if (PQgetisnull(res.get(), 0, c)) {
            fields.emplace_back(std::nullopt);
          } else {
            fields.emplace_back(
                std::string_view(PQgetvalue(res.get(), 0, c),
                                 static_cast<std::size_t>(PQgetlength(res.get(), 0, c))));
          }
        }
        wanted = on_row(RowFields(fields.data(), fields.size()));
      } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && status.ok()) {
        status = ErrorFromResult(conn_.get(), res.get());
      }
    }
    return status;
  }

  int ServerVersionNum() const override { return PQserverVersion(conn_.get()); }

 private:
  ConnPtr conn_;
};

bool LooksLikeAuthFailure(std::string_view message) {
  return message.find("password authentication failed") != std::string_view::npos ||
         message.find("no password supplied") != std::string_view::npos ||
         message.find("authentication failed") != std::string_view::npos ||
         message.find("no pg_hba.conf entry") != std::string_view::npos ||
         message.find("role \"") != std::string_view::npos;
}

}  // namespace

std::optional<std::string> DsnPassword(const std::string& dsn) {
  if (dsn.empty()) return std::nullopt;
  const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(dsn.c_str(), nullptr), PQconninfoFree);
  if (options == nullptr) return std::nullopt;
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    if (std::strcmp(option->keyword, "password") == 0 && option->val != nullptr &&
        option->val[0] != '\0') {
      return std::string(option->val);
    }
  }
  return std::nullopt;
}

bool DsnParses(const std::string& dsn) {
  if (dsn.empty()) return true;  // libpq defaults and PG* variables
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return false;
  PQconninfoFree(options);
  return true;
}

Result<std::unique_ptr<PgSession>> ConnectLibpq(const ConnectOptions& options) {
  // Order matters: values from the expanded DSN override the ones before it, the password file
  // overrides the DSN.
  const std::string timeout = std::to_string(options.connect_timeout_s);
  std::vector<const char*> keys = {"application_name", "connect_timeout", "dbname"};
  std::vector<const char*> values = {options.application_name.c_str(), timeout.c_str(),
                                     options.dsn.c_str()};
  if (options.password) {
    keys.push_back("password");
    values.push_back(options.password->c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  ConnPtr conn(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
  if (!conn) return MakeError(ErrorCode::kInternal, "libpq could not allocate a connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    const std::string message = TrimMessage(PQerrorMessage(conn.get()));
    if (LooksLikeAuthFailure(message)) {
      return MakeError(ErrorCode::kAuthFailed,
                       "database rejected the credentials: " + message +
                           " — check the user and password (password_file, ~/.pgpass or "
                           "PGPASSWORD) and pg_hba.conf");
    }
    return MakeError(ErrorCode::kConnectionFailed, "cannot connect to database: " + message);
  }
  auto session = std::make_unique<LibpqSession>(std::move(conn));
  // The collector only reads. Every transaction is read-only and bounded in time, so a slow
  // catalog or a held lock can never make the agent a burden on the server. The statement
  // timeout leaves room for the rare text read of a very large query-text file, whose rows the
  // agent anonymizes as they arrive. standard_conforming_strings is pinned in both modes: the
  // agent parses SQL with libpg_query, which always lexes strings that way, so the server must
  // read them the same way.
  //
  // The search_path is pinned first, before any other statement, in both modes: pg_catalog, then
  // the session's own temporary schema, which only this session can write. No schema a database
  // user can create objects in is ever searched, so no function, operator or type such a user
  // wrote can be picked by name resolution in an agent session; the agent names the objects of
  // extensions (pg_stat_statements, hypopg) with their schema.
  const std::string settings =
      std::string(kPinnedSearchPath) + "; " +
      (options.mode == SessionMode::kReadOnly
           ? std::string(
                 "SET default_transaction_read_only = on; SET statement_timeout = '5min'; "
                 "SET lock_timeout = '1s'; SET idle_in_transaction_session_timeout = '60s'; "
                 "SET standard_conforming_strings = on")
           : "SET statement_timeout = '" + std::to_string(options.apply_statement_timeout_s) +
                 "s'; SET lock_timeout = '5s'; SET idle_in_transaction_session_timeout = '60s'; "
                 "SET standard_conforming_strings = on");
  auto setup = session->Query(settings);
  RETURN_IF_ERROR(setup);
  return std::unique_ptr<PgSession>(std::move(session));
}

}  // namespace optischema::pg
