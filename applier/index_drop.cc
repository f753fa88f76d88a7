#include <string>
#include <string_view>
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

}  // namespace

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
  RETURN_IF_ERROR(index);
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
  RETURN_IF_ERROR(drift);
  if (*drift) return Rejected(**drift);
  std::string rollback = (*index)[0][0].value_or("");
  for (std::string_view form : {"CREATE UNIQUE INDEX ", "CREATE INDEX "}) {
    if (rollback.starts_with(form)) {
      rollback.insert(form.size(), "CONCURRENTLY ");
      break;
    }
  }
  const std::string sql = "DROP INDEX CONCURRENTLY " + Q(spec.schema) + "." + Q(spec.index);
  if (auto audited =
          Audit(rec.id, AuditStep::kStarted, "dropping index " + Q(spec.index), sql, rollback);
      !audited.ok()) {
    return std::move(audited).error();
  }
  if (Status dropped = RunWithLockRetries(sql, ""); !dropped.ok()) {
    const std::string detail = "DROP INDEX CONCURRENTLY failed: " + OneLine(dropped.error());
    if (auto audited = Audit(rec.id, AuditStep::kFailed, detail); !audited.ok()) {
      return std::move(audited).error();
    }
    return ApplyOutcome{protocol::LifecycleEvent::kFailed, detail};
  }
  if (auto audited =
          Audit(rec.id, AuditStep::kApplied, "index " + Q(spec.index) + " dropped", sql, rollback);
      !audited.ok()) {
    return std::move(audited).error();
  }
  return ApplyOutcome{protocol::LifecycleEvent::kApplied, "index " + spec.index + " dropped"};
}

}  // namespace optischema::applier
