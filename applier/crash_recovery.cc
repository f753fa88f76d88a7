#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "applier/executor.h"
#include "applier/executor_support.h"
#include "applier/index_name.h"
#include "pg/query_rows.h"

namespace optischema::applier {
namespace {

using executor_support::OneLine;
using executor_support::Reload;
using executor_support::WithStatementTimeout;

constexpr std::string_view kAlterTable = "ALTER TABLE ";
constexpr std::string_view kAnalyze = "ANALYZE ";

// The event reporting the `applied` or `failed` record that settles an interrupted change.
ApplyOutcome SettledOutcome(const AuditRecord& settled) {
  return {settled.step == AuditStep::kApplied ? protocol::LifecycleEvent::kApplied
                                              : protocol::LifecycleEvent::kFailed,
          settled.detail};
}

}  // namespace

Status Executor::Rollback(const std::string& recommendation_id) {
  if (!audit_.Applied(recommendation_id)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "recommendation " + recommendation_id + " has no applied change to undo");
  }
  std::string rollback;
  bool analyzed = false;
  for (const AuditRecord& record : audit_.ForRecommendation(recommendation_id)) {
    if (record.step == AuditStep::kApplied) {
      rollback = record.rollback_sql;
      analyzed = record.sql.starts_with(kAnalyze);
    }
    if (record.step == AuditStep::kNoop) rollback.clear();
  }
  if (analyzed) {
    // New statistics replace the old ones, which are not kept; the next ANALYZE (autovacuum's
    // included) replaces them again.
    return MakeError(ErrorCode::kInvalidArgument,
                     "analyze_table changes nothing that can be rolled back");
  }
  if (rollback.empty()) {
    auto audited =
        Audit(recommendation_id, AuditStep::kRolledBack, "nothing to undo: it was a no-op");
    RETURN_IF_ERROR(audited);
    return OkStatus();
  }
  Status undone = RunWithLockRetries(
      rollback.starts_with(kAlterTable)
          ? WithStatementTimeout(rollback, executor_support::kTableOptionsTimeout)
          : rollback,
      "");
  if (undone.ok() && rollback.starts_with("ALTER SYSTEM")) {
    undone = Reload(*session_);
  }
  auto audited =
      Audit(recommendation_id, undone.ok() ? AuditStep::kRolledBack : AuditStep::kRollbackFailed,
            undone.ok() ? "rolled back" : OneLine(undone.error()), rollback);
  RETURN_IF_ERROR(audited);
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
    RETURN_IF_ERROR(state);
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
  } else if (started.sql.starts_with(kAnalyze)) {
    // ANALYZE replaces the statistics as a whole when it commits, or not at all; either way
    // there is nothing to undo, and it is not reported applied.
    found = "ANALYZE may or may not have completed; statistics need no undoing";
  } else if (started.sql.starts_with(kAlterTable)) {
    // As for ALTER SYSTEM below: put the options back as they were.
    Status restored = RunWithLockRetries(
        WithStatementTimeout(started.rollback_sql, executor_support::kTableOptionsTimeout), "");
    RETURN_IF_ERROR(restored);
    found = "the previous table options were restored";
  } else {
    // Whether ALTER SYSTEM ran cannot be told from a value set by hand: restore the previous
    // state (the recorded rollback), so the setting is what it was and the change is not applied.
    Status restored = RunWithLockRetries(started.rollback_sql, "");
    if (restored.ok()) restored = Reload(*session_);
    RETURN_IF_ERROR(restored);
    found = "the previous setting was restored";
  }
  auto audited = Audit(id, AuditStep::kRecovered, "the agent stopped during this step; " + found);
  RETURN_IF_ERROR(audited);
  audited = applied ? Audit(id, AuditStep::kApplied, "completed before the stop or at recovery",
                            started.sql, started.rollback_sql)
                    : Audit(id, AuditStep::kFailed, "interrupted by an agent stop; not applied");
  RETURN_IF_ERROR(audited);
  return SettledOutcome(*audited);
}

