#include "collector/stat_reader.h"

#include <charconv>
#include <string>

#include "core/sql_identifier.h"

namespace optischema::collector {

namespace {

// Entries of the connected database only: a [[database]] entry is one database, and the other
// databases of the instance are reported by their own entries.
constexpr std::string_view kCurrentDbFilter =
    " WHERE dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = "
    "pg_catalog.current_database()) AND queryid IS NOT NULL";

template <class T>
bool ParseNumber(const std::optional<std::string_view>& field, T* out) {
  if (!field) {
    *out = T{};
    return true;  // NULL counters (e.g. no planning recorded) count as zero
  }
  const char* first = field->data();
  const char* last = first + field->size();
  auto [ptr, ec] = std::from_chars(first, last, *out);
  return ec == std::errc() && ptr == last;
}

bool ParseBool(const std::optional<std::string_view>& field, bool* out) {
  if (!field || field->empty()) return false;
  *out = (*field)[0] == 't';
  return true;
}

}  // namespace

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
  if (!res.ok()) return std::move(res).error();
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

Status CheckStatsPrivilege(PgSession& session) {
  auto res = session.Query(
      "SELECT r.rolname, r.rolsuper OR pg_catalog.pg_has_role(r.oid, 'pg_read_all_stats', "
      "'USAGE') FROM pg_catalog.pg_roles r WHERE r.rolname = current_user");
  if (!res.ok()) return std::move(res).error();
  if (res->rows.empty()) return MakeError(ErrorCode::kInternal, "current role not in pg_roles");
  const std::string role = res->rows[0][0].value_or("?");
  if (res->rows[0][1].value_or("f") != "t") {
    return MakeError(ErrorCode::kPermissionDenied,
                     "role \"" + role +
                         "\" cannot see other roles' statements in pg_stat_statements: run GRANT "
                         "pg_monitor TO " +
                         QuoteIdentifier(role) + "; (or GRANT pg_read_all_stats)",
                     "42501");
  }
  return OkStatus();
}

StatReader::StatReader(ExtensionInfo extension) : extension_(std::move(extension)) {
  const bool v19 = extension_.AtLeast(1, 9);
  const bool v111 = extension_.AtLeast(1, 11);
  const std::string schema = QuoteIdentifier(extension_.schema);
  from_ = schema + ".pg_stat_statements";

  // Column order is ParseRow's contract. 1.11 split block I/O time into shared and local.
  std::string sql = "SELECT userid, dbid, ";
  sql += v19 ? "toplevel" : "true";
  sql +=
      ", queryid, calls, total_exec_time, total_plan_time, rows, shared_blks_hit, "
      "shared_blks_read, shared_blks_dirtied, shared_blks_written, temp_blks_read, "
      "temp_blks_written, ";
  sql += v111 ? "shared_blk_read_time + local_blk_read_time, "
                "shared_blk_write_time + local_blk_write_time, "
              : "blk_read_time, blk_write_time, ";
  sql += "wal_records, wal_bytes::float8, min_exec_time, max_exec_time, stddev_exec_time, ";
  sql += v111 ? "extract(epoch FROM stats_since)::float8" : "0::float8";
  sql += " FROM " + from_ + "(false)";
  sql += kCurrentDbFilter;
  stats_sql_ = std::move(sql);

  std::string text = "SELECT userid, dbid, ";
  text += v19 ? "toplevel" : "true";
  text += ", queryid, query, ";
  text += v19 ? "(SELECT query_id FROM pg_catalog.pg_stat_activity WHERE pid = "
                "pg_catalog.pg_backend_pid())"
              : "NULL::bigint";
  text += " FROM " + from_ + "(true)";
  text += kCurrentDbFilter;
  text += " AND ($1::bigint[] IS NULL OR queryid = ANY($1::bigint[]))";
  text_sql_ = std::move(text);

  if (v19) {
    info_sql_ =
        "SELECT dealloc, to_char(stats_reset AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM " +
        schema + ".pg_stat_statements_info";
  }
}

std::optional<std::string> StatReader::QueryIdArray(std::span<const int64_t> queryids) {
  if (queryids.empty()) return std::nullopt;
  std::string out = "{";
  for (std::size_t i = 0; i < queryids.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += std::to_string(queryids[i]);
  }
  out.push_back('}');
  return out;
}

bool StatReader::ParseKey(RowFields f, StatementKey* out) {
  if (f.size() < 4) return false;
  return ParseNumber(f[0], &out->userid) && ParseNumber(f[1], &out->dbid) &&
         ParseBool(f[2], &out->toplevel) && f[3] && ParseNumber(f[3], &out->queryid);
}

bool StatReader::ParseRow(RowFields f, StatReading* out) {
  constexpr std::size_t kColumns = 22;
  if (f.size() != kColumns || !ParseKey(f, &out->key)) return false;
  auto& t = out->totals;
  return ParseNumber(f[4], &t.calls) && ParseNumber(f[5], &t.total_exec_time_ms) &&
         ParseNumber(f[6], &t.total_plan_time_ms) && ParseNumber(f[7], &t.rows) &&
         ParseNumber(f[8], &t.shared_blks_hit) && ParseNumber(f[9], &t.shared_blks_read) &&
         ParseNumber(f[10], &t.shared_blks_dirtied) && ParseNumber(f[11], &t.shared_blks_written) &&
         ParseNumber(f[12], &t.temp_blks_read) && ParseNumber(f[13], &t.temp_blks_written) &&
         ParseNumber(f[14], &t.blk_read_time_ms) && ParseNumber(f[15], &t.blk_write_time_ms) &&
         ParseNumber(f[16], &t.wal_records) && ParseNumber(f[17], &t.wal_bytes) &&
         ParseNumber(f[18], &out->min_exec_time_ms) && ParseNumber(f[19], &out->max_exec_time_ms) &&
         ParseNumber(f[20], &out->stddev_exec_time_ms) && ParseNumber(f[21], &out->stats_since);
}

}  // namespace optischema::collector
