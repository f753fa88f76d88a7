#pragma once

// JSON of protocol::Activity (activity.h): the snapshot's `activity` member, also printed by
// `optischema-agent collect --dry-run` and `advise`. Every field name of the activity wire format
// is written here and only here.

#include <string>

#include "protocol/activity.h"
#include "protocol/json_writer.h"

namespace optischema::protocol {

// Writes the activity object as the next value of `w`.
void WriteActivity(JsonWriter& w, const Activity& activity);

// The same, compact, as a document of its own.
std::string ActivityToJson(const Activity& activity);

}  // namespace optischema::protocol
