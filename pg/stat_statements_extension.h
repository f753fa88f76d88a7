#pragma once

// Where pg_stat_statements lives in the connected database and which version it is: the collector
// picks its columns by that version, the applier reads the affected statements' figures from that
// schema.

#include <string>
#include <string_view>

#include "core/result.h"
#include "pg/pg_session.h"

namespace optischema::pg {

struct ExtensionInfo {
  std::string version;  // pg_extension.extversion, e.g. "1.10"
  int major = 0;
  int minor = 0;
  std::string schema;  // where the extension's functions live
  bool AtLeast(int maj, int min) const { return major > maj || (major == maj && minor >= min); }
};

// Parses "1.10" into major/minor. false when malformed.
bool ParseExtensionVersion(std::string_view text, int* major, int* minor);

// Finds pg_stat_statements in the connected database. Errors: kExtensionMissing (names CREATE
// EXTENSION and shared_preload_libraries), kUnsupportedVersion (older than 1.8, names the fix).
Result<ExtensionInfo> DetectExtension(PgSession& session, std::string_view database_name);

}  // namespace optischema::pg
