// LibpqSession: PgSession over one libpq connection. Large reads stream through
// COPY (...) TO STDOUT so memory stays flat whatever the number of rows.

#include <libpq-fe.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "collector/pg_session.h"
#include "collector/statement_text.h"

namespace optischema::collector {

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

// Prefix every statement with the agent marker so the collector can drop its own work.
std::string Marked(std::string_view sql) {
  std::string out;
  out.reserve(kAgentMarker.size() + 1 + sql.size());
  out.append(kAgentMarker);
  out.push_back(' ');
  out.append(sql);
  return out;
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

// Decodes one field of COPY text format in place of `out`. Returns false on a malformed escape.
bool UnescapeCopyField(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\' || i + 1 == in.size()) {
      out.push_back(c);
      continue;
    }
    char e = in[++i];
    switch (e) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x': {
        int value = 0;
        int digits = 0;
        while (digits < 2 && i + 1 < in.size() &&
               std::isxdigit(static_cast<unsigned char>(in[i + 1]))) {
          char h = in[++i];
          value = value * 16 + (std::isdigit(static_cast<unsigned char>(h))
                                    ? h - '0'
                                    : (std::tolower(h) - 'a' + 10));
          ++digits;
        }
        if (digits == 0) return false;
        out.push_back(static_cast<char>(value));
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int value = e - '0';
          for (int d = 0; d < 2 && i + 1 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '7'; ++d) {
            value = value * 8 + (in[++i] - '0');
          }
          out.push_back(static_cast<char>(value));
        } else {
          out.push_back(e);  // \\ and any other escaped character stand for themselves
        }
    }
  }
  return true;
}

class LibpqSession final : public PgSession {
 public:
  explicit LibpqSession(ConnPtr conn) : conn_(std::move(conn)) {}

  Result<QueryResult> Query(std::string_view sql) override {
    const std::string text = Marked(sql);
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
    std::string text = Marked("COPY (");
    text.append(select_sql);
    text.append(") TO STDOUT");
    {
      ResultPtr res(PQexec(conn_.get(), text.c_str()));
      if (!res || PQresultStatus(res.get()) != PGRES_COPY_OUT) {
        return ErrorFromResult(conn_.get(), res.get());
      }
    }
    std::vector<std::optional<std::string_view>> fields;
    std::vector<std::string> scratch;
    bool wanted = true;
    bool malformed = false;
    for (;;) {
      char* raw = nullptr;
      const int n = PQgetCopyData(conn_.get(), &raw, 0);
      if (n == -1) break;  // end of data
      if (n < 0) return ErrorFromResult(conn_.get(), nullptr);
      CopyBuffer buffer(raw);
      if (!wanted || malformed) continue;  // drain the rest
      std::string_view line(raw, static_cast<std::size_t>(n));
      if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
      fields.clear();
      std::size_t col = 0;
      std::size_t start = 0;
      for (;;) {
        const std::size_t tab = line.find('\t', start);
        std::string_view field = line.substr(
            start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
        if (field == "\\N") {
          fields.emplace_back(std::nullopt);
        } else if (field.find('\\') == std::string_view::npos) {
          fields.emplace_back(field);
        } else {
          if (scratch.size() <= col) scratch.resize(col + 1);
          if (!UnescapeCopyField(field, scratch[col])) malformed = true;
          fields.emplace_back(std::string_view(scratch[col]));
        }
        ++col;
        if (tab == std::string_view::npos) break;
        start = tab + 1;
      }
      if (!malformed) wanted = on_row(RowFields(fields.data(), fields.size()));
    }
    ResultPtr final_res(PQgetResult(conn_.get()));
    Status status = OkStatus();
    if (!final_res || PQresultStatus(final_res.get()) != PGRES_COMMAND_OK) {
      status = ErrorFromResult(conn_.get(), final_res.get());
    }
    // Drain any further results so the connection is ready for the next command.
    while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
    if (!status.ok()) return status;
    if (malformed) {
      return MakeError(ErrorCode::kInternal, "malformed escape sequence in COPY output");
    }
    return OkStatus();
  }

  Status StreamWithParams(std::string_view sql,
                          const std::vector<std::optional<std::string>>& params,
                          const RowCallback& on_row) override {
    const std::string text = Marked(sql);
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
      } else if (st != PGRES_TUPLES_OK && status.ok()) {
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
  // catalog or a held lock can never make the agent a burden on the server.
  auto setup = session->Query(
      "SET default_transaction_read_only = on; SET statement_timeout = '60s'; "
      "SET lock_timeout = '1s'; SET idle_in_transaction_session_timeout = '60s'");
  if (!setup.ok()) return std::move(setup).error();
  return std::unique_ptr<PgSession>(std::move(session));
}

}  // namespace optischema::collector
