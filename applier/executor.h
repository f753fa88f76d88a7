#pragma once

// Executor: runs checked recommendations against one database, over a session opened in
// SessionMode::kApply, recording every step in the audit log before its effect is reported.
// Its member functions are defined by kind: executor.cc (dispatch, audit, lock retries, what the
// kinds share), index_build.cc, index_drop.cc, setting_change.cc, query_rewrite.cc,
// table_options_change.cc, table_analyze.cc (with table_target.cc, what the two share), guard.cc
// and crash_recovery.cc.
//
// create_index and drop_index with a table_digest: refused ("schema changed since the
//   recommendation was made") when the table's digest (keyed with ExecutorOptions::digest_key)
//   differs now, or when there is no key, before anything else runs.
// create_index (index_build.cc): preconditions (not a standby; the table exists and is not
//   partitioned; every column named, included or used by the predicate exists and has a built-in
//   or enum type; no equivalent valid index, which makes it a no-op), the HypoPG estimate
//   (ExecutorOptions::min_index_saving_pct), then CREATE INDEX CONCURRENTLY with the
//   deterministic name IndexNameForRecommendation(id), never inside a transaction. A lock timeout
//   (the session's lock_timeout, 5 s) is retried (ExecutorOptions) with a growing pause; any
//   failure leaves no INVALID index behind (it is dropped concurrently).
//   Rollback: DROP INDEX CONCURRENTLY of that name.
// drop_index (index_drop.cc): refuses an index that backs a constraint, is unique, is the table's
//   replica identity or belongs to a partitioned table's index; records pg_get_indexdef (made
//   CONCURRENTLY) as the rollback; DROP INDEX CONCURRENTLY.
// set_config (setting_change.cc): the setting must be on the allow-list (checked before, in
//   CheckRecommendation), exist in pg_settings and be changeable (not `internal`), and the role
//   must hold every privilege the steps need (MissingSetConfigPrivileges; refused otherwise,
//   before anything changes); enum and bool values must be among the allowed ones and plain
//   numbers within min/max (PostgreSQL checks the rest); the previous state is recorded (the value
//   ALTER SYSTEM had set, or none); ALTER SYSTEM SET, then pg_reload_conf(); a failed reload undoes
//   the ALTER SYSTEM (the recorded rollback), so the change is `failed` with nothing left behind.
//   A postmaster setting is applied with a detail saying it is pending a restart. Rollback: ALTER
//   SYSTEM SET to the old value or RESET, then reload.
// set_table_options (table_options_change.cc): every option name and value is checked again
//   against protocol/table_options_allow_list.h and the value rendered again from the number or
//   bool read. The relation must be a table or materialized view outside the system schemas
//   (a partitioned table takes no autovacuum options: refused), the role must own it (or be a
//   member of its owner role), and toast.* options need a TOAST table; refused otherwise, before
//   anything changes. The previous value of every option named (pg_class.reloptions of the table,
//   or of its TOAST table for toast.*), or that it was unset, is recorded in the started and
//   applied records (detail, and the rollback). Options that already read as the values asked
//   make it a no-op. ALTER TABLE ... SET (...) under a 1 min statement timeout, lock timeouts
//   retried. Rollback: one ALTER TABLE that SETs each option back to its exact previous text and
//   RESETs those that were unset (PostgreSQL appends the options an ALTER TABLE sets, so the
//   entries of reloptions may come back in another order; their names and values are the same).
// analyze_table (table_analyze.cc): the relation must be found as above and the role must own it
//   (or, on PostgreSQL 17+, hold MAINTAIN on it). ANALYZE runs index expressions, partial-index
//   predicates, expression statistics, the column types' analyze functions and index access
//   methods' cleanup, so a table (or any partition or inheritance child of it) with an expression
//   or partial index, extended statistics on expressions, a column of a type that is neither
//   built in nor an enum, or a table or index access method that is not built in is refused,
//   nothing run. ANALYZE under a 10 min statement timeout, lock timeouts retried. Rollback is
//   refused (kInvalidArgument): statistics are not kept, the next ANALYZE replaces them.
// rewrite (query_rewrite.cc): nothing is changed. Both texts must parse (libpg_query) as one
//   plain SELECT, the original must be a statement of this database (a pg_stat_statements entry
//   has its fingerprint), and the rewritten may read only relations the original reads; each is
//   planned with a generic plan (PREPARE under plan_cache_mode = force_generic_plan, then EXPLAIN
//   EXECUTE with NULL parameters) inside a READ ONLY transaction with a 5 s statement timeout, and
//   the two estimated costs are reported (event `verified`, audit `verify_passed`).
//
// Guard (guard.cc, applier/guard.h): Measure() reads the affected statements' cumulative calls and
// execution time from pg_stat_statements; the caller compares a reading at apply time with one
// after the guard's window (JudgeGuard).
//
// Not thread-safe: one executor per database, driven by one thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "applier/audit_log.h"
#include "applier/guard.h"
#include "applier/recommendation_check.h"
#include "core/result.h"
#include "pg/pg_session.h"
#include "pg/table_schema.h"
#include "protocol/recommendation.h"

