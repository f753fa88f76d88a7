#include "applier/executor.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "applier/index_name.h"
#include "pg/plan_probe.h"
#include "pg/plan_safety.h"
#include "pg/predicate.h"
#include "pg/query_rows.h"
#include "pg/sql_identifier.h"
#include "pg/stat_statements_extension.h"
#include "pg/table_schema.h"

namespace optischema::applier {
namespace {

using pg::QueryRows;
using pg::Row;
constexpr char kLockNotAvailable[] = "55P03";

std::string Q(std::string_view identifier) { return pg::QuoteIdentifier(identifier); }

std::string JoinQuoted(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + Q(name);
  return out;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ",") + name;
  return out;
}

ApplyOutcome Rejected(std::string detail) { return {"rejected", std::move(detail)}; }

// A server error for an event detail or the audit log, on one line: libpq's "ERROR:  " prefix and
// the LINE/caret lines that follow the primary message dropped, the SQLSTATE kept.
std::string OneLine(const Error& error) {
  std::string_view text = error.message;
  for (std::string_view prefix : {"ERROR:  ", "FATAL:  "}) {
    if (text.starts_with(prefix)) text.remove_prefix(prefix.size());
  }
  std::string out(text.substr(0, text.find('\n')));
  if (!error.sqlstate.empty()) out += " (SQLSTATE " + error.sqlstate + ")";
  return out;
}

// Makes the server re-read its configuration files.
Status Reload(pg::PgSession& session) {
  auto result = session.Query("SELECT pg_catalog.pg_reload_conf()");
  if (!result.ok()) return std::move(result).error();
  return OkStatus();
}

}  // namespace

Result<std::vector<std::string>> MissingSetConfigGrants(pg::PgSession& session,
                                                        const std::string& setting) {
  auto role_row = pg::QueryRows(session,
                                "SELECT pg_catalog.current_setting('server_version_num')::int >= "
                                "150000, r.rolsuper, current_user FROM pg_catalog.pg_roles r WHERE "
                                "r.rolname = current_user");
  if (!role_row.ok()) return std::move(role_row).error();
  if (role_row->empty()) {
    return MakeError(ErrorCode::kQueryFailed, "the role's privileges could not be read");
  }
  const bool pg15 = (*role_row)[0][0] == "t";
  const bool superuser = (*role_row)[0][1] == "t";
  const std::string role = pg::QuoteIdentifier((*role_row)[0][2].value_or("?"));
  if (superuser) return std::vector<std::string>{};
  if (!pg15) return std::vector<std::string>{"ALTER ROLE " + role + " SUPERUSER"};
  auto granted = pg::QueryRows(
      session,
      "SELECT pg_catalog.has_parameter_privilege($1, 'ALTER SYSTEM'), "
      "pg_catalog.has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE'), "
      "pg_catalog.has_table_privilege('pg_catalog.pg_file_settings', 'SELECT'), "
      "pg_catalog.has_function_privilege('pg_catalog.pg_show_all_file_settings()', 'EXECUTE')",
      {setting});
  if (!granted.ok()) return std::move(granted).error();
  const pg::Row& row = (*granted)[0];
  std::vector<std::string> grants;
  if (row[0] != "t") {
    grants.push_back("GRANT ALTER SYSTEM ON PARAMETER " + pg::QuoteIdentifier(setting) + " TO " +
                     role);
  }
  if (row[1] != "t") {
    grants.push_back("GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO " + role);
  }
  if (row[2] != "t") grants.push_back("GRANT SELECT ON pg_catalog.pg_file_settings TO " + role);
  if (row[3] != "t") {
    grants.push_back("GRANT EXECUTE ON FUNCTION pg_catalog.pg_show_all_file_settings() TO " + role);
  }
  return grants;
}

Result<std::string> MissingSetConfigPrivileges(pg::PgSession& session, const std::string& setting) {
  auto grants = MissingSetConfigGrants(session, setting);
  if (!grants.ok()) return std::move(grants).error();
  if (grants->empty()) return std::string();
  if (grants->front().starts_with("ALTER ROLE")) {
    return std::string(
        "only a superuser may use ALTER SYSTEM before PostgreSQL 15, and the role is none; "
        "nothing was changed");
  }
  std::string fix;
  for (const std::string& grant : *grants) fix += (fix.empty() ? "" : " ") + grant + ";";
  return "the role lacks a privilege set_config needs, so nothing was changed; fix: " + fix;
}

Executor::Executor(std::unique_ptr<pg::PgSession> session, AuditLog& audit, std::string database,
                   ExecutorOptions options)
    : session_(std::move(session)),
      audit_(audit),
      database_(std::move(database)),
      options_(options) {}

