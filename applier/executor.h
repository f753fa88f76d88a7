#pragma once

// Executor: runs checked recommendations against one database, over a session opened in
// SessionMode::kApply, recording every step in the audit log before its effect is reported.
//
// create_index: preconditions (not a standby; the table exists and is not partitioned; every
//   column named, included or used by the predicate exists; no equivalent valid index, which
//   makes it a no-op), then CREATE INDEX CONCURRENTLY with the deterministic name
//   IndexNameForRecommendation(id), never inside a transaction. A lock timeout (the session's
//   lock_timeout, 5 s) is retried (ExecutorOptions) with a growing pause; any failure
//   leaves no INVALID index behind (it is dropped concurrently). Rollback: DROP INDEX
//   CONCURRENTLY of that name.
// drop_index: refuses an index that backs a constraint; records pg_get_indexdef (made
//   CONCURRENTLY) as the rollback; DROP INDEX CONCURRENTLY.
// Other kinds are refused as not supported by this version (reported as rejected).
//
// Not thread-safe: one executor per database, driven by one thread.

#include <chrono>
#include <memory>
#include <string>

#include "applier/audit_log.h"
#include "applier/recommendation_check.h"
#include "collector/pg_session.h"
#include "core/result.h"

namespace optischema::applier {

struct ExecutorOptions {
  int lock_attempts = 5;                       // tries of a statement that hits the lock timeout
  std::chrono::milliseconds lock_pause{1000};  // pause after the n-th lock timeout: n times this
};

struct ApplyOutcome {
  // The lifecycle event to report: "applied", "failed" or "rejected" (precondition refused;
  // nothing ran). A no-op (equivalent index present) is "applied" with a detail saying so.
  std::string event;
  std::string detail;
};

class Executor {
 public:
  // `session` must be opened with SessionMode::kApply; `audit` must outlive the executor.
  Executor(std::unique_ptr<collector::PgSession> session, AuditLog& audit, std::string database,
           ExecutorOptions options = {});

  // Applies `checked` (already verified). The audit log gets started/applied/failed/noop/rejected
  // records. Only an audit write failure is an error (kIo): the step was then not run.
  Result<ApplyOutcome> Apply(const CheckedRecommendation& checked);

  // Undoes an applied recommendation with the rollback SQL of its `applied` record; audits
  // rolled_back or rollback_failed. Errors: kInvalidArgument when the recommendation has no
  // applied change in place, kQueryFailed (and a rollback_failed record) when the rollback fails.
  Status Rollback(const std::string& recommendation_id);

  // Drops every INVALID index whose name starts with kIndexNamePrefix (left by a build that was
  // interrupted, e.g. the agent killed mid-build) and audits each as `recovered` for the
  // recommendations found in flight. Returns how many were dropped.
  Result<int> CleanUpInterruptedBuilds();

 private:
  Result<ApplyOutcome> CreateIndex(const CheckedRecommendation& checked);
  Result<ApplyOutcome> DropIndex(const CheckedRecommendation& checked);
  // Runs `sql`, retrying a lock timeout; before each retry `cleanup` runs (if not empty).
  Status RunWithLockRetries(const std::string& sql, const std::string& cleanup);
  Status DropInvalidIndex(const std::string& schema, const std::string& name);
  Result<AuditRecord> Audit(const std::string& id, const std::string& step, std::string detail,
                            std::string sql = {}, std::string rollback_sql = {});

  std::unique_ptr<collector::PgSession> session_;
  AuditLog& audit_;
  std::string database_;
  ExecutorOptions options_;
};

}  // namespace optischema::applier
