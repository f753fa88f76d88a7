#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "applier/executor.h"
#include "applier/executor_support.h"
#include "applier/index_name.h"
#include "pg/plan_probe.h"
#include "pg/plan_safety.h"
#include "pg/query_rows.h"

namespace optischema::applier {
namespace {

using executor_support::OneLine;
using executor_support::Q;
using executor_support::Rejected;

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

}  // namespace

Result<ApplyOutcome> Executor::CreateIndex(const CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  const auto& spec = std::get<protocol::CreateIndexSpec>(rec.spec);
  const std::string name = IndexNameForRecommendation(rec.id);
  const std::string relation = Q(spec.schema) + "." + Q(spec.table);

  auto standby = pg::QueryRows(*session_, "SELECT pg_catalog.pg_is_in_recovery()::text", {});
  RETURN_IF_ERROR(standby);
  if (!standby->empty() && (*standby)[0][0] == "true") {
    return Rejected("the database is a standby (read-only replica); apply on the primary");
  }
  auto table =
      pg::QueryRows(*session_,
                    "SELECT c.oid::text, c.relkind::text FROM pg_catalog.pg_class c JOIN "
                    "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND "
                    "c.relname = $2",
                    {spec.schema, spec.table});
  RETURN_IF_ERROR(table);
  if (table->empty()) return Rejected("table does not exist: " + relation);
  const std::string oid = (*table)[0][0].value_or("");
  const std::string relkind = (*table)[0][1].value_or("");
  if (relkind == "p") {
    return Rejected("partitioned tables are not supported yet: propose the index per partition");
  }
  if (relkind != "r" && relkind != "m") return Rejected(relation + " is not a table");
  auto drift = SchemaDrift(rec, {spec.schema, spec.table});
  RETURN_IF_ERROR(drift);
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
  RETURN_IF_ERROR(columns);
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
  RETURN_IF_ERROR(indexes);
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
      if (auto audited = Audit(rec.id, AuditStep::kNoop, detail); !audited.ok()) {
        return std::move(audited).error();
      }
      return ApplyOutcome{protocol::LifecycleEvent::kApplied, detail, /*noop=*/true};
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
    RETURN_IF_ERROR(saving);
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
          Audit(rec.id, AuditStep::kStarted, "building index " + Q(name) + estimate, sql, rollback);
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
      if (auto audited = Audit(rec.id, AuditStep::kApplied, "index " + Q(name) + " built and valid",
                               sql, rollback);
          !audited.ok()) {
        return std::move(audited).error();
      }
      return ApplyOutcome{protocol::LifecycleEvent::kApplied, "index " + name + " built and valid"};
    }
    built = MakeError(ErrorCode::kQueryFailed, "the index was left INVALID");
  }
  const Status cleaned = DropInvalidIndex(spec.schema, name);
  std::string detail =
      "CREATE INDEX CONCURRENTLY failed: " + OneLine(built.error()) +
      (cleaned.ok() ? "; no INVALID index left behind"
                    : "; dropping the INVALID index failed too: " + OneLine(cleaned.error()));
  if (auto audited = Audit(rec.id, AuditStep::kFailed, detail); !audited.ok()) {
    return std::move(audited).error();
  }
  return ApplyOutcome{protocol::LifecycleEvent::kFailed, detail};
}

Result<std::optional<double>> Executor::HypotheticalSavingPct(
    const std::string& index_sql, const std::vector<int64_t>& queryids) {
  auto hypopg = pg::HypopgSchema(*session_);
  RETURN_IF_ERROR(hypopg);
  if (!*hypopg) return std::optional<double>();
  auto view = StatementsView();
  RETURN_IF_ERROR(view);
  std::vector<pg::ProvenStatement> statements;
  for (int64_t queryid : queryids) {
    auto text = pg::QueryRows(*session_,
                              "SELECT query FROM " + *view +
                                  " WHERE queryid = $1::bigint AND dbid = (SELECT oid FROM "
                                  "pg_catalog.pg_database WHERE datname = "
                                  "pg_catalog.current_database()) LIMIT 1",
                              {std::to_string(queryid)});
    RETURN_IF_ERROR(text);
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
  RETURN_IF_ERROR(created);
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

}  // namespace optischema::applier