Result<AuditRecord> Executor::Audit(const std::string& id, const std::string& step,
                                    std::string detail, std::string sql, std::string rollback_sql) {
  AuditEntry entry;
  entry.recommendation_id = id;
  entry.database = database_;
  entry.step = step;
  entry.detail = std::move(detail);
  entry.sql = std::move(sql);
  entry.rollback_sql = std::move(rollback_sql);
  Result<AuditRecord> record = audit_.Append(entry);
  if (record.ok() && step == "started" && on_started_) on_started_(id, record->detail);
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
  }
  if (outcome.ok() && outcome->event == "rejected") {
    if (auto audited = Audit(rec.id, "rejected", outcome->detail); !audited.ok()) {
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
  if (!rows.ok()) return std::move(rows).error();
  if (rows->empty()) return OkStatus();
  return RunWithLockRetries("DROP INDEX CONCURRENTLY IF EXISTS " + Q(schema) + "." + Q(name), "");
}

Result<ApplyOutcome> Executor::CreateIndex(const CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  const auto& spec = std::get<protocol::CreateIndexSpec>(rec.spec);
  const std::string name = IndexNameForRecommendation(rec.id);
  const std::string relation = Q(spec.schema) + "." + Q(spec.table);

  auto standby = pg::QueryRows(*session_, "SELECT pg_catalog.pg_is_in_recovery()::text", {});
  if (!standby.ok()) return std::move(standby).error();
  if (!standby->empty() && (*standby)[0][0] == "true") {
    return Rejected("the database is a standby (read-only replica); apply on the primary");
  }
  auto table =
      pg::QueryRows(*session_,
                    "SELECT c.oid::text, c.relkind::text FROM pg_catalog.pg_class c JOIN "
                    "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND "
                    "c.relname = $2",
                    {spec.schema, spec.table});
  if (!table.ok()) return std::move(table).error();
  if (table->empty()) return Rejected("table does not exist: " + relation);
  const std::string oid = (*table)[0][0].value_or("");
  const std::string relkind = (*table)[0][1].value_or("");
  if (relkind == "p") {
    return Rejected("partitioned tables are not supported yet: propose the index per partition");
  }
  if (relkind != "r" && relkind != "m") return Rejected(relation + " is not a table");
  auto drift = SchemaDrift(rec, {spec.schema, spec.table});
  if (!drift.ok()) return std::move(drift).error();
  if (*drift) return Rejected(**drift);

  // Each column with whether its type is built in (or an enum): the index's operator class and
  // the predicate's comparisons and casts then resolve to built-in code only, which no database
  // user can replace (a user owning a type can give it implicit casts of their own).
  auto columns = pg::QueryRows(
      *session_,
      "SELECT a.attname::text, (a.atttypid < 16384 OR t.typtype = 'e')::text FROM "
      "pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid WHERE "
      "a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped",
      {oid});
  if (!columns.ok()) return std::move(columns).error();
  std::map<std::string, bool> existing;  // name -> built-in type
  for (const pg::Row& row : *columns) existing[row[0].value_or("")] = row[1] == "true";
  std::vector<std::string> needed = spec.columns;
  needed.insert(needed.end(), spec.include.begin(), spec.include.end());
  if (checked.where) {
    needed.insert(needed.end(), checked.where->columns.begin(), checked.where->columns.end());
  }
  for (const std::string& column : needed) {
    const auto found = existing.find(column);
    if (found == existing.end()) {
      return Rejected("column " + Q(column) + " does not exist in " + relation);
    }
    if (!found->second) {
      return Rejected("column " + Q(column) + " of " + relation +
                      " has a type that is not built in; the agent builds indexes only over "
                      "built-in and enum types");
    }
  }

  const std::string method(protocol::IndexMethodName(spec.method));
  auto indexes = pg::QueryRows(
      *session_,
      "SELECT ic.relname, am.amname, i.indisvalid::text, (i.indpred IS NULL AND i.indexprs IS "
      "NULL)::text, pg_catalog.array_to_string(ARRAY(SELECT a.attname FROM "
      "pg_catalog.unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord) JOIN "
      "pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY "
      "k.ord), ',') FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = "
      "i.indexrelid JOIN pg_catalog.pg_am am ON am.oid = ic.relam WHERE i.indrelid = $1::oid",
      {oid});
  if (!indexes.ok()) return std::move(indexes).error();
  for (const pg::Row& row : *indexes) {
    const std::string index = row[0].value_or("");
    const bool valid = row[2] == "true";
    if (index == name && !valid) {
      if (Status dropped = DropInvalidIndex(spec.schema, name); !dropped.ok()) {
        return std::move(dropped).error();
      }
      continue;
    }
    const bool equivalent =
        (index == name || (row[1] == method && row[3] == "true" && !checked.where &&
                           spec.include.empty() && row[4] == Join(spec.columns)));
    if (valid && equivalent) {
      const std::string detail = "no-op: an equivalent valid index exists (" + Q(index) + ")";
      if (auto audited = Audit(rec.id, "noop", detail); !audited.ok()) {
        return std::move(audited).error();
      }
      return ApplyOutcome{"applied", detail};
    }
  }

  std::string definition =
      " ON " + relation + " USING " + method + " (" + JoinQuoted(spec.columns) + ")";
  if (!spec.include.empty()) definition += " INCLUDE (" + JoinQuoted(spec.include) + ")";
  if (checked.where) definition += " WHERE " + checked.where->sql;
  std::string estimate;
  if (options_.min_index_saving_pct > 0 && !spec.skip_hypopg_check &&
      !rec.affected_queryids.empty()) {
    auto saving = HypotheticalSavingPct("CREATE INDEX" + definition, rec.affected_queryids);
    if (!saving.ok()) return std::move(saving).error();
    if (*saving) {
      estimate = "; HypoPG estimated saving " + std::to_string(static_cast<int>(**saving)) + "%";
      if (**saving < options_.min_index_saving_pct) {
        return Rejected("HypoPG estimates a saving of " +
                        std::to_string(static_cast<int>(**saving)) +
                        "% for the affected statements, below the minimum of " +
                        std::to_string(options_.min_index_saving_pct) +
                        "% (set spec.skip_hypopg_check to apply anyway)");
      }
    }
  }
  const std::string sql = "CREATE INDEX CONCURRENTLY " + Q(name) + definition;
  const std::string rollback =
      "DROP INDEX CONCURRENTLY IF EXISTS " + Q(spec.schema) + "." + Q(name);
  if (auto audited =
          Audit(rec.id, "started", "building index " + Q(name) + estimate, sql, rollback);
      !audited.ok()) {
    return std::move(audited).error();
  }
  const std::string cleanup = "DROP INDEX CONCURRENTLY IF EXISTS " + Q(spec.schema) + "." + Q(name);
  Status built = RunWithLockRetries(sql, cleanup);
  if (built.ok()) {
    auto validity =
        pg::QueryRows(*session_,
                      "SELECT i.indisvalid::text FROM pg_catalog.pg_index i JOIN "
                      "pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN "
                      "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
                      "AND c.relname = $2",
                      {spec.schema, name});
    if (validity.ok() && !validity->empty() && (*validity)[0][0] == "true") {
      if (auto audited =
              Audit(rec.id, "applied", "index " + Q(name) + " built and valid", sql, rollback);
          !audited.ok()) {
        return std::move(audited).error();
      }
      return ApplyOutcome{"applied", "index " + name + " built and valid"};
    }
    built = MakeError(ErrorCode::kQueryFailed, "the index was left INVALID");
  }
  const Status cleaned = DropInvalidIndex(spec.schema, name);
  std::string detail =
      "CREATE INDEX CONCURRENTLY failed: " + OneLine(built.error()) +
      (cleaned.ok() ? "; no INVALID index left behind"
                    : "; dropping the INVALID index failed too: " + OneLine(cleaned.error()));
  if (auto audited = Audit(rec.id, "failed", detail); !audited.ok()) {
    return std::move(audited).error();
  }
  return ApplyOutcome{"failed", detail};
}

Result<std::optional<std::string>> Executor::SchemaDrift(const protocol::Recommendation& rec,
                                                         const pg::TableName& table) {
  if (!rec.table_digest) return std::optional<std::string>();
  if (!options_.digest_key) {
    return std::optional<std::string>(
        "cannot check the table digest: this agent's digest key is not available");
  }
  auto digest = pg::ReadTableDigest(*session_, *options_.digest_key, table);
  if (!digest.ok()) return std::move(digest).error();
  if (*digest == rec.table_digest) return std::optional<std::string>();
  return std::optional<std::string>("schema changed since the recommendation was made: table " +
                                    Q(table.schema) + "." + Q(table.name) + " had digest " +
                                    *rec.table_digest + ", now " + digest->value_or("(none)") +
                                    "; ask for a new recommendation");
}

Result<ApplyOutcome> Executor::DropIndex(const CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  const auto& spec = std::get<protocol::DropIndexSpec>(rec.spec);
  auto index = pg::QueryRows(
      *session_,
      "SELECT pg_catalog.pg_get_indexdef(c.oid), EXISTS (SELECT 1 FROM pg_catalog.pg_constraint "
      "WHERE conindid = c.oid)::text, t.relname, i.indisunique::text, i.indisreplident::text, "
      "c.relkind::text, EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = "
      "c.oid)::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
      "c.relnamespace JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid JOIN pg_catalog.pg_class "
      "t ON t.oid = i.indrelid WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('i', "
      "'I')",
      {spec.schema, spec.index});
  if (!index.ok()) return std::move(index).error();
  if (index->empty())
    return Rejected("index does not exist: " + Q(spec.schema) + "." + Q(spec.index));
  const pg::Row& found = (*index)[0];
  if (found[1] == "true") {
    return Rejected("index " + Q(spec.index) + " backs a constraint; it is never dropped");
  }
  if (found[3] == "true") {
    return Rejected("index " + Q(spec.index) +
                    " is unique: dropping it would stop enforcing uniqueness; drop it by hand if "
                    "that is intended");
  }
  if (found[4] == "true") {
    return Rejected("index " + Q(spec.index) +
                    " is the table's replica identity: logical replication needs it");
  }
  if (found[5] == "I" || found[6] == "true") {
    return Rejected("index " + Q(spec.index) +
                    " belongs to a partitioned table's index: it cannot be dropped on its own");
  }
  auto drift = SchemaDrift(rec, {spec.schema, (*index)[0][2].value_or("")});
  if (!drift.ok()) return std::move(drift).error();
  if (*drift) return Rejected(**drift);
  std::string rollback = (*index)[0][0].value_or("");
  for (std::string_view form : {"CREATE UNIQUE INDEX ", "CREATE INDEX "}) {
    if (rollback.starts_with(form)) {
      rollback.insert(form.size(), "CONCURRENTLY ");
      break;
    }
  }
  const std::string sql = "DROP INDEX CONCURRENTLY " + Q(spec.schema) + "." + Q(spec.index);
  if (auto audited = Audit(rec.id, "started", "dropping index " + Q(spec.index), sql, rollback);
      !audited.ok()) {
    return std::move(audited).error();
  }
  if (Status dropped = RunWithLockRetries(sql, ""); !dropped.ok()) {
    const std::string detail = "DROP INDEX CONCURRENTLY failed: " + OneLine(dropped.error());
    if (auto audited = Audit(rec.id, "failed", detail); !audited.ok()) {
      return std::move(audited).error();
    }
    return ApplyOutcome{"failed", detail};
  }
  if (auto audited = Audit(rec.id, "applied", "index " + Q(spec.index) + " dropped", sql, rollback);
      !audited.ok()) {
    return std::move(audited).error();
  }
  return ApplyOutcome{"applied", "index " + spec.index + " dropped"};
}

Result<ApplyOutcome> Executor::SetConfig(const CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  const auto& spec = std::get<protocol::SetConfigSpec>(rec.spec);
  auto setting =
      pg::QueryRows(*session_,
                    "SELECT vartype, context, coalesce(min_val, ''), coalesce(max_val, ''), "
                    "coalesce(pg_catalog.array_to_string(enumvals, ','), '') FROM "
                    "pg_catalog.pg_settings WHERE name = $1",
                    {spec.name});
  if (!setting.ok()) return std::move(setting).error();
  if (setting->empty()) return Rejected("unknown setting " + spec.name.substr(0, 63));
  const pg::Row& row = (*setting)[0];
  const std::string vartype = row[0].value_or("");
  const std::string context = row[1].value_or("");
  if (context == "internal") return Rejected("setting " + spec.name + " cannot be changed");
  if (vartype == "enum" || vartype == "bool") {
    std::vector<std::string> allowed;
    const std::string values =
        vartype == "bool" ? "on,off,true,false,yes,no,1,0" : row[4].value_or("");
    std::size_t from = 0;
    while (from <= values.size()) {
      const std::size_t comma = values.find(',', from);
      allowed.push_back(values.substr(from, comma == std::string::npos ? comma : comma - from));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    std::string lower = spec.value;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::find(allowed.begin(), allowed.end(), lower) == allowed.end()) {
      return Rejected("value for " + spec.name + " must be one of: " + values);
    }
  } else if ((vartype == "integer" || vartype == "real") && !spec.value.empty() &&
             spec.value.find_first_not_of("0123456789.-") == std::string::npos) {
    try {
      const double value = std::stod(spec.value);
      if ((!row[2]->empty() && value < std::stod(*row[2])) ||
          (!row[3]->empty() && value > std::stod(*row[3]))) {
        return Rejected("value for " + spec.name + " must be between " + *row[2] + " and " +
                        *row[3]);
      }
    } catch (const std::exception&) {
      return Rejected("value for " + spec.name + " is not a number");
    }
  }
  // Every privilege the steps below need, before any of them runs: a change is made and
  // reported, or not made.
  auto missing = MissingSetConfigPrivileges(*session_, spec.name);
  if (!missing.ok()) return std::move(missing).error();
  if (!missing->empty()) return Rejected(*missing);
  // The value ALTER SYSTEM set before, if any: the rollback restores it, or resets the setting.
  auto previous =
      pg::QueryRows(*session_,
                    "SELECT setting FROM pg_catalog.pg_file_settings WHERE name = $1 AND "
                    "sourcefile LIKE '%postgresql.auto.conf' ORDER BY seqno DESC LIMIT 1",
                    {spec.name});
  if (!previous.ok()) return std::move(previous).error();
  const std::string name = Q(spec.name);
  const std::string rollback =
      previous->empty()
          ? "ALTER SYSTEM RESET " + name
          : "ALTER SYSTEM SET " + name + " = " + pg::QuoteLiteral((*previous)[0][0].value_or(""));
  const std::string sql = "ALTER SYSTEM SET " + name + " = " + pg::QuoteLiteral(spec.value);
  if (auto audited = Audit(rec.id, "started", "changing " + spec.name, sql, rollback);
      !audited.ok()) {
    return std::move(audited).error();
  }
  Status changed = RunWithLockRetries(sql, "");
  std::string detail;
  if (!changed.ok()) {
    detail = "ALTER SYSTEM failed: " + OneLine(changed.error());
  } else if (changed = Reload(*session_); !changed.ok()) {
    // postgresql.auto.conf holds the new value already and the next reload would apply it
    // behind the audit log: put the previous state back.
    detail = "configuration reload failed: " + OneLine(changed.error());
    Status undone = RunWithLockRetries(rollback, "");
    detail += undone.ok() ? "; the ALTER SYSTEM was undone (" + rollback + "), nothing changed"
                          : "; undoing the ALTER SYSTEM failed too (" + OneLine(undone.error()) +
                                "): postgresql.auto.conf holds the new value until `" + rollback +
                                "` is run";
  }
  if (!changed.ok()) {
    if (auto audited = Audit(rec.id, "failed", detail); !audited.ok()) {
      return std::move(audited).error();
    }
    return ApplyOutcome{"failed", detail};
  }
  auto pending = pg::QueryRows(
      *session_, "SELECT pending_restart::text FROM pg_catalog.pg_settings WHERE name = $1",
      {spec.name});
  const bool pending_restart = pending.ok() && !pending->empty() && (*pending)[0][0] == "true";
  detail = spec.name + " set and configuration reloaded" +
           (pending_restart || context == "postmaster"
                ? "; pending_restart: takes effect after a PostgreSQL restart"
                : "");
  if (auto audited = Audit(rec.id, "applied", detail, sql, rollback); !audited.ok()) {
    return std::move(audited).error();
  }
  return ApplyOutcome{"applied", detail};
}

Result<std::string> Executor::StatementsView() {
  auto extension = pg::DetectExtension(*session_, database_);
  if (!extension.ok()) return std::move(extension).error();
  return Q(extension->schema) + ".pg_stat_statements";
}

Result<std::optional<double>> Executor::HypotheticalSavingPct(
    const std::string& index_sql, const std::vector<int64_t>& queryids) {
  auto hypopg = pg::HypopgSchema(*session_);
  if (!hypopg.ok()) return std::move(hypopg).error();
  if (!*hypopg) return std::optional<double>();
  auto view = StatementsView();
  if (!view.ok()) return std::move(view).error();
  std::vector<pg::ProvenStatement> statements;
  for (int64_t queryid : queryids) {
    auto text = pg::QueryRows(*session_,
                              "SELECT query FROM " + *view +
                                  " WHERE queryid = $1::bigint AND dbid = (SELECT oid FROM "
                                  "pg_catalog.pg_database WHERE datname = "
                                  "pg_catalog.current_database()) LIMIT 1",
                              {std::to_string(queryid)});
    if (!text.ok()) return std::move(text).error();
    if (text->empty() || !(*text)[0][0]) continue;
    // Only what the catalog proves safe to plan under this (apply) role is planned; the rest
    // gives no estimate.
    auto proven = pg::ProveSafeToPlan(*session_, *(*text)[0][0], pg::PlanPurpose::kAdvice);
    if (proven.ok()) {
      statements.push_back(*std::move(proven));
    } else if (proven.error().code != ErrorCode::kInvalidArgument) {
      return std::move(proven).error();
    }
  }
  if (statements.empty()) return std::optional<double>();
  double before = 0;
  for (const pg::ProvenStatement& statement : statements) {
    auto cost = pg::GenericPlanCost(*session_, statement);
    if (!cost.ok()) return std::optional<double>();  // not plannable here: no estimate
    before += *cost;
  }
  auto created = pg::CreateHypotheticalIndex(*session_, **hypopg, index_sql);
  if (!created.ok()) return std::move(created).error();
  double after = 0;
  bool planned = true;
  for (const pg::ProvenStatement& statement : statements) {
    auto cost = pg::GenericPlanCost(*session_, statement);
    if (!cost.ok()) {
      planned = false;
      break;
    }
    after += *cost;
  }
  (void)pg::ResetHypotheticalIndexes(*session_, **hypopg);
  if (!planned || before <= 0) return std::optional<double>();
  return std::optional<double>(100.0 * (before - after) / before);
}

Result<bool> Executor::Observed(const std::string& text) {
  const std::string wanted = pg::StatementFingerprint(text);
  if (wanted.empty()) return false;
  auto view = StatementsView();
  if (!view.ok()) return std::move(view).error();
  bool found = false;
  Status read = session_->StreamWithParams(
      "SELECT query FROM " + *view +
          "(true) WHERE dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = "
          "pg_catalog.current_database()) AND query IS NOT NULL",
      {}, [&](pg::RowFields row) {
        if (row.size() == 1 && row[0] && pg::StatementFingerprint(*row[0]) == wanted) found = true;
        return !found;
      });
  if (!read.ok()) return std::move(read).error();
  return found;
}

Result<ApplyOutcome> Executor::Rewrite(const CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  const auto& spec = std::get<protocol::RewriteSpec>(rec.spec);
  if (auto plain = pg::CheckPlainSelect(spec.original); !plain.ok()) {
    return Rejected("original: " + plain.error().message);
  }
  if (auto plain = pg::CheckPlainSelect(spec.rewritten); !plain.ok()) {
    return Rejected("rewritten: " + plain.error().message);
  }
  // The original must be a statement this database has run: a rewrite estimates the cost of a
  // query the application sends, never of a text made up to fold a value into an estimate.
  auto observed = Observed(spec.original);
  if (!observed.ok() && observed.error().code == ErrorCode::kExtensionMissing) {
    return Rejected("original: cannot be matched with a statement of this database: " +
                    observed.error().message);
  }
  if (!observed.ok()) return std::move(observed).error();
  if (!*observed) {
    return Rejected(
        "original: not a statement of this database (no entry of pg_stat_statements has its "
        "fingerprint); a rewrite is estimated only for a statement the application runs");
  }
  auto original = pg::ProveSafeToPlan(*session_, spec.original, pg::PlanPurpose::kRewrite);
  if (!original.ok()) {
    if (original.error().code != ErrorCode::kInvalidArgument) return std::move(original).error();
    return Rejected("original: " + original.error().message);
  }
  auto rewritten = pg::ProveSafeToPlan(*session_, spec.rewritten, pg::PlanPurpose::kRewrite);
  if (!rewritten.ok()) {
    if (rewritten.error().code != ErrorCode::kInvalidArgument) return std::move(rewritten).error();
    return Rejected("rewritten: " + rewritten.error().message);
  }
  const std::vector<std::string>& allowed = original->relation_oids();
  for (const std::string& oid : rewritten->relation_oids()) {
    if (!std::binary_search(allowed.begin(), allowed.end(), oid)) {
      return Rejected("rewritten: reads a relation the original does not read");
    }
  }
  auto before = pg::GenericPlanCost(*session_, *original);
  if (!before.ok()) return Rejected("original could not be planned: " + OneLine(before.error()));
  auto after = pg::GenericPlanCost(*session_, *rewritten);
  if (!after.ok()) return Rejected("rewritten could not be planned: " + OneLine(after.error()));
  const std::string detail = "advice only, nothing changed: estimated cost " +
                             std::to_string(*before) + " (original) vs " + std::to_string(*after) +
                             " (rewritten); change the application to use the rewritten query";
  if (auto audited = Audit(rec.id, "verify_passed", detail); !audited.ok()) {
    return std::move(audited).error();
  }
  return ApplyOutcome{"verified", detail};
}

Result<StatementFigures> Executor::Measure(const std::vector<int64_t>& queryids) {
  std::string array = "{";
  for (std::size_t i = 0; i < queryids.size(); ++i) {
    array += (i == 0 ? "" : ",") + std::to_string(queryids[i]);
  }
  array += "}";
  return SumFigures("queryid = ANY ($1::bigint[])", array);
}

Result<StatementFigures> Executor::MeasureText(const std::string& text) {
  return SumFigures("query = $1", text);
}

Result<StatementFigures> Executor::SumFigures(std::string_view condition,
                                              const std::string& parameter) {
  auto view = StatementsView();
  if (!view.ok()) return std::move(view).error();
  auto rows = pg::QueryRows(*session_,
                            "SELECT coalesce(sum(calls), 0)::text, coalesce(sum(total_exec_time), "
                            "0)::text FROM " +
                                *view + " WHERE " + std::string(condition),
                            {parameter});
  if (!rows.ok()) return std::move(rows).error();
  StatementFigures figures;
  if (!rows->empty()) {
    figures.calls = std::stod((*rows)[0][0].value_or("0"));
    figures.total_ms = std::stod((*rows)[0][1].value_or("0"));
  }
  return figures;
}

GuardVerdict JudgeGuard(const StatementFigures& at_apply, const StatementFigures& after,
                        int64_t max_regression_pct) {
  GuardVerdict verdict;
  verdict.before_mean_ms = at_apply.mean_ms();
  const double calls = after.calls - at_apply.calls;
  if (calls <= 0 || at_apply.calls <= 0) {
    verdict.detail = "no calls of the affected statements to compare; nothing to judge";
    return verdict;
  }
  verdict.judged = true;
  verdict.after_mean_ms = (after.total_ms - at_apply.total_ms) / calls;
  const double limit =
      verdict.before_mean_ms * (1.0 + static_cast<double>(max_regression_pct) / 100);
  verdict.regressed = verdict.after_mean_ms > limit;
  verdict.detail = "mean " + std::to_string(verdict.before_mean_ms) + " ms before, " +
                   std::to_string(verdict.after_mean_ms) + " ms over " +
                   std::to_string(static_cast<int64_t>(calls)) + " calls after (limit +" +
                   std::to_string(max_regression_pct) + "%)";
  return verdict;
}

Status Executor::Rollback(const std::string& recommendation_id) {
  if (!audit_.Applied(recommendation_id)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "recommendation " + recommendation_id + " has no applied change to undo");
  }
  std::string rollback;
  for (const AuditRecord& record : audit_.ForRecommendation(recommendation_id)) {
    if (record.step == "applied") rollback = record.rollback_sql;
    if (record.step == "noop") rollback.clear();
  }
  if (rollback.empty()) {
    auto audited = Audit(recommendation_id, "rolled_back", "nothing to undo: it was a no-op");
    if (!audited.ok()) return std::move(audited).error();
    return OkStatus();
  }
  Status undone = RunWithLockRetries(rollback, "");
  if (undone.ok() && rollback.starts_with("ALTER SYSTEM")) {
    undone = Reload(*session_);
  }
  auto audited = Audit(recommendation_id, undone.ok() ? "rolled_back" : "rollback_failed",
                       undone.ok() ? "rolled back" : OneLine(undone.error()), rollback);
  if (!audited.ok()) return std::move(audited).error();
  if (!undone.ok()) return MakeError(ErrorCode::kQueryFailed, OneLine(undone.error()));
  return OkStatus();
}

