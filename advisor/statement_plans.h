#pragma once

// The plans of the top statements: for each of the statements the index proposer considers (the
// `max_statements` with the most total execution time, top_statements.h) that is a plain SELECT
// reading only tables of `schema` (others are passed over, as the proposer does), the generic plan (pg::GenericPlanJson, under the proof of pg::ProveSafeToPlan: a statement it
// refuses, or that cannot be planned, is listed as skipped with the reason), kept as a
// protocol::PlanNode tree:
// - only the keys of statement_plan.h's allow-lists are kept, every other key is dropped;
// - every expression string (Filter, Index Cond, Sort Key items...) may hold constants of a view,
//   a column default, a partition bound or a CHECK constraint, so it goes through the collector's
//   fragment anonymizer (collector::AnonymizeFragment) and is null when that fails;
// - "Schema" is set to the relation's schema, read from the catalog for the statement's relations
//   and their partitions and inheritance children, when exactly one of them has that name;
// - a plan past protocol::kMaxPlanDepth or kMaxPlanBytes is cut (CutPlan) and marked truncated.
// Its fingerprint (PlanFingerprint) follows the plan's shape, not its estimates. A plan is sent
// when its fingerprint is new or changed, and every plan again when the advisor sends its full
// schema (kFullSchemaEvery); otherwise the statement is listed with its fingerprint alone.
// Nothing is written to the database. Not thread-safe: one session, one thread.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "advisor/index_proposer.h"
#include "core/result.h"
#include "pg/pg_session.h"
#include "protocol/advice.h"
#include "protocol/statement_plan.h"

namespace optischema::advisor {

// Relation name -> its schema, for the names only one schema holds among a statement's relations.
using RelationSchemas = std::map<std::string, std::string>;

// The anonymized tree of EXPLAIN (FORMAT JSON) output (`[{"Plan": {...}}]`). kInvalidArgument
// when `explain_json` is not such a document. Never returns an expression as it was written.
Result<protocol::PlanNode> AnonymizePlan(std::string_view explain_json,
                                         const RelationSchemas& schemas);

// 16 lowercase hex digits: SHA-256 over each node's depth, Node Type, Join Type, schema-qualified
// Relation Name and Index Name, in tree order (a node, then its children). Costs, rows, widths
// and expressions do not count.
std::string PlanFingerprint(const protocol::PlanNode& plan);

// Cuts `plan` to the bounds: children of the nodes at kMaxPlanDepth are dropped, then, while its
// JSON passes `max_bytes`, the nodes last in breadth-first order (a root whose expressions alone
// pass it loses their text). true when anything was cut.
bool CutPlan(protocol::PlanNode& plan, std::size_t max_bytes = protocol::kMaxPlanBytes);

struct PlannedStatement {
  int64_t queryid = 0;
  std::string fingerprint;  // of the plan before it was cut
  protocol::PlanNode plan;
  bool truncated = false;
  double total_cost = 0;
};

struct StatementPlansResult {
  std::vector<int64_t> top;  // every top statement read, planned or not
  std::vector<PlannedStatement> planned;
  std::vector<protocol::SkippedStatement> skipped;
};

// Plans the top statements within `options.budget` (those left when it runs out are not planned
// this run), each with `options.explain_timeout`.
// Errors: kConnectionLost, and a failure reading pg_stat_statements; a single statement's failure
// is only `skipped`.
Result<StatementPlansResult> PlanTopStatements(pg::PgSession& session,
                                               const std::vector<protocol::TableSchema>& schema,
                                               const ProposerOptions& options);

// What to send, given the fingerprints sent last (`last_sent`, by queryid): every planned
// statement with its fingerprint and the last one sent, and its plan when the fingerprint is new
// or changed or `resend_all`. `remembered` is the next `last_sent`: this run's fingerprints, and
// the last sent of the top statements not planned this run.
struct PlanDelivery {
  std::vector<protocol::StatementPlan> plans;
  std::map<int64_t, std::string> remembered;
};
PlanDelivery DeliverPlans(const StatementPlansResult& result,
                          const std::map<int64_t, std::string>& last_sent, bool resend_all);

// The advisor's step: plans the top statements and adds the plans to send and the skipped
// statements (each once, whoever skipped it first) to `advice`; returns the next `last_sent`.
// A failure short of a lost connection is a note, and `last_sent` is kept. Errors: kConnectionLost.
Result<std::map<int64_t, std::string>> AddStatementPlans(
    pg::PgSession& session, const std::vector<protocol::TableSchema>& schema,
    const ProposerOptions& options, const std::map<int64_t, std::string>& last_sent,
    bool resend_all, protocol::Advice& advice);

}  // namespace optischema::advisor
