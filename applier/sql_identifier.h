#pragma once

// Quoting of SQL identifiers for statements the applier builds itself from structured
// recommendations. No text received from the network is ever executed as received.

#include <string>
#include <string_view>

namespace optischema::applier {

// Always-quoted identifier: "name" with embedded quotes doubled. Refuses (returns empty) a name
// that is empty, longer than 63 bytes (PostgreSQL would silently truncate it), or contains NUL.
std::string QuoteIdentifier(std::string_view name);

}  // namespace optischema::applier
