#include "advisor/schema_drift.h"

#include <map>
#include <string>

namespace optischema::advisor {
namespace {

using protocol::ColumnSchema;
using protocol::NamedDefinition;
using protocol::SchemaDrift;
using protocol::TableSchema;

std::string QualifiedName(const TableSchema& t) { return t.schema + "." + t.name; }

std::map<std::string, const TableSchema*> ByName(const std::vector<TableSchema>& tables) {
  std::map<std::string, const TableSchema*> out;
  for (const TableSchema& t : tables) out[QualifiedName(t)] = &t;
  return out;
}

std::string Describe(const ColumnSchema& c) {
  return c.type + (c.not_null ? " NOT NULL" : "") +
         (c.default_value ? " DEFAULT " + *c.default_value : "");
}

void DiffColumns(const std::string& table, const TableSchema& before, const TableSchema& after,
                 std::vector<SchemaDrift>* out) {
  std::map<std::string, const ColumnSchema*> old_columns;
  for (const ColumnSchema& c : before.columns) old_columns[c.name] = &c;
  std::map<std::string, const ColumnSchema*> new_columns;
  for (const ColumnSchema& c : after.columns) new_columns[c.name] = &c;
  for (const ColumnSchema& c : after.columns) {
    auto old = old_columns.find(c.name);
    if (old == old_columns.end()) {
      out->push_back({table, "column_added", c.name, Describe(c)});
      continue;
    }
    const ColumnSchema& o = *old->second;
    std::string detail;
    if (o.type != c.type) detail = o.type + " → " + c.type;
    if (o.not_null != c.not_null) {
      detail += (detail.empty() ? "" : "; ") +
                std::string(c.not_null ? "NOT NULL added" : "NOT NULL dropped");
    }
    if (o.default_value != c.default_value) {
      detail += (detail.empty() ? "" : "; ") + std::string("default ") +
                o.default_value.value_or("(none)") + " → " + c.default_value.value_or("(none)");
    }
    if (!detail.empty()) out->push_back({table, "column_changed", c.name, detail});
  }
  for (const ColumnSchema& c : before.columns) {
    if (!new_columns.contains(c.name))
      out->push_back({table, "column_removed", c.name, Describe(c)});
  }
}

void DiffDefinitions(const std::string& table, const char* what,
                     const std::vector<NamedDefinition>& before,
                     const std::vector<NamedDefinition>& after, std::vector<SchemaDrift>* out) {
  std::map<std::string, std::string> old_definitions;
  for (const NamedDefinition& d : before) old_definitions[d.name] = d.definition;
  std::map<std::string, std::string> new_definitions;
  for (const NamedDefinition& d : after) new_definitions[d.name] = d.definition;
  const std::string kind(what);
  for (const NamedDefinition& d : after) {
    auto old = old_definitions.find(d.name);
    if (old == old_definitions.end()) {
      out->push_back({table, kind + "_added", d.name, d.definition});
    } else if (old->second != d.definition) {
      out->push_back({table, kind + "_changed", d.name, old->second + " → " + d.definition});
    }
  }
  for (const NamedDefinition& d : before) {
    if (!new_definitions.contains(d.name)) {
      out->push_back({table, kind + "_removed", d.name, d.definition});
    }
  }
}

}  // namespace

std::vector<SchemaDrift> DiffSchemas(const std::vector<TableSchema>& before,
                                     const std::vector<TableSchema>& after) {
  const auto old_tables = ByName(before);
  const auto new_tables = ByName(after);
  std::vector<SchemaDrift> drift;
  for (const auto& [name, table] : new_tables) {
    auto old = old_tables.find(name);
    if (old == old_tables.end()) {
      drift.push_back({name, "table_added", "", table->kind});
      continue;
    }
    if (old->second->digest == table->digest) continue;
    const std::size_t before_count = drift.size();
    DiffColumns(name, *old->second, *table, &drift);
    DiffDefinitions(name, "index", old->second->indexes, table->indexes, &drift);
    DiffDefinitions(name, "constraint", old->second->constraints, table->constraints, &drift);
    if (drift.size() == before_count) {
      // The digest covers text that anonymization hides (e.g. a literal in a default).
      drift.push_back({name, "table_changed", "", "a definition changed in a literal value"});
    }
  }
  for (const auto& [name, table] : old_tables) {
    if (!new_tables.contains(name)) drift.push_back({name, "table_removed", "", table->kind});
  }
  return drift;
}

protocol::SchemaReport BuildSchemaReport(const std::vector<TableSchema>* previous,
                                         const std::vector<TableSchema>& current) {
  protocol::SchemaReport report;
  report.full = previous == nullptr;
  for (const TableSchema& t : current) report.digests[QualifiedName(t)] = t.digest;
  if (report.full) {
    report.tables = current;
    return report;
  }
  const auto old_tables = ByName(*previous);
  for (const TableSchema& t : current) {
    auto old = old_tables.find(QualifiedName(t));
    if (old == old_tables.end() || old->second->digest != t.digest) report.tables.push_back(t);
  }
  report.drift = DiffSchemas(*previous, current);
  return report;
}

}  // namespace optischema::advisor