Result<Executor::Recovery> Executor::CleanUpInterruptedBuilds() {
  Recovery recovery;
  // A build, drop, ALTER TABLE or ANALYZE whose agent died goes on in its server session
  // (blocked behind other transactions, possibly for long) until it fails or finishes; stop it, so
  // that what it left can be judged and cleaned up now rather than change the database later
  // behind the audit log.
  const std::string orphans =
      "FROM pg_catalog.pg_stat_activity WHERE pid <> pg_catalog.pg_backend_pid() AND "
      "application_name = 'optischema-agent' AND (pg_catalog.strpos(query, $1) > 0 OR "
      "pg_catalog.strpos(query, $2) > 0 OR pg_catalog.strpos(query, $3) > 0 OR "
      "pg_catalog.strpos(query, $4) > 0)";
  // The texts as the session sent them, marked (pg/agent_marker.h).
  const std::vector<std::optional<std::string>> params = {
      pg::MarkStatement("CREATE INDEX CONCURRENTLY \"" + std::string(kIndexNamePrefix)),
      pg::MarkStatement("DROP INDEX CONCURRENTLY "),
      pg::MarkStatement(WithStatementTimeout(kAlterTable, executor_support::kTableOptionsTimeout)),
      pg::MarkStatement(WithStatementTimeout(kAnalyze, executor_support::kAnalyzeTimeout))};
  auto terminated =
      pg::QueryRows(*session_, "SELECT pg_catalog.pg_terminate_backend(pid)::text " + orphans,
                    params);
  RETURN_IF_ERROR(terminated);
  for (int waited = 0; !terminated->empty() && waited < 100; ++waited) {
    auto left = pg::QueryRows(*session_, "SELECT pid " + orphans, params);
    RETURN_IF_ERROR(left);
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
  RETURN_IF_ERROR(invalid);
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
    auto audited = Audit(id, AuditStep::kRecovered,
                         "the agent stopped after taking this recommendation, before applying "
                         "it; nothing was changed");
    RETURN_IF_ERROR(audited);
    audited = Audit(id, AuditStep::kFailed,
                    "interrupted by an agent stop before it started; not applied");
    RETURN_IF_ERROR(audited);
    recovery.outcomes.emplace_back(id, SettledOutcome(*audited));
  }
  for (const std::string& id : audit_.InFlight()) {
    const auto records = audit_.ForRecommendation(id);
    if (records.empty() || records.back().database != database_) continue;
    const AuditRecord& started = records.back();
    constexpr std::string_view kDropIndex = "DROP INDEX CONCURRENTLY ";
    if (started.sql.starts_with(kDropIndex) || started.sql.starts_with("ALTER SYSTEM") ||
        started.sql.starts_with(kAlterTable) || started.sql.starts_with(kAnalyze)) {
      auto outcome = ReconcileInterrupted(started, started.sql.starts_with(kDropIndex)
                                                       ? started.sql.substr(kDropIndex.size())
                                                       : std::string());
      RETURN_IF_ERROR(outcome);
      recovery.outcomes.emplace_back(id, *outcome);
      continue;
    }
    // A build that completed just before the stop left a valid index under its name.
    auto complete =
        pg::QueryRows(*session_,
                      "SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid "
                      "= i.indexrelid WHERE c.relname = $1 AND i.indisvalid",
                      {IndexNameForRecommendation(id)});
    RETURN_IF_ERROR(complete);
    const bool applied = started.sql.starts_with("CREATE INDEX CONCURRENTLY") && !complete->empty();
    auto audited = Audit(id, AuditStep::kRecovered,
                         applied ? "the agent stopped during this step; the index was found built "
                                   "and valid"
                                 : "the agent stopped during this step; interrupted index builds "
                                   "were dropped (" +
                                       std::to_string(recovery.dropped) + ")");
    RETURN_IF_ERROR(audited);
    audited = applied ? Audit(id, AuditStep::kApplied, "completed before the stop", started.sql,
                              started.rollback_sql)
                      : Audit(id, AuditStep::kFailed, "interrupted by an agent stop; not applied");
    RETURN_IF_ERROR(audited);
    recovery.outcomes.emplace_back(id, SettledOutcome(*audited));
  }
  return recovery;
}

}  // namespace optischema::applier
