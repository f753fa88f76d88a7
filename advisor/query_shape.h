#pragma once

// The shape of a statement for index advice: which tables it reads and which of their columns it
// filters, joins or sorts on, taken from libpg_query's parse tree of its normalized text
// (constants are $n). Only what a plain btree index can serve is reported: a bare column compared
// with a constant, a parameter, a subquery's result or another column (a cast on the other side is
// allowed); a column wrapped in a cast, a function or an expression is not reported. Columns are
// read from WHERE, JOIN ... ON / USING and ORDER BY at every level, descending AND, OR and NOT; an
// ORDER BY name that is an output column's alias stands for that output column. Pure functions;
// thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace optischema::advisor {

// How a column is used.
enum class ColumnUse {
  kEquality,  // col = x, x = col, col IN (...), col = ANY(...), col IS [NOT] NULL
  kRange,     // col < x, <=, >, >=, BETWEEN, LIKE / ~~ (a prefix may be served)
  kJoin,      // col = other_col (JOIN ... ON / USING or WHERE), either side
  kOrderBy,   // ORDER BY col
};
const char* ColumnUseName(ColumnUse use);

// A relation named in a FROM clause (at any nesting level: subqueries, CTE bodies, joins).
struct TableRef {
  std::string schema;  // empty when unqualified
  std::string name;
  std::string alias;  // empty when none
  bool operator==(const TableRef&) const = default;
};

struct ColumnUsage {
  std::string qualifier;  // the table name or alias written before the column; empty when bare
  std::string column;
  ColumnUse use = ColumnUse::kEquality;
  bool operator==(const ColumnUsage&) const = default;
};

struct QueryShape {
  std::vector<TableRef> tables;      // in order of appearance, each (schema, name, alias) once
  std::vector<ColumnUsage> columns;  // in order of appearance, duplicates removed
};

// Errors: kParseFailed when the text does not parse (the message is libpg_query's, with the
// position); kInvalidArgument when it is not exactly one SELECT statement (the message says what it
// is) or nests too deeply to walk.
Result<QueryShape> ParseQueryShape(std::string_view sql);

}  // namespace optischema::advisor
