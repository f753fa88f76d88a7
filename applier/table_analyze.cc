#include <string>
#include <utility>
#include <variant>

#include "applier/executor.h"
#include "applier/executor_support.h"
#include "pg/query_rows.h"

namespace optischema::applier {
namespace {

using executor_support::OneLine;
using executor_support::Q;
using executor_support::Rejected;

// The relations ANALYZE of the table $1 reads: the table and every partition or inheritance
// child below it (ANALYZE of a parent samples its children and analyzes each partition).
constexpr char kTree[] =
    "WITH RECURSIVE tree(relid) AS (SELECT $1::oid UNION SELECT h.inhrelid FROM "
    "pg_catalog.pg_inherits h JOIN tree ON h.inhparent = tree.relid) ";

}  // namespace

Result<ApplyOutcome> Executor::AnalyzeTable(const CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  const auto& spec = std::get<protocol::AnalyzeTableSpec>(rec.spec);
  const std::string relation = Q(spec.schema) + "." + Q(spec.table);

  auto target = executor_support::FindTargetTable(*session_, spec.schema, spec.table);
  RETURN_IF_ERROR(target);
  if (!target->refusal.empty()) return Rejected(target->refusal);
  if (!target->owned && !target->maintain) {
    return Rejected("the role neither owns " + relation + " nor is a member of its owner role" +
                    (session_->ServerVersionNum() >= 170000 ? " nor holds MAINTAIN on it" : "") +
                    ", so it may not ANALYZE it; nothing was run");
  }

  // ANALYZE evaluates index expressions and partial-index predicates over the sampled rows,
  // computes expression statistics, and calls each column type's analyze and comparison
  // functions, and each index access method's cleanup: all of it must be built-in code, or
  // ANALYZE would run what a database user wrote in the agent's session.
  const bool expression_statistics = session_->ServerVersionNum() >= 140000;
  auto code = pg::QueryRows(
      *session_,
      std::string(kTree) +
          "SELECT EXISTS (SELECT 1 FROM tree JOIN pg_catalog.pg_index i ON i.indrelid = "
          "tree.relid WHERE i.indexprs IS NOT NULL OR i.indpred IS NOT NULL)::text, EXISTS "
          "(SELECT 1 FROM tree JOIN pg_catalog.pg_attribute a ON a.attrelid = tree.relid JOIN "
          "pg_catalog.pg_type t ON t.oid = a.atttypid WHERE a.attnum > 0 AND NOT a.attisdropped "
          "AND NOT (a.atttypid < 16384 OR t.typtype = 'e'))::text, " +
          (expression_statistics
               ? std::string("EXISTS (SELECT 1 FROM tree JOIN pg_catalog.pg_statistic_ext s ON "
                             "s.stxrelid = tree.relid WHERE s.stxexprs IS NOT NULL)::text")
               : std::string("'false'")) +
          ", EXISTS (SELECT 1 FROM tree JOIN pg_catalog.pg_class c ON c.oid = tree.relid WHERE "
          "c.relam >= 16384 OR EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN "
          "pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid AND "
          "ic.relam >= 16384))::text",
      {target->oid});
  RETURN_IF_ERROR(code);
  const pg::Row& found = (*code)[0];
  const std::string why =
      " ANALYZE would run code a database user wrote, so the agent does not "
      "run it; nothing was run";
  if (found[0] == "true") {
    return Rejected(relation +
                    " (or a partition or child of it) has an expression or partial "
                    "index:" +
                    why);
  }
  if (found[1] == "true") {
    return Rejected(relation +
                    " (or a partition or child of it) has a column whose type is "
                    "neither built in nor an enum:" +
                    why);
  }
  if (found[2] == "true") {
    return Rejected(relation +
                    " (or a partition or child of it) has extended statistics on "
                    "expressions:" +
                    why);
  }
  if (found[3] == "true") {
    return Rejected(relation +
                    " (or a partition or child of it) uses a table or index access "
                    "method that is not built in:" +
                    why);
  }

  const std::string sql = "ANALYZE " + relation;
  if (auto audited = Audit(rec.id, AuditStep::kStarted, "analyzing " + relation, sql);
      !audited.ok()) {
    return std::move(audited).error();
  }
  if (Status analyzed = RunWithLockRetries(
          executor_support::WithStatementTimeout(sql, executor_support::kAnalyzeTimeout), "");
      !analyzed.ok()) {
    const std::string detail = "ANALYZE failed: " + OneLine(analyzed.error());
    if (auto audited = Audit(rec.id, AuditStep::kFailed, detail); !audited.ok()) {
      return std::move(audited).error();
    }
    return ApplyOutcome{protocol::LifecycleEvent::kFailed, detail};
  }
  const std::string detail = "analyzed " + relation + "; the statistics were replaced";
  if (auto audited = Audit(rec.id, AuditStep::kApplied, detail, sql); !audited.ok()) {
    return std::move(audited).error();
  }
  return ApplyOutcome{protocol::LifecycleEvent::kApplied, detail};
}

}  // namespace optischema::applier
