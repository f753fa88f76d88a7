#pragma once

// Version-aware reading of pg_stat_statements: which columns exist in which extension version,
// the SQL the agent runs, and parsing of streamed rows without allocation.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "pg/pg_session.h"
#include "pg/stat_statements_extension.h"
#include "protocol/snapshot.h"

namespace optischema::collector {

// Identity of a pg_stat_statements entry.
struct StatementKey {
  uint32_t userid = 0;
  uint32_t dbid = 0;
  int64_t queryid = 0;
  bool toplevel = true;
  bool operator==(const StatementKey&) const = default;
};

// One entry as read: counters cumulative since the entry was created.
struct StatReading {
  StatementKey key;
  protocol::WindowCounters totals;
  double min_exec_time_ms = 0;
  double max_exec_time_ms = 0;
  double stddev_exec_time_ms = 0;
  double stats_since = 0;  // epoch seconds (extension 1.11+); 0 when the version has no such column
};

// Errors with kPermissionDenied (naming GRANT pg_monitor) when the connected role cannot see other
// roles' statements.
Status CheckStatsPrivilege(pg::PgSession& session);

class StatReader {
 public:
  explicit StatReader(pg::ExtensionInfo extension);

  // SELECT of the current database's entries, without text, in the column order ParseRow expects:
  // the counters every version has, then the extension version's extra counters.
  const std::string& StatsSql() const { return stats_sql_; }
  // SELECT userid, dbid, toplevel, queryid, query, self_queryid for the queryids in parameter $1
  // (see QueryIdArray). Reads the server's whole query-text file. The text is constant, so the
  // statement keeps one pg_stat_statements entry; self_queryid is that entry's queryid (taken from
  // pg_stat_activity, 1.9+; NULL before), so the agent can recognise it without reading its text.
  const std::string& TextSql() const { return text_sql_; }
  // Parameter $1 of TextSql: a bigint[] literal of the ids, or NULL (every entry) when empty.
  static std::optional<std::string> QueryIdArray(std::span<const int64_t> queryids);
  // SELECT dealloc, stats_reset; nullopt-returning query ("") before 1.9, which has no info view.
  const std::string& InfoSql() const { return info_sql_; }

  // Parses one row of StatsSql in binary send format, the extra counters into *extra (those the
  // version lacks are left zero). false when a field is missing, NULL where a value is required,
  // or of the wrong size.
  bool ParseRow(pg::RowFields fields, StatReading* out, protocol::ExtraCounters* extra) const;
  // Parses the key columns (first four, text format) of a TextSql row; the text is field 4.
  static bool ParseKey(pg::RowFields fields, StatementKey* out);

  const pg::ExtensionInfo& extension() const { return extension_; }
  // The extra counters StatsSql reads: those of the extension version.
  protocol::ExtraCounterMask extra_counters() const { return extra_counters_; }

 private:
  pg::ExtensionInfo extension_;
  protocol::ExtraCounterMask extra_counters_ = 0;
  std::string from_;  // schema-qualified function name
  std::string stats_sql_;
  std::string text_sql_;
  std::string info_sql_;
};

}  // namespace optischema::collector