Result<ApplyOutcome> Executor::ReconcileInterrupted(const AuditRecord& started,
                                                    const std::string& dropped_index) {
  const std::string& id = started.recommendation_id;
  bool applied = false;
  std::string found;
  if (!dropped_index.empty()) {
    auto state = pg::QueryRows(*session_,
                               "SELECT i.indisvalid::text FROM pg_catalog.pg_index i WHERE "
                               "i.indexrelid = pg_catalog.to_regclass($1)",
                               {dropped_index});
    if (!state.ok()) return std::move(state).error();
    if (state->empty()) {
      applied = true;
      found = "the index was found dropped";
    } else if ((*state)[0][0] == "true") {
      found = "the index was found intact";
    } else {
      // The drop had begun: the index is INVALID (no query uses it, writes still maintain it).
      // Finishing the approved drop is the way out that leaves no INVALID index behind.
      if (Status finished =
              RunWithLockRetries("DROP INDEX CONCURRENTLY IF EXISTS " + dropped_index, "");
          !finished.ok()) {
        return std::move(finished).error();
      }
      applied = true;
      found = "the drop had begun (the index was INVALID) and was completed";
    }
  } else {
    // Whether ALTER SYSTEM ran cannot be told from a value set by hand: restore the previous
    // state (the recorded rollback), so the setting is what it was and the change is not applied.
    Status restored = RunWithLockRetries(started.rollback_sql, "");
    if (restored.ok()) restored = Reload(*session_);
    if (!restored.ok()) return std::move(restored).error();
    found = "the previous setting was restored";
  }
  auto audited = Audit(id, "recovered", "the agent stopped during this step; " + found);
  if (!audited.ok()) return std::move(audited).error();
  audited = applied ? Audit(id, "applied", "completed before the stop or at recovery", started.sql,
                            started.rollback_sql)
                    : Audit(id, "failed", "interrupted by an agent stop; not applied");
  if (!audited.ok()) return std::move(audited).error();
  return ApplyOutcome{audited->step, audited->detail};
}