namespace optischema::applier {

struct ExecutorOptions {
  // create_index with affected queryids, when the database has the hypopg extension: the
  // estimated saving (generic-plan cost of the affected SELECTs without vs with a hypothetical
  // index) must reach this many percent, unless the spec says skip_hypopg_check. 0: no check.
  int min_index_saving_pct = 10;
  int lock_attempts = 5;                       // tries of a statement that hits the lock timeout
  std::chrono::milliseconds lock_pause{1000};  // pause after the n-th lock timeout: n times this
  // The agent's table digest key; none: a recommendation carrying a table_digest is refused.
  std::optional<pg::DigestKey> digest_key;
};

struct ApplyOutcome {
  // The lifecycle event to report: kApplied, kFailed or kRejected (precondition refused; nothing
  // ran); kVerified for a rewrite.
  protocol::LifecycleEvent event = protocol::LifecycleEvent::kFailed;
  std::string detail;
  // kApplied only: the change was already in place (an equivalent valid index exists), so
  // nothing ran; audited `noop`, and the detail says so.
  bool noop = false;
};

// For a set_config of `setting`: empty when the role may run every step (ALTER SYSTEM on the
// setting, pg_reload_conf(), reading pg_file_settings), else the refusal with the GRANTs that
// fix it. Read-only. kQueryFailed when the privileges cannot be read.
Result<std::string> MissingSetConfigPrivileges(pg::PgSession& session, const std::string& setting);
// The statements (without ';') that grant what MissingSetConfigPrivileges finds missing; before
// PostgreSQL 15 the one entry "ALTER ROLE <role> SUPERUSER" (not advice: the fact).
Result<std::vector<std::string>> MissingSetConfigGrants(pg::PgSession& session,
                                                        const std::string& setting);

class Executor {
 public:
  // `session` must be opened with SessionMode::kApply; `audit` must outlive the executor.
  Executor(std::unique_ptr<pg::PgSession> session, AuditLog& audit, std::string database,
           ExecutorOptions options = {});

  // `listener` is called with the recommendation id and the step's detail once a `started` record
  // is in the audit log, right before the change runs: never for a change a precondition refuses,
  // a no-op, or a rewrite (which changes nothing).
  using StartedListener = std::function<void(const std::string& id, const std::string& detail)>;
  void OnStarted(StartedListener listener) { on_started_ = std::move(listener); }

  // Applies `checked` (already verified). The audit log gets started/applied/failed/noop/rejected
  // records. Only an audit write failure is an error (kIo): the step was then not run.
  Result<ApplyOutcome> Apply(const CheckedRecommendation& checked);

  // Undoes an applied recommendation with the rollback SQL of its `applied` record; audits
  // rolled_back or rollback_failed. Errors: kInvalidArgument when the recommendation has no
  // applied change in place, or is an analyze_table ("analyze_table changes nothing that can be
  // rolled back"; nothing is audited), kQueryFailed (and a rollback_failed record) when the
  // rollback fails.
  Status Rollback(const std::string& recommendation_id);

