#include "collector/index_stats_reader.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <sstream>

#include "collector/statement_text.h"
#include "pg/query_rows.h"

namespace optischema::collector {
namespace {

// Relations of the user's schemas: not the catalogs, TOAST or other sessions' temporary schemas.
constexpr char kUserSchemas[] =
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' AND "
    "n.nspname !~ '^pg_temp_'";

// Columns, in order: 0 index oid, 1 schema, 2 table, 3 index, 4 method, 5 size, 6 scans,
// 7 valid, 8 ready, 9 unique, 10 primary, 11 backs a constraint, 12 partial, 13 indkey,
// 14 key columns, 15 opclasses, 16 collations, 17 options, 18 expressions, 19 predicate,
// 20 key column names (JSON array), 21 table oid, 22 table writes, 23 being built, 24 index
// maintaining writes, 25 relkind, 26 attached to a partitioned index.
const std::string& IndexSql() {
  static const std::string sql =
      "SELECT c.oid::text, n.nspname, t.relname, c.relname, am.amname, "
      "pg_catalog.pg_relation_size(c.oid)::text, coalesce(s.idx_scan, 0)::text, "
      "i.indisvalid::text, i.indisready::text, i.indisunique::text, i.indisprimary::text, "
      "EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = c.oid AND k.contype "
      "IN ('p', 'u', 'x'))::text, (i.indpred IS NOT NULL)::text, i.indkey::text, "
      "i.indnkeyatts::text, i.indclass::text, i.indcollation::text, i.indoption::text, "
      "coalesce(pg_catalog.pg_get_expr(i.indexprs, i.indrelid), ''), "
      "coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), ''), "
      "pg_catalog.to_json(ARRAY(SELECT CASE WHEN i.indkey[k - 1] = 0 THEN '(' || "
      "pg_catalog.pg_get_indexdef(c.oid, k, true) || ')' ELSE (SELECT a.attname::text FROM "
      "pg_catalog.pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]) "
      "END FROM pg_catalog.generate_series(1, i.indnkeyatts) AS k))::text, t.oid::text, "
      "coalesce(ts.n_tup_ins + ts.n_tup_upd + ts.n_tup_del, 0)::text, "
      "EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p WHERE p.index_relid = "
      "c.oid AND p.datid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = "
      "pg_catalog.current_database()))::text, "
      "coalesce(ts.n_tup_ins + ts.n_tup_upd - ts.n_tup_hot_upd, 0)::text, c.relkind::text, "
      "EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = c.oid)::text "
      "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
      "JOIN pg_catalog.pg_class t ON t.oid = i.indrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace "
      "JOIN pg_catalog.pg_am am ON am.oid = c.relam "
      "LEFT JOIN pg_catalog.pg_stat_all_indexes s ON s.indexrelid = c.oid "
      "LEFT JOIN pg_catalog.pg_stat_all_tables ts ON ts.relid = t.oid WHERE " +
      std::string(kUserSchemas) + " ORDER BY n.nspname, t.relname, c.relname";
  return sql;
}

// When the statistics began: the database's last reset, or the server start when never reset.
constexpr char kStatsSinceSql[] =
    "SELECT pg_catalog.to_char(coalesce(d.stats_reset, "
    "pg_catalog.pg_postmaster_start_time()) AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), extract(epoch FROM pg_catalog.now() - "
    "coalesce(d.stats_reset, pg_catalog.pg_postmaster_start_time()))::text, "
    "(d.stats_reset IS NULL)::text FROM pg_catalog.pg_stat_database d WHERE d.datname = "
    "pg_catalog.current_database()";

bool Flag(const std::optional<std::string>& text) { return text == "true"; }

std::vector<std::string> Words(const std::optional<std::string>& text) {
  std::vector<std::string> words;
  std::istringstream in(text.value_or(""));
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::vector<std::string> JsonStrings(const std::optional<std::string>& text) {
  std::vector<std::string> out;
  const nlohmann::json array =
      nlohmann::json::parse(text.value_or("[]"), nullptr, /*allow_exceptions=*/false);
  if (!array.is_array()) return out;
  for (const auto& element : array) {
    if (element.is_string()) out.push_back(element.get<std::string>());
  }
  return out;
}

IndexReading ParseIndexRow(const pg::Row& row) {
  IndexReading r;
  protocol::IndexStat& s = r.stat;
  r.oid = pg::NumberIn<uint32_t>(row[0]);
  s.schema = row[1].value_or("");
  s.table = row[2].value_or("");
  s.name = row[3].value_or("");
  s.method = row[4].value_or("");
  s.size_bytes = pg::NumberIn<int64_t>(row[5]);
  s.scans = pg::NumberIn<int64_t>(row[6]);
  s.valid = Flag(row[7]);
  s.ready = Flag(row[8]);
  s.unique = Flag(row[9]);
  s.primary = Flag(row[10]);
  s.backs_constraint = Flag(row[11]);
  s.partial = Flag(row[12]);
  const std::vector<std::string> attnums = Words(row[13]);
  const int key_columns = pg::NumberIn<int>(row[14]);
  const std::vector<std::string> opclasses = Words(row[15]);
  const std::vector<std::string> collations = Words(row[16]);
  const std::vector<std::string> options = Words(row[17]);
  for (int k = 0; k < key_columns; ++k) {
    const auto at = [k](const std::vector<std::string>& v) {
      return static_cast<std::size_t>(k) < v.size() ? v[static_cast<std::size_t>(k)] : "?";
    };
    r.key_signature.push_back(at(attnums) + "/" + at(opclasses) + "/" + at(collations) + "/" +
                              at(options));
  }
  r.include_columns = static_cast<int>(attnums.size()) - key_columns;
  r.expressions = row[18].value_or("");
  r.predicate = row[19].value_or("");
  for (std::string& column : JsonStrings(row[20])) {
    // An expression may hold literals: it leaves the agent anonymized, like statement texts.
    if (column.starts_with("(")) {
      column = AnonymizeFragment("SELECT ", column).value_or("(expression)");
    }
    s.columns.push_back(std::move(column));
  }
  r.table_oid = pg::NumberIn<uint32_t>(row[21]);
  r.table_writes = pg::NumberIn<int64_t>(row[22]);
  s.being_built = Flag(row[23]);
  r.index_writes = pg::NumberIn<int64_t>(row[24]);
  r.partitioned = row[25] == "I";
  r.attached = Flag(row[26]);
  return r;
}

}  // namespace

Result<IndexStatsReading> ReadIndexStats(pg::PgSession& session) {
  IndexStatsReading reading;
  auto since = pg::QueryRows(session, kStatsSinceSql);
  RETURN_IF_ERROR(since);
  if (!since->empty()) {
    const pg::Row& row = (*since)[0];
    reading.stats.stats_since = row[0].value_or("");
    reading.stats.stats_age_s = pg::NumberIn<double>(row[1]);
    reading.stats.stats_since_source = Flag(row[2]) ? "server_start" : "stats_reset";
  }
  auto rows = pg::QueryRows(session, IndexSql());
  RETURN_IF_ERROR(rows);
  reading.indexes.reserve(rows->size());
  for (const pg::Row& row : *rows) {
    if (row.size() < 27) continue;
    reading.indexes.push_back(ParseIndexRow(row));
  }
  return reading;
}

}  // namespace optischema::collector
