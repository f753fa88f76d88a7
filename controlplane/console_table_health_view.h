#pragma once

// The console's view of the advice members `table_health` and `vacuum_findings`
// (docs/protocol-v1.md, protocol/advice.h): each table's tuples, vacuum and analyze ages,
// transaction id age against autovacuum_freeze_max_age and sizes, tables with findings first;
// and the findings with their reasons. Read as stored: missing or mistyped members read as
// absent (json_members.h); every text is escaped.
//
// Pure functions; thread-safe.

#include <string>

#include <nlohmann/json.hpp>

namespace optischema::controlplane {

// "Table health" (section id "table-health"), or "" when the advice has no table_health.
std::string RenderTableHealth(const nlohmann::json& advice);

// "Vacuum findings" (section id "vacuum-findings"), or "" when the advice has no such member.
std::string RenderVacuumFindings(const nlohmann::json& advice);

}  // namespace optischema::controlplane
