#pragma once

// Planner estimates without running anything: the generic-plan cost of a SELECT with $n
// parameters, and hypothetical indexes (the hypopg extension) to see what an index would change.
// Each cost is taken inside a READ ONLY transaction with a statement timeout: the statement is
// PREPAREd under plan_cache_mode = force_generic_plan (through the extended protocol, so the text
// can only ever be one statement), EXPLAINed (never executed), then the transaction is rolled
// back and the prepared statement deallocated. Planning can still evaluate functions the
// statement calls (e.g. a STABLE function during selectivity estimation): callers plan only
// statements whose functions they trust (see the advisor). Hypothetical indexes live
// only in the session's memory; nothing is written to the database. Every statement carries the
// agent marker. Not thread-safe: one session, one thread.

#include <chrono>
#include <cstdint>
#include <string>

#include "collector/pg_session.h"
#include "core/result.h"

namespace optischema::applier {

inline constexpr std::chrono::milliseconds kDefaultPlanTimeout{5000};

// The planner's total cost of `select_sql` (a plain SELECT, see CheckPlainSelect; `parameters` is
// its number of $n) as a generic plan. Errors: those of PgSession (kQueryFailed with SQLSTATE when
// the statement cannot be planned, e.g. an unknown parameter type or a dropped table),
// kQueryFailed when EXPLAIN returned no cost.
Result<double> GenericPlanCost(collector::PgSession& session, const std::string& select_sql,
                               int parameters,
                               std::chrono::milliseconds timeout = kDefaultPlanTimeout);

// Whether the hypopg extension is installed in the connected database.
Result<bool> HypopgInstalled(collector::PgSession& session);

// Creates a hypothetical index from `create_index_sql` (CREATE INDEX without a name or
// CONCURRENTLY) and returns its estimated size in bytes (hypopg_relation_size). It is seen by the
// planner in this session until ResetHypotheticalIndexes.
Result<int64_t> CreateHypotheticalIndex(collector::PgSession& session,
                                        const std::string& create_index_sql);

// Removes every hypothetical index of the session.
Status ResetHypotheticalIndexes(collector::PgSession& session);

}  // namespace optischema::applier
