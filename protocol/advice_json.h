#pragma once

// JSON of protocol::Advice (advice.h): the members a snapshot carrying advice has, and the
// document `optischema-agent advise --format json` prints. Every field name of the advice wire
// format is written here and only here.

#include <string>

#include "protocol/advice.h"
#include "protocol/json_writer.h"

namespace optischema::protocol {

// Writes index_stats, indexes, index_findings, schema (when present), proposals, advisor,
// table_health, vacuum_findings and plans as members of the object `w` is inside.
void WriteAdviceMembers(JsonWriter& w, const Advice& advice);

// {"database": database, <the members above>}, compact.
std::string AdviceToJson(const std::string& database, const Advice& advice);

}  // namespace optischema::protocol
