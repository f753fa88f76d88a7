#pragma once

// Quoting of SQL identifiers for statements the agent builds itself (catalog schemas, and later the
// applier's DDL from structured recommendations). Network text is never executed as received.

#include <string>
#include <string_view>

namespace optischema::pg {

// Always-quoted identifier: "name" with embedded quotes doubled. Refuses (returns empty) a name
// that is empty, longer than 63 bytes (PostgreSQL would silently truncate it), or contains NUL.
std::string QuoteIdentifier(std::string_view name);

// String literal 'text' with embedded single quotes doubled. Backslashes stay as they are, so the
// session must run with standard_conforming_strings = on (the default; the applier's sessions
// set it).
std::string QuoteLiteral(std::string_view text);

}  // namespace optischema::pg
