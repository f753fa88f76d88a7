#include "advisor/table_health_reader.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "pg/query_rows.h"
#include "protocol/table_options_allow_list.h"

namespace optischema::advisor {
namespace {

constexpr char kSettingsSql[] =
    "SELECT s.name, s.setting FROM pg_catalog.pg_settings s WHERE s.name OPERATOR(pg_catalog.=) "
    "ANY (ARRAY['autovacuum', 'autovacuum_vacuum_threshold', 'autovacuum_vacuum_scale_factor', "
    "'autovacuum_analyze_threshold', 'autovacuum_analyze_scale_factor', "
    "'autovacuum_freeze_max_age', 'autovacuum_multixact_freeze_max_age']::pg_catalog.text[])";

// Columns, in order: 0 oid, 1 schema, 2 name, 3 reltuples, 4 n_live_tup, 5 n_dead_tup,
// 6 n_mod_since_analyze, 7 n_ins_since_vacuum, 8-11 seconds since last_vacuum, last_autovacuum,
// last_analyze, last_autoanalyze, 12 vacuum_count, 13 autovacuum_count, 14 table size,
// 15 TOAST size, 16 age(relfrozenxid), 17 mxid_age(relminmxid), 18 reloptions (JSON array),
// 19 the TOAST table's reloptions (JSON array), 20 how many user tables there are.
// $1: kMaxTablesPerOrder.
constexpr char kTablesSql[] =
    "WITH t AS (SELECT c.oid, n.nspname, c.relname, c.reltuples, c.reloptions, c.reltoastrelid, "
    "c.relfrozenxid, c.relminmxid, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, "
    "s.n_ins_since_vacuum, s.last_vacuum, s.last_autovacuum, s.last_analyze, "
    "s.last_autoanalyze, s.vacuum_count, s.autovacuum_count "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
    "LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid OPERATOR(pg_catalog.=) c.oid "
    "WHERE c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'm']::pg_catalog.\"char\"[]) "
    "AND n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', "
    "'information_schema']::pg_catalog.name[]) "
    "AND n.nspname OPERATOR(pg_catalog.!~) '^pg_toast' "
    "AND n.nspname OPERATOR(pg_catalog.!~) '^pg_temp_'), "
    "picked AS ((SELECT t.oid FROM t ORDER BY t.n_dead_tup DESC NULLS LAST, t.oid LIMIT "
    "$1::pg_catalog.int8) UNION (SELECT t.oid FROM t ORDER BY pg_catalog.age(t.relfrozenxid) "
    "DESC, t.oid LIMIT $1::pg_catalog.int8)) "
    "SELECT t.oid::pg_catalog.text, t.nspname, t.relname, t.reltuples::pg_catalog.text, "
    "coalesce(t.n_live_tup, 0)::pg_catalog.text, coalesce(t.n_dead_tup, 0)::pg_catalog.text, "
    "coalesce(t.n_mod_since_analyze, 0)::pg_catalog.text, "
    "coalesce(t.n_ins_since_vacuum, 0)::pg_catalog.text, "
    "pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) t.last_vacuum)"
    "::pg_catalog.text, "
    "pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) t.last_autovacuum)"
    "::pg_catalog.text, "
    "pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) t.last_analyze)"
    "::pg_catalog.text, "
    "pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) t.last_autoanalyze)"
    "::pg_catalog.text, "
    "coalesce(t.vacuum_count, 0)::pg_catalog.text, "
    "coalesce(t.autovacuum_count, 0)::pg_catalog.text, "
    "coalesce(pg_catalog.pg_table_size(t.oid), 0)::pg_catalog.text, "
    "CASE WHEN t.reltoastrelid OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN '0' ELSE "
    "coalesce(pg_catalog.pg_relation_size(t.reltoastrelid), 0)::pg_catalog.text END, "
    "pg_catalog.age(t.relfrozenxid)::pg_catalog.text, "
    "pg_catalog.mxid_age(t.relminmxid)::pg_catalog.text, "
    "pg_catalog.array_to_json(t.reloptions)::pg_catalog.text, "
    "pg_catalog.array_to_json((SELECT x.reloptions FROM pg_catalog.pg_class x WHERE x.oid "
    "OPERATOR(pg_catalog.=) t.reltoastrelid))::pg_catalog.text, "
    "(SELECT pg_catalog.count(*) FROM t)::pg_catalog.text "
    "FROM t WHERE t.oid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT p.oid FROM picked p)) "
    "ORDER BY t.nspname, t.relname";

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The boolean spellings PostgreSQL accepts in full, as "true" or "false".
std::optional<std::string> BooleanValue(std::string_view value) {
  const std::string v = Lower(value);
  if (v == "true" || v == "on" || v == "yes" || v == "t" || v == "y" || v == "1") return "true";
  if (v == "false" || v == "off" || v == "no" || v == "f" || v == "n" || v == "0") return "false";
  return std::nullopt;
}

std::optional<double> AgeSeconds(const std::optional<std::string>& field) {
  if (!field) return std::nullopt;
  return std::max(0.0, pg::NumberIn<double>(field));
}

void AddOptions(const std::optional<std::string>& json_array, std::string_view prefix,
                std::map<std::string, std::string>& options) {
  if (!json_array) return;
  const nlohmann::json array = nlohmann::json::parse(*json_array, nullptr, false);
  if (!array.is_array()) return;
  for (const nlohmann::json& element : array) {
    if (element.is_string()) AddTableOption(element.get_ref<const std::string&>(), prefix, options);
  }
}

void ApplySetting(protocol::AutovacuumSettings& s, const std::string& name,
                  const std::optional<std::string>& value) {
  if (!value) return;
  if (name == "autovacuum") {
    s.autovacuum = *value == "on";
  } else if (name == "autovacuum_vacuum_threshold") {
    s.vacuum_threshold = pg::NumberIn<int64_t>(value);
  } else if (name == "autovacuum_vacuum_scale_factor") {
    s.vacuum_scale_factor = pg::NumberIn<double>(value);
  } else if (name == "autovacuum_analyze_threshold") {
    s.analyze_threshold = pg::NumberIn<int64_t>(value);
  } else if (name == "autovacuum_analyze_scale_factor") {
    s.analyze_scale_factor = pg::NumberIn<double>(value);
  } else if (name == "autovacuum_freeze_max_age") {
    s.freeze_max_age = pg::NumberIn<int64_t>(value);
  } else if (name == "autovacuum_multixact_freeze_max_age") {
    s.multixact_freeze_max_age = pg::NumberIn<int64_t>(value);
  }
}

TableHealthReading ParseTableRow(const pg::Row& row) {
  TableHealthReading r;
  protocol::TableHealth& t = r.health;
  r.oid = pg::NumberIn<uint32_t>(row[0]);
  t.schema = row[1].value_or("");
  t.name = row[2].value_or("");
  t.reltuples = row[3] ? pg::NumberIn<double>(row[3]) : -1;
  t.live_tuples = pg::NumberIn<int64_t>(row[4]);
  t.dead_tuples = pg::NumberIn<int64_t>(row[5]);
  t.mod_since_analyze = pg::NumberIn<int64_t>(row[6]);
  t.ins_since_vacuum = pg::NumberIn<int64_t>(row[7]);
  t.last_vacuum_age_s = AgeSeconds(row[8]);
  t.last_autovacuum_age_s = AgeSeconds(row[9]);
  t.last_analyze_age_s = AgeSeconds(row[10]);
  t.last_autoanalyze_age_s = AgeSeconds(row[11]);
  t.vacuum_count = pg::NumberIn<int64_t>(row[12]);
  t.autovacuum_count = pg::NumberIn<int64_t>(row[13]);
  t.table_bytes = pg::NumberIn<int64_t>(row[14]);
  t.toast_bytes = pg::NumberIn<int64_t>(row[15]);
  t.xid_age = pg::NumberIn<int64_t>(row[16]);
  t.mxid_age = pg::NumberIn<int64_t>(row[17]);
  AddOptions(row[18], "", t.options);
  AddOptions(row[19], "toast.", t.options);
  return r;
}

}  // namespace

void AddTableOption(std::string_view element, std::string_view prefix,
                    std::map<std::string, std::string>& options) {
  const std::size_t equals = element.find('=');
  if (equals == std::string_view::npos) return;
  const std::string name = std::string(prefix) + std::string(element.substr(0, equals));
  const std::optional<protocol::TableOptionName> option = protocol::FindTableOption(name);
  if (!option) return;
  std::string_view value = element.substr(equals + 1);
  std::optional<std::string> boolean;
  if (option->rule->type == protocol::TableOptionType::kBool) {
    boolean = BooleanValue(value);
    if (!boolean) return;
    value = *boolean;
  }
  Result<std::string> canonical = protocol::CanonicalTableOptionValue(*option->rule, value);
  if (canonical.ok()) options[name] = *std::move(canonical);
}

Result<TableHealthReadings> ReadTableHealth(pg::PgSession& session) {
  TableHealthReadings readings;
  auto settings = pg::QueryRows(session, kSettingsSql);
  RETURN_IF_ERROR(settings);
  for (const pg::Row& row : *settings) {
    if (row.size() >= 2 && row[0]) ApplySetting(readings.settings, *row[0], row[1]);
  }
  auto rows = pg::QueryRows(session, kTablesSql, {std::to_string(kMaxTablesPerOrder)});
  RETURN_IF_ERROR(rows);
  int64_t total = 0;
  readings.tables.reserve(rows->size());
  for (const pg::Row& row : *rows) {
    if (row.size() < 21) continue;
    total = pg::NumberIn<int64_t>(row[20]);
    readings.tables.push_back(ParseTableRow(row));
  }
  readings.tables_omitted =
      std::max<int64_t>(0, total - static_cast<int64_t>(readings.tables.size()));
  return readings;
}

}  // namespace optischema::advisor