  // Crash recovery, run at start-up: terminates index builds and drops of the agent's own earlier
  // sessions that still run on the server (their client is gone), drops every INVALID index whose
  // name starts with kIndexNamePrefix, and audits each recommendation found in flight as
  // `recovered`, then `applied` or `failed`: create_index is applied when its index was found
  // complete; drop_index when the index was found gone, or INVALID (the drop had begun: it is
  // completed); set_config and set_table_options are never applied: the previous setting or
  // options are restored; analyze_table is `failed` (statistics need no undoing). A
  // recommendation taken (`received`, `verified`) but not started is audited `recovered` and
  // `failed`.
  struct Recovery {
    int dropped = 0;
    std::vector<std::pair<std::string, ApplyOutcome>> outcomes;  // recommendation id, outcome
  };
  Result<Recovery> CleanUpInterruptedBuilds();

  // The affected statements' figures now. kQueryFailed when pg_stat_statements cannot be read.
  Result<StatementFigures> Measure(const std::vector<int64_t>& queryids);
  // The figures of the statements whose normalized text is exactly `text` (a rewrite's target).
  Result<StatementFigures> MeasureText(const std::string& text);

 private:
  // Shared by the kinds (executor.cc).
  // Appends the step's record; once a `started` record is in, calls the OnStarted listener.
  Result<AuditRecord> Audit(const std::string& id, AuditStep step, std::string detail,
                            std::string sql = {}, std::string rollback_sql = {});
  // Runs `sql`, retrying a lock timeout; before each retry `cleanup` runs (if not empty).
  Status RunWithLockRetries(const std::string& sql, const std::string& cleanup);
  // Drops schema.name concurrently when it is an INVALID index; nothing when it is not one.
  Status DropInvalidIndex(const std::string& schema, const std::string& name);
  // The refusal reason when `rec` carries a table_digest that differs from `table`'s digest now
  // (pg/table_schema.h) or the digest key is missing; nullopt when it carries none or the
  // table is unchanged.
  Result<std::optional<std::string>> SchemaDrift(const protocol::Recommendation& rec,
                                                 const pg::TableName& table);
  // `"schema".pg_stat_statements` of the connected database.
  Result<std::string> StatementsView();
  // Whether some statement of this database in pg_stat_statements has the fingerprint of `text`.
  Result<bool> Observed(const std::string& text);

  // index_build.cc
  Result<ApplyOutcome> CreateIndex(const CheckedRecommendation& checked);
  // The estimated saving, in percent, of `index_sql` (a CREATE INDEX without name or
  // CONCURRENTLY) for the affected SELECT statements, from HypoPG; nullopt when there is nothing
  // to estimate (no hypopg extension, no affected SELECT with a known text).
  Result<std::optional<double>> HypotheticalSavingPct(const std::string& index_sql,
                                                      const std::vector<int64_t>& queryids);

  // index_drop.cc
  Result<ApplyOutcome> DropIndex(const CheckedRecommendation& checked);

  // setting_change.cc
  Result<ApplyOutcome> SetConfig(const CheckedRecommendation& checked);

  // query_rewrite.cc
  Result<ApplyOutcome> Rewrite(const CheckedRecommendation& checked);

  // table_options_change.cc
  Result<ApplyOutcome> SetTableOptions(const CheckedRecommendation& checked);

  // table_analyze.cc
  Result<ApplyOutcome> AnalyzeTable(const CheckedRecommendation& checked);

  // guard.cc
  // Sums calls and execution time over the pg_stat_statements rows matching `condition` (a fixed
  // WHERE condition with one parameter, $1 = `parameter`).
  Result<StatementFigures> SumFigures(std::string_view condition, const std::string& parameter);

  // crash_recovery.cc
  // The in-flight drop_index (`dropped_index`: its quoted qualified name), set_config,
  // set_table_options or analyze_table (empty) whose `started` record is `started`, judged and
  // audited after a crash.
  Result<ApplyOutcome> ReconcileInterrupted(const AuditRecord& started,
                                            const std::string& dropped_index);

  std::unique_ptr<pg::PgSession> session_;
  AuditLog& audit_;
  std::string database_;
  ExecutorOptions options_;
  StartedListener on_started_;
};

}  // namespace optischema::applier
