#pragma once

// Planner estimates without running anything: the generic plan of a SELECT with $n parameters,
// and hypothetical indexes (the hypopg extension) to see what an index would change. Each plan is
// taken inside a READ ONLY transaction with a statement timeout and the search_path pinned to
// pg_catalog, EXPLAINed (never executed), then the transaction is rolled back:
// - PostgreSQL 16+: `EXPLAIN (GENERIC_PLAN)` of the text, for a text without any ';' byte (one
//   statement to any SQL lexer, whatever the server's settings);
// - otherwise (13–15, or a ';' inside a literal): the statement is PREPAREd under plan_cache_mode
//   = force_generic_plan through the extended protocol (so the text can only ever be one
//   statement), EXPLAIN EXECUTEd, and deallocated.
// Planning evaluates functions the statement calls (a STABLE function during selectivity
// estimation, say), so only a ProvenStatement can be planned (plan_safety.h). A planning error is
// reported by its SQLSTATE and the agent's own words only: the server's message about a statement
// the agent did not write may quote a value or a row. Hypothetical indexes live only in the
// session's memory; nothing is written to the database. Every statement carries the agent
// marker. Not thread-safe: one session, one thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"
#include "pg/pg_session.h"
#include "pg/plan_safety.h"

namespace optischema::pg {

inline constexpr std::chrono::milliseconds kDefaultPlanTimeout{5000};

// Whether GenericPlanJson takes `EXPLAIN (GENERIC_PLAN)` rather than the PREPARE path.
bool UsesExplainGenericPlan(int server_version_num, const ProvenStatement& statement);

// The generic plan of `statement` as EXPLAIN's JSON. Errors as GenericPlanCost's.
Result<std::string> GenericPlanJson(PgSession& session, const ProvenStatement& statement,
                                    std::chrono::milliseconds timeout = kDefaultPlanTimeout);

// The planner's total cost of `statement` as a generic plan. Errors: kConnectionLost as in
// PgSession; kQueryFailed with the SQLSTATE when the statement cannot be planned (an unknown
// parameter type, a dropped table, the timeout: 57014), its message the agent's own; kQueryFailed
// when EXPLAIN returned no cost.
Result<double> GenericPlanCost(PgSession& session, const ProvenStatement& statement,
                               std::chrono::milliseconds timeout = kDefaultPlanTimeout);

// The schema of the hypopg extension in the connected database; nullopt when it is not installed.
Result<std::optional<std::string>> HypopgSchema(PgSession& session);

// Creates a hypothetical index from `create_index_sql` (CREATE INDEX without a name or
// CONCURRENTLY, every name in it schema-qualified) with the functions of hypopg in `hypopg_schema`
// and returns its estimated size in bytes (hypopg_relation_size). It is seen by the planner in
// this session until ResetHypotheticalIndexes.
Result<int64_t> CreateHypotheticalIndex(PgSession& session, const std::string& hypopg_schema,
                                        const std::string& create_index_sql);

// Removes every hypothetical index of the session.
Status ResetHypotheticalIndexes(PgSession& session, const std::string& hypopg_schema);

}  // namespace optischema::pg
