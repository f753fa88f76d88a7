#pragma once

// Human-readable views of the top statements' plans (`optischema-agent advise`): the list of
// planned statements with their fingerprints, and one statement's plan as an indented tree
// (`advise --plan QUERYID`): each node's type, relation or index, costs, rows and anonymized
// conditions.

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/advice.h"

namespace optischema::cli {

// "planned statements:" with one row per plan: queryid, fingerprint, whether it changed since the
// previous run, total cost. "" when there is none.
std::string FormatPlannedStatements(const std::vector<protocol::StatementPlan>& plans);

// The plan as an indented tree as psql prints plans, one line per node and one more per
// condition; "(not shown)" for a condition that could not be anonymized.
std::string FormatPlanTree(const protocol::PlanNode& plan);

// `advise --plan QUERYID` for one database: the statement's plan entry, or null when it has none
// in `advice` (then PlanNotFound says why).
const protocol::StatementPlan* FindPlan(const protocol::Advice& advice, int64_t queryid);
// A header line (database, queryid, fingerprint, cost) and the tree.
std::string FormatStatementPlan(const std::string& database, const protocol::StatementPlan& plan);
// {"database": database, "plans": [plan]}, compact.
std::string StatementPlanJson(const std::string& database, const protocol::StatementPlan& plan);
// Why `queryid` has no plan in `advice`: its skip reason, or that it is not a planned top one.
std::string PlanNotFound(const std::string& database, const protocol::Advice& advice,
                         int64_t queryid);

}  // namespace optischema::cli
