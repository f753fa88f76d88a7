#include "applier/executor.h"

#include <chrono>
#include <thread>
#include <utility>
#include <variant>

#include "applier/executor_support.h"
#include "pg/plan_safety.h"
#include "pg/query_rows.h"
#include "pg/sql_identifier.h"
#include "pg/stat_statements_extension.h"
#include "pg/table_schema.h"

namespace optischema::applier {

namespace executor_support {

std::string Q(std::string_view identifier) { return pg::QuoteIdentifier(identifier); }

ApplyOutcome Rejected(std::string detail) {
  return {protocol::LifecycleEvent::kRejected, std::move(detail)};
}

std::string OneLine(const Error& error) {
  std::string_view text = error.message;
  for (std::string_view prefix : {"ERROR:  ", "FATAL:  "}) {
    if (text.starts_with(prefix)) text.remove_prefix(prefix.size());
  }
  std::string out(text.substr(0, text.find('\n')));
  if (!error.sqlstate.empty()) out += " (SQLSTATE " + error.sqlstate + ")";
  return out;
}

std::string WithStatementTimeout(std::string_view sql, std::string_view timeout) {
  return "SET LOCAL statement_timeout = '" + std::string(timeout) + "'; " + std::string(sql);
}

}  // namespace executor_support

namespace {

using executor_support::Q;
using executor_support::Rejected;
constexpr char kLockNotAvailable[] = "55P03";

}  // namespace

Executor::Executor(std::unique_ptr<pg::PgSession> session, AuditLog& audit, std::string database,
                   ExecutorOptions options)
    : session_(std::move(session)),
      audit_(audit),
      database_(std::move(database)),
      options_(options) {}

Result<AuditRecord> Executor::Audit(const std::string& id, AuditStep step, std::string detail,
                                    std::string sql, std::string rollback_sql) {
  AuditEntry entry;
  entry.recommendation_id = id;
  entry.database = database_;
  entry.step = step;
  entry.detail = std::move(detail);
  entry.sql = std::move(sql);
  entry.rollback_sql = std::move(rollback_sql);
  Result<AuditRecord> record = audit_.Append(entry);
  if (record.ok() && step == AuditStep::kStarted && on_started_) on_started_(id, record->detail);
  return record;
}

Result<ApplyOutcome> Executor::Apply(const CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  Result<ApplyOutcome> outcome =
      Rejected(std::string("kind ") +
               std::string(protocol::RecommendationKindName(protocol::KindOf(rec.spec))) +
               " is not supported by this version of the agent");
  if (std::holds_alternative<protocol::CreateIndexSpec>(rec.spec)) {
    outcome = CreateIndex(checked);
  } else if (std::holds_alternative<protocol::DropIndexSpec>(rec.spec)) {
    outcome = DropIndex(checked);
  } else if (std::holds_alternative<protocol::SetConfigSpec>(rec.spec)) {
    outcome = SetConfig(checked);
  } else if (std::holds_alternative<protocol::RewriteSpec>(rec.spec)) {
    outcome = Rewrite(checked);
  } else if (std::holds_alternative<protocol::SetTableOptionsSpec>(rec.spec)) {
    outcome = SetTableOptions(checked);
  } else if (std::holds_alternative<protocol::AnalyzeTableSpec>(rec.spec)) {
    outcome = AnalyzeTable(checked);
  }
  if (outcome.ok() && outcome->event == protocol::LifecycleEvent::kRejected) {
    if (auto audited = Audit(rec.id, AuditStep::kRejected, outcome->detail); !audited.ok()) {
      return std::move(audited).error();
    }
  }
  return outcome;
}

Status Executor::RunWithLockRetries(const std::string& sql, const std::string& cleanup) {
  for (int attempt = 1;; ++attempt) {
    auto result = session_->Query(sql);
    if (result.ok()) return OkStatus();
    if (result.error().sqlstate != kLockNotAvailable || attempt >= options_.lock_attempts) {
      return std::move(result).error();
    }
    if (!cleanup.empty()) (void)session_->Query(cleanup);
    // Another session holds a conflicting lock: give way, then try again.
    std::this_thread::sleep_for(options_.lock_pause * attempt);
  }
}

Status Executor::DropInvalidIndex(const std::string& schema, const std::string& name) {
  auto rows =
      pg::QueryRows(*session_,
                    "SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = "
                    "i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE "
                    "n.nspname = $1 AND c.relname = $2 AND NOT i.indisvalid",
                    {schema, name});
  RETURN_IF_ERROR(rows);
  if (rows->empty()) return OkStatus();
  return RunWithLockRetries("DROP INDEX CONCURRENTLY IF EXISTS " + Q(schema) + "." + Q(name), "");
}

Result<std::optional<std::string>> Executor::SchemaDrift(const protocol::Recommendation& rec,
                                                         const pg::TableName& table) {
  if (!rec.table_digest) return std::optional<std::string>();
  if (!options_.digest_key) {
    return std::optional<std::string>(
        "cannot check the table digest: this agent's digest key is not available");
  }
  auto digest = pg::ReadTableDigest(*session_, *options_.digest_key, table);
  RETURN_IF_ERROR(digest);
  if (*digest == rec.table_digest) return std::optional<std::string>();
  return std::optional<std::string>("schema changed since the recommendation was made: table " +
                                    Q(table.schema) + "." + Q(table.name) + " had digest " +
                                    *rec.table_digest + ", now " + digest->value_or("(none)") +
                                    "; ask for a new recommendation");
}

Result<std::string> Executor::StatementsView() {
  auto extension = pg::DetectExtension(*session_, database_);
  RETURN_IF_ERROR(extension);
  return Q(extension->schema) + ".pg_stat_statements";
}

Result<bool> Executor::Observed(const std::string& text) {
  const std::string wanted = pg::StatementFingerprint(text);
  if (wanted.empty()) return false;
  auto view = StatementsView();
  RETURN_IF_ERROR(view);
  bool found = false;
  Status read = session_->StreamWithParams(
      "SELECT query FROM " + *view +
          "(true) WHERE dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = "
          "pg_catalog.current_database()) AND query IS NOT NULL",
      {}, [&](pg::RowFields row) {
        if (row.size() == 1 && row[0] && pg::StatementFingerprint(*row[0]) == wanted) found = true;
        return !found;
      });
  RETURN_IF_ERROR(read);
  return found;
}

}  // namespace optischema::applier
