#pragma once

// Candidate btree indexes for one statement, from its shape (query_shape.h), the schema and the
// existing indexes. Per table the statement reads: one single-column candidate per column it
// filters (equality or range), joins or sorts on, and two-column candidates led by an equality
// column followed by another filtered, joined or sorted column. Columns of types a btree serves
// badly (json, jsonb, xml, arrays, geometric and text-search types...) are left out, and so is a
// candidate an existing valid btree index already covers (its leading key columns are the
// candidate's, without expressions or predicate) or an existing index in any state equals (the
// same key columns, no INCLUDE: one being built, or left INVALID, which its finding says to
// rebuild or drop). Pure; thread-safe.

#include <string>
#include <tuple>
#include <vector>

#include "advisor/query_shape.h"
#include "collector/index_stats_reader.h"
#include "protocol/advice.h"

namespace optischema::advisor {

struct IndexCandidate {
  std::string schema;
  std::string table;
  std::vector<std::string> columns;  // 1 or 2
  bool operator==(const IndexCandidate&) const = default;
  bool operator<(const IndexCandidate& o) const {
    return std::tie(schema, table, columns) < std::tie(o.schema, o.table, o.columns);
  }
};

// Whether a btree index serves a column of this type (format_type text) well.
bool BtreeFriendlyType(const std::string& type);

// Whether every relation the shape reads resolves to a table or materialized view of `schema`
// (not a view, a foreign table or anything unknown): only such statements are planned, since
// planning a view can run the functions it calls and planning a foreign table can reach another
// server.
bool ReadsOnlyKnownTables(const QueryShape& shape,
                          const std::vector<protocol::TableSchema>& schema);

// The tables of `schema` the shape reads, as "schema.table", each once, resolved as CandidatesFor
// resolves them; names that resolve to none are left out.
std::vector<std::string> TablesRead(const QueryShape& shape,
                                    const std::vector<protocol::TableSchema>& schema);

// Resolves the shape's tables against `schema` (an unqualified name is taken from "public" when it
// is there, else from the one schema that has it) and returns the candidates, at most
// `max_candidates`, single-column ones first. Partitioned tables get none (the applier builds
// indexes on plain tables and partitions only).
std::vector<IndexCandidate> CandidatesFor(const QueryShape& shape,
                                          const std::vector<protocol::TableSchema>& schema,
                                          const std::vector<collector::IndexReading>& indexes,
                                          std::size_t max_candidates = 12);

}  // namespace optischema::advisor
