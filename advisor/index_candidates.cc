#include "advisor/index_candidates.h"

#include <algorithm>
#include <array>
#include <optional>

namespace optischema::advisor {
namespace {

using protocol::TableSchema;

const TableSchema* FindTable(const std::vector<TableSchema>& schema, const TableRef& ref) {
  const TableSchema* found = nullptr;
  int matches = 0;
  for (const TableSchema& t : schema) {
    if (t.name != ref.name) continue;
    if (!ref.schema.empty()) {
      if (t.schema == ref.schema) return &t;
      continue;
    }
    if (t.schema == "public") return &t;
    found = &t;
    ++matches;
  }
  return matches == 1 ? found : nullptr;
}

const protocol::ColumnSchema* FindColumn(const TableSchema& table, const std::string& name) {
  for (const auto& c : table.columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

struct ScopedTable {
  const TableRef* ref;
  const TableSchema* table;
};

// The table a column usage belongs to, or nullptr when it cannot be told.
const TableSchema* Owner(const ColumnUsage& usage, const std::vector<ScopedTable>& tables) {
  if (!usage.qualifier.empty()) {
    for (const ScopedTable& t : tables) {
      const bool named =
          t.ref->alias.empty() ? t.ref->name == usage.qualifier : t.ref->alias == usage.qualifier;
      if (named) return t.table;
    }
    return nullptr;
  }
  const TableSchema* owner = nullptr;
  for (const ScopedTable& t : tables) {
    if (FindColumn(*t.table, usage.column) == nullptr) continue;
    if (owner != nullptr && owner != t.table) return nullptr;  // ambiguous
    owner = t.table;
  }
  return owner;
}

// Whether a plain btree index on the table starts with exactly these columns and either is valid
// or is the candidate itself (same key columns, no INCLUDE) in another state: being built, or left
// INVALID.
bool Covered(const IndexCandidate& candidate, const std::vector<collector::IndexReading>& indexes) {
  for (const collector::IndexReading& index : indexes) {
    const protocol::IndexStat& s = index.stat;
    if (s.schema != candidate.schema || s.table != candidate.table || s.method != "btree" ||
        !index.predicate.empty() || s.columns.size() < candidate.columns.size()) {
      continue;
    }
    const bool equal = s.columns.size() == candidate.columns.size() && index.include_columns == 0;
    if ((s.valid || equal) &&
        std::equal(candidate.columns.begin(), candidate.columns.end(), s.columns.begin())) {
      return true;
    }
  }
  return false;
}

void AddUnique(std::vector<std::string>* out, const std::string& value) {
  if (std::find(out->begin(), out->end(), value) == out->end()) out->push_back(value);
}

}  // namespace

bool BtreeFriendlyType(const std::string& type) {
  if (type.ends_with("]")) return false;  // arrays
  static constexpr std::array<std::string_view, 15> kUnfriendly = {
      "json", "jsonb",   "xml",    "tsvector", "tsquery", "point", "line",         "lseg",
      "box",  "polygon", "circle", "path",     "hstore",  "bytea", "txid_snapshot"};
  for (std::string_view bad : kUnfriendly) {
    if (type == bad) return false;
  }
  return !type.ends_with("range") && !type.ends_with("multirange");
}

bool ReadsOnlyKnownTables(const QueryShape& shape, const std::vector<TableSchema>& schema) {
  return std::all_of(shape.tables.begin(), shape.tables.end(), [&](const TableRef& ref) {
    const TableSchema* table = FindTable(schema, ref);
    return table != nullptr && (table->kind == "table" || table->kind == "materialized_view" ||
                                table->kind == "partitioned_table");
  });
}

std::vector<std::string> TablesRead(const QueryShape& shape, const std::vector<TableSchema>& schema) {
  std::vector<std::string> out;
  for (const TableRef& ref : shape.tables) {
    const TableSchema* table = FindTable(schema, ref);
    if (table == nullptr) continue;
    std::string name = table->schema + "." + table->name;
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

std::vector<IndexCandidate> CandidatesFor(const QueryShape& shape,
                                          const std::vector<TableSchema>& schema,
                                          const std::vector<collector::IndexReading>& indexes,
                                          std::size_t max_candidates) {
  std::vector<ScopedTable> tables;
  for (const TableRef& ref : shape.tables) {
    if (const TableSchema* t = FindTable(schema, ref)) tables.push_back({&ref, t});
  }
  const auto indexable = [](const TableSchema* t) { return t->kind != "partitioned_table"; };
  struct Uses {
    const TableSchema* table;
    std::vector<std::string> equality, others;
  };
  std::vector<Uses> per_table;
  for (const ColumnUsage& usage : shape.columns) {
    const TableSchema* owner = Owner(usage, tables);
    if (owner == nullptr) continue;
    const protocol::ColumnSchema* column = FindColumn(*owner, usage.column);
    if (column == nullptr || !BtreeFriendlyType(column->type)) continue;
    auto uses = std::find_if(per_table.begin(), per_table.end(),
                             [&](const Uses& u) { return u.table == owner; });
    if (uses == per_table.end()) {
      per_table.push_back({owner, {}, {}});
      uses = per_table.end() - 1;
    }
    AddUnique(usage.use == ColumnUse::kEquality ? &uses->equality : &uses->others, usage.column);
  }

  std::vector<IndexCandidate> singles;
  std::vector<IndexCandidate> pairs;
  for (const Uses& u : per_table) {
    if (!indexable(u.table)) continue;
    std::vector<std::string> all = u.equality;
    for (const std::string& c : u.others) AddUnique(&all, c);
    for (const std::string& c : all) singles.push_back({u.table->schema, u.table->name, {c}});
    for (const std::string& first : u.equality) {
      for (const std::string& second : all) {
        if (second != first) pairs.push_back({u.table->schema, u.table->name, {first, second}});
      }
    }
  }
  std::vector<IndexCandidate> out;
  for (auto* list : {&singles, &pairs}) {
    for (IndexCandidate& c : *list) {
      if (out.size() >= max_candidates) return out;
      if (Covered(c, indexes) || std::find(out.begin(), out.end(), c) != out.end()) continue;
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace optischema::advisor
