#pragma once

// Validation of the `plans` member of a snapshot carrying advice (protocol/statement_plan.h):
// at most protocol::kMaxStatementPlans entries, each with queryid (a decimal 64-bit integer in a
// string), fingerprint and previous_fingerprint (16 lowercase hex digits; the previous one may be
// null), total_cost (a non-negative number), truncated (a boolean, optional) and plan (optional):
// a tree of nodes at most protocol::kMaxPlanDepth deep whose keys are only those of the plan
// allow-lists, each of its type (labels strings, estimates numbers, flags booleans, expressions a
// string, null or a list of them, "Plans" a list of nodes), and whose JSON is at most
// kMaxPlanBytes (with an eighth more for number formats that differ between JSON writers).
// Failures are kInvalidArgument naming the field. Pure function; thread-safe.

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace optischema::controlplane {

// `plans` is the member's value (the caller checked it is an array).
Status CheckStatementPlans(const nlohmann::json& plans);

}  // namespace optischema::controlplane