Result<Executor::Recovery> Executor::CleanUpInterruptedBuilds() {
  Recovery recovery;
  // A build or drop whose agent died goes on in its server session (blocked behind other
  // transactions, possibly for long) until it fails or finishes; stop it, so that what it left
  // can be judged and cleaned up now rather than change the database later behind the audit log.
  const std::string orphans =
      "FROM pg_catalog.pg_stat_activity WHERE pid <> pg_catalog.pg_backend_pid() AND "
      "application_name = 'optischema-agent' AND (pg_catalog.strpos(query, 'CREATE INDEX "
      "CONCURRENTLY \"' || $1) > 0 OR pg_catalog.strpos(query, 'DROP INDEX CONCURRENTLY ') > 0)";
  auto terminated =
      pg::QueryRows(*session_, "SELECT pg_catalog.pg_terminate_backend(pid)::text " + orphans,
                    {std::string(kIndexNamePrefix)});
  if (!terminated.ok()) return std::move(terminated).error();
  for (int waited = 0; !terminated->empty() && waited < 100; ++waited) {
    auto left = pg::QueryRows(*session_, "SELECT pid " + orphans, {std::string(kIndexNamePrefix)});
    if (!left.ok()) return std::move(left).error();
    if (left->empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // termination is asynchronous
  }
  auto invalid =
      pg::QueryRows(*session_,
                    "SELECT n.nspname, c.relname FROM pg_catalog.pg_index i JOIN "
                    "pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace "
                    "n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND "
                    "pg_catalog.starts_with(c.relname, $1)",
                    {std::string(kIndexNamePrefix)});
  if (!invalid.ok()) return std::move(invalid).error();
  for (const pg::Row& row : *invalid) {
    if (Status st = DropInvalidIndex(row[0].value_or(""), row[1].value_or("")); !st.ok()) {
      return std::move(st).error();
    }
    ++recovery.dropped;
  }
  // Taken but not started: nothing ran. The control plane may no longer serve it (it was told
  // `validated`), so it would wait for ever; it is closed as failed and a person may approve it
  // again.
  for (const std::string& id : audit_.Unstarted()) {
    const auto records = audit_.ForRecommendation(id);
    if (records.empty() || records.back().database != database_) continue;
    auto audited = Audit(id, "recovered",
                         "the agent stopped after taking this recommendation, before applying "
                         "it; nothing was changed");
    if (!audited.ok()) return std::move(audited).error();
    audited = Audit(id, "failed", "interrupted by an agent stop before it started; not applied");
    if (!audited.ok()) return std::move(audited).error();
    recovery.outcomes.emplace_back(id, ApplyOutcome{audited->step, audited->detail});
  }
  for (const std::string& id : audit_.InFlight()) {
    const auto records = audit_.ForRecommendation(id);
    if (records.empty() || records.back().database != database_) continue;
    const AuditRecord& started = records.back();
    constexpr std::string_view kDropIndex = "DROP INDEX CONCURRENTLY ";
    if (started.sql.starts_with(kDropIndex) || started.sql.starts_with("ALTER SYSTEM")) {
      auto outcome = ReconcileInterrupted(started, started.sql.starts_with(kDropIndex)
                                                       ? started.sql.substr(kDropIndex.size())
                                                       : std::string());
      if (!outcome.ok()) return std::move(outcome).error();
      recovery.outcomes.emplace_back(id, *outcome);
      continue;
    }
    // A build that completed just before the stop left a valid index under its name.
    auto complete =
        pg::QueryRows(*session_,
                      "SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid "
                      "= i.indexrelid WHERE c.relname = $1 AND i.indisvalid",
                      {IndexNameForRecommendation(id)});
    if (!complete.ok()) return std::move(complete).error();
    const bool applied = started.sql.starts_with("CREATE INDEX CONCURRENTLY") && !complete->empty();
    auto audited = Audit(id, "recovered",
                         applied ? "the agent stopped during this step; the index was found built "
                                   "and valid"
                                 : "the agent stopped during this step; interrupted index builds "
                                   "were dropped (" +
                                       std::to_string(recovery.dropped) + ")");
    if (!audited.ok()) return std::move(audited).error();
    audited = applied ? Audit(id, "applied", "completed before the stop", started.sql,
                              started.rollback_sql)
                      : Audit(id, "failed", "interrupted by an agent stop; not applied");
    if (!audited.ok()) return std::move(audited).error();
    recovery.outcomes.emplace_back(id, ApplyOutcome{audited->step, audited->detail});
  }
  return recovery;
}

}  // namespace optischema::applier
