#include "collector/stat_reader.h"

#include <bit>
#include <charconv>
#include <string>

#include "pg/sql_identifier.h"

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

Status CheckStatsPrivilege(pg::PgSession& session) {
  auto res = session.Query(
      "SELECT r.rolname, r.rolsuper OR pg_catalog.pg_has_role(r.oid, 'pg_read_all_stats', "
      "'USAGE') FROM pg_catalog.pg_roles r WHERE r.rolname = current_user");
  RETURN_IF_ERROR(res);
  if (res->rows.empty()) return MakeError(ErrorCode::kInternal, "current role not in pg_roles");
  const std::string role = res->rows[0][0].value_or("?");
  if (res->rows[0][1].value_or("f") != "t") {
    return MakeError(ErrorCode::kPermissionDenied,
                     "role \"" + role +
                         "\" cannot see other roles' statements in pg_stat_statements: run GRANT "
                         "pg_monitor TO " +
                         pg::QuoteIdentifier(role) + "; (or GRANT pg_read_all_stats)",
                     "42501");
  }
  return OkStatus();
}

// Columns of StatsSql before the extra counters.
constexpr std::size_t kBaseColumns = 22;

StatReader::StatReader(pg::ExtensionInfo extension)
    : extension_(std::move(extension)),
      extra_counters_(protocol::ExtraCountersOfVersion(extension_.major, extension_.minor)) {
  const bool v19 = extension_.AtLeast(1, 9);
  const bool v111 = extension_.AtLeast(1, 11);
  const std::string schema = pg::QuoteIdentifier(extension_.schema);
  from_ = schema + ".pg_stat_statements";

  // Column order and types are ParseRow's contract: every column is cast to oid, bool, int8 or
  // float8 so the binary COPY format is fixed. 1.11 split block I/O time into shared and local.
  std::string sql = "SELECT userid::oid, dbid::oid, ";
  sql += v19 ? "toplevel" : "true";
  sql +=
      ", queryid::int8, calls::int8, total_exec_time::float8, total_plan_time::float8, "
      "rows::int8, shared_blks_hit::int8, shared_blks_read::int8, shared_blks_dirtied::int8, "
      "shared_blks_written::int8, temp_blks_read::int8, temp_blks_written::int8, ";
  sql += v111 ? "(shared_blk_read_time + local_blk_read_time)::float8, "
                "(shared_blk_write_time + local_blk_write_time)::float8, "
              : "blk_read_time::float8, blk_write_time::float8, ";
  sql +=
      "wal_records::int8, wal_bytes::float8, min_exec_time::float8, max_exec_time::float8, "
      "stddev_exec_time::float8, ";
  sql += v111 ? "extract(epoch FROM stats_since)::float8" : "0::float8";
  for (std::size_t i = 0; i < protocol::kExtraCounterCount; ++i) {
    if (!protocol::HasExtraCounter(extra_counters_, i)) continue;
    const protocol::ExtraCounterSpec& c = protocol::kExtraCounters[i];
    sql += ", ";
    sql += c.column;
    sql += c.integer ? "::int8" : "::float8";
  }
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

bool StatReader::ParseKey(pg::RowFields f, StatementKey* out) {
  if (f.size() < 4) return false;
  return ParseNumber(f[0], &out->userid) && ParseNumber(f[1], &out->dbid) &&
         ParseBool(f[2], &out->toplevel) && f[3] && ParseNumber(f[3], &out->queryid);
}

namespace {

// Binary send format readers. A field of the wrong size (or NULL where a value is required) makes
// the row malformed.
bool ReadBinary(const std::optional<std::string_view>& f, uint64_t* out, std::size_t size) {
  if (!f || f->size() != size) return false;
  uint64_t v = 0;
  for (unsigned char c : *f) v = (v << 8) | c;
  *out = v;
  return true;
}
bool ReadOid(const std::optional<std::string_view>& f, uint32_t* out) {
  uint64_t v = 0;
  if (!ReadBinary(f, &v, 4)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}
bool ReadBool(const std::optional<std::string_view>& f, bool* out) {
  uint64_t v = 0;
  if (!ReadBinary(f, &v, 1)) return false;
  *out = v != 0;
  return true;
}
// NULL counters (e.g. no planning recorded) count as zero.
bool ReadInt8(const std::optional<std::string_view>& f, int64_t* out) {
  uint64_t v = 0;
  if (f && !ReadBinary(f, &v, 8)) return false;
  *out = static_cast<int64_t>(v);
  return true;
}
bool ReadFloat8(const std::optional<std::string_view>& f, double* out) {
  uint64_t v = 0;
  if (f && !ReadBinary(f, &v, 8)) return false;
  *out = std::bit_cast<double>(v);
  return true;
}

}  // namespace

bool StatReader::ParseRow(pg::RowFields f, StatReading* out,
                          protocol::ExtraCounters* extra) const {
  const std::size_t columns = kBaseColumns + static_cast<std::size_t>(std::popcount(extra_counters_));
  if (f.size() != columns || !f[3]) return false;  // queryid NULL: insufficient privilege
  std::size_t column = kBaseColumns;
  for (std::size_t i = 0; i < protocol::kExtraCounterCount; ++i) {
    if (!protocol::HasExtraCounter(extra_counters_, i)) {
      (*extra)[i] = 0;
      continue;
    }
    if (protocol::kExtraCounters[i].integer) {
      int64_t count = 0;
      if (!ReadInt8(f[column], &count)) return false;
      (*extra)[i] = static_cast<double>(count);
    } else if (!ReadFloat8(f[column], &(*extra)[i])) {
      return false;
    }
    ++column;
  }
  auto& t = out->totals;
  auto& k = out->key;
  return ReadOid(f[0], &k.userid) && ReadOid(f[1], &k.dbid) && ReadBool(f[2], &k.toplevel) &&
         ReadInt8(f[3], &k.queryid) && ReadInt8(f[4], &t.calls) &&
         ReadFloat8(f[5], &t.total_exec_time_ms) && ReadFloat8(f[6], &t.total_plan_time_ms) &&
         ReadInt8(f[7], &t.rows) && ReadInt8(f[8], &t.shared_blks_hit) &&
         ReadInt8(f[9], &t.shared_blks_read) && ReadInt8(f[10], &t.shared_blks_dirtied) &&
         ReadInt8(f[11], &t.shared_blks_written) && ReadInt8(f[12], &t.temp_blks_read) &&
         ReadInt8(f[13], &t.temp_blks_written) && ReadFloat8(f[14], &t.blk_read_time_ms) &&
         ReadFloat8(f[15], &t.blk_write_time_ms) && ReadInt8(f[16], &t.wal_records) &&
         ReadFloat8(f[17], &t.wal_bytes) && ReadFloat8(f[18], &out->min_exec_time_ms) &&
         ReadFloat8(f[19], &out->max_exec_time_ms) &&
         ReadFloat8(f[20], &out->stddev_exec_time_ms) && ReadFloat8(f[21], &out->stats_since);
}

}  // namespace optischema::collector
