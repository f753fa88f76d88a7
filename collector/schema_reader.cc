#include "collector/schema_reader.h"

#include <openssl/evp.h>

#include <array>
#include <map>

#include "collector/query_rows.h"
#include "collector/statement_text.h"

namespace optischema::collector {
namespace {

constexpr char kNotShown[] = "(not shown)";

// The relations read, restricted to one table when $1 and $2 are given.
constexpr char kRelationFilter[] =
    " c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND "
    "n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_' AND ($1::text IS NULL OR (n.nspname = "
    "$1 AND c.relname = $2)) ";

std::string Sql(const char* select, const char* from_where, const char* order) {
  return std::string("SELECT ") + select + " FROM " + from_where + kRelationFilter + order;
}

const char* KindName(const std::string& relkind) {
  if (relkind == "p") return "partitioned_table";
  if (relkind == "m") return "materialized_view";
  return "table";
}

// First 16 bytes of SHA-256, as 32 lower-case hex digits.
std::string Digest(const std::string& text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    return std::string(32, '0');
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16 && i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4U]);
    out.push_back(kHex[digest[i] & 0xFU]);
  }
  return out;
}

struct RawTable {
  protocol::TableSchema table;
  std::string canonical;  // what the digest covers
};

}  // namespace

Result<std::vector<protocol::TableSchema>> ReadSchema(PgSession& session,
                                                      const std::optional<TableName>& only) {
  const std::vector<std::optional<std::string>> params =
      only ? std::vector<std::optional<std::string>>{only->schema, only->name}
           : std::vector<std::optional<std::string>>{std::nullopt, std::nullopt};
  auto tables = QueryRows(session,
                          Sql("c.oid::text, n.nspname, c.relname, c.relkind::text",
                              "pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
                              "c.relnamespace WHERE",
                              "ORDER BY n.nspname, c.relname"),
                          params);
  if (!tables.ok()) return std::move(tables).error();
  std::map<std::string, RawTable> by_oid;
  std::vector<std::string> order;
  for (const Row& row : *tables) {
    RawTable& raw = by_oid[row[0].value_or("")];
    raw.table.schema = row[1].value_or("");
    raw.table.name = row[2].value_or("");
    raw.table.kind = KindName(row[3].value_or(""));
    raw.canonical =
        "table " + raw.table.schema + "." + raw.table.name + " " + raw.table.kind + "\n";
    order.push_back(row[0].value_or(""));
  }
  if (order.empty()) return std::vector<protocol::TableSchema>();

  auto columns = QueryRows(
      session,
      Sql("a.attrelid::text, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
          "a.attnotnull::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid)",
          "pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN "
          "pg_catalog.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_catalog.pg_attrdef d "
          "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attnum > 0 AND NOT "
          "a.attisdropped AND",
          "ORDER BY a.attrelid, a.attnum"),
      params);
  if (!columns.ok()) return std::move(columns).error();
  for (const Row& row : *columns) {
    auto found = by_oid.find(row[0].value_or(""));
    if (found == by_oid.end()) continue;
    RawTable& raw = found->second;
    protocol::ColumnSchema column;
    column.name = row[1].value_or("");
    column.type = row[2].value_or("");
    column.not_null = row[3] == "true";
    if (row[4]) column.default_value = AnonymizeFragment("SELECT ", *row[4]).value_or(kNotShown);
    raw.canonical += "column " + column.name + " " + column.type +
                     (column.not_null ? " not null" : "") + " default " +
                     row[4].value_or("(none)") + "\n";
    raw.table.columns.push_back(std::move(column));
  }

  // Index and constraint definitions: (table oid, name, definition) rows, anonymized after
  // `prefix` makes each one a statement.
  const auto read_definitions =
      [&](const std::string& sql, const char* what, const std::string& prefix,
          std::vector<protocol::NamedDefinition> protocol::TableSchema::*into) -> Status {
    auto rows = QueryRows(session, sql, params);
    if (!rows.ok()) return std::move(rows).error();
    for (const Row& row : *rows) {
      auto found = by_oid.find(row[0].value_or(""));
      if (found == by_oid.end()) continue;
      const std::string name = row[1].value_or("");
      const std::string definition = row[2].value_or("");
      found->second.canonical += std::string(what) + " " + name + " " + definition + "\n";
      (found->second.table.*into)
          .push_back({name, AnonymizeFragment(prefix, definition).value_or(kNotShown)});
    }
    return OkStatus();
  };
  if (Status st = read_definitions(
          Sql("i.indrelid::text, ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid)",
              "pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid JOIN "
              "pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON "
              "n.oid = c.relnamespace WHERE",
              "ORDER BY i.indrelid, ic.relname"),
          "index", "", &protocol::TableSchema::indexes);
      !st.ok()) {
    return std::move(st).error();
  }
  if (Status st = read_definitions(
          Sql("k.conrelid::text, k.conname, pg_catalog.pg_get_constraintdef(k.oid)",
              "pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN "
              "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE",
              "ORDER BY k.conrelid, k.conname"),
          "constraint", "ALTER TABLE t ADD CONSTRAINT c ", &protocol::TableSchema::constraints);
      !st.ok()) {
    return std::move(st).error();
  }

  std::vector<protocol::TableSchema> out;
  out.reserve(order.size());
  for (const std::string& oid : order) {
    RawTable& raw = by_oid[oid];
    raw.table.digest = Digest(raw.canonical);
    out.push_back(std::move(raw.table));
  }
  return out;
}

Result<std::optional<std::string>> ReadTableDigest(PgSession& session, const TableName& table) {
  auto schema = ReadSchema(session, table);
  if (!schema.ok()) return std::move(schema).error();
  if (schema->empty()) return std::optional<std::string>();
  return std::optional<std::string>(schema->front().digest);
}

}  // namespace optischema::collector
