#include "pg/stat_statements_extension.h"

#include <charconv>
#include <string>

namespace optischema::pg {

bool ParseExtensionVersion(std::string_view text, int* major, int* minor) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return false;
  auto a = std::from_chars(text.data(), text.data() + dot, *major);
  auto b = std::from_chars(text.data() + dot + 1, text.data() + text.size(), *minor);
  return a.ec == std::errc() && a.ptr == text.data() + dot && b.ec == std::errc() &&
         b.ptr == text.data() + text.size();
}

Result<ExtensionInfo> DetectExtension(PgSession& session, std::string_view database_name) {
  auto res = session.Query(
      "SELECT e.extversion, n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace "
      "n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'");
  RETURN_IF_ERROR(res);
  if (res->rows.empty()) {
    return MakeError(
        ErrorCode::kExtensionMissing,
        "pg_stat_statements is not installed in database \"" + std::string(database_name) +
            "\": run CREATE EXTENSION pg_stat_statements; in that database. The server must "
            "also load it: shared_preload_libraries = 'pg_stat_statements' in postgresql.conf, "
            "then restart PostgreSQL");
  }
  ExtensionInfo info;
  info.version = res->rows[0][0].value_or("");
  info.schema = res->rows[0][1].value_or("public");
  if (!ParseExtensionVersion(info.version, &info.major, &info.minor)) {
    return MakeError(ErrorCode::kUnsupportedVersion,
                     "cannot understand pg_stat_statements version \"" + info.version + "\"");
  }
  if (!info.AtLeast(1, 8)) {
    return MakeError(ErrorCode::kUnsupportedVersion,
                     "pg_stat_statements " + info.version +
                         " is too old: the agent needs 1.8 or newer (PostgreSQL 13+). Run ALTER "
                         "EXTENSION pg_stat_statements UPDATE; and, on PostgreSQL 12 or older, "
                         "upgrade the server");
  }
  return info;
}

}  // namespace optischema::pg
