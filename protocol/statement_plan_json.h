#pragma once

// JSON of the statement plans (statement_plan.h): the `plans` member of the advice. Every field
// name of a statement plan on the wire is written here (a node's keys are statement_plan.h's).

#include <string>
#include <vector>

#include "protocol/json_writer.h"
#include "protocol/statement_plan.h"

namespace optischema::protocol {

// Writes the node as an object, its children under kPlanChildrenKey.
void WritePlanNode(JsonWriter& w, const PlanNode& node);

// The node's compact JSON (what kMaxPlanBytes bounds).
std::string PlanNodeToJson(const PlanNode& node);

// Writes `plans` as the member "plans" of the object `w` is inside:
//   [{queryid, fingerprint, previous_fingerprint|null, total_cost, truncated, plan?}]
void WriteStatementPlans(JsonWriter& w, const std::vector<StatementPlan>& plans);

}  // namespace optischema::protocol
