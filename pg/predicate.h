#pragma once

// Partial-index predicates from the network. A recommendation's `where` is never executed as
// received: it is parsed with libpg_query, checked against a small grammar, and the SQL the agent
// runs is re-emitted from the parse tree, with every identifier quoted and every literal rebuilt.
//
// Accepted grammar (anything else is refused, naming what was found):
//   expr   := expr AND expr | expr OR expr | NOT expr | ( expr )
//           | operand op operand                op: = <> != < <= > >=, or OPERATOR(pg_catalog.op)
//           | column [NOT] IN ( const, ... )
//           | operand IS [NOT] NULL
//           | column                             a boolean column
//   operand:= column | const
//   column := a bare column name (no table or schema qualification, no *)
//   const  := integer | decimal | 'string' | true | false | NULL | const::type
//   type   := a built-in scalar type name (int2/4/8, numeric, float4/8, text, varchar, bool, date,
//             timestamp, timestamptz, uuid)
// Function calls, subqueries, operators other than the comparisons above, parameters, and any
// text after the expression are refused.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace optischema::pg {

struct SafePredicate {
  // Re-emitted, fully parenthesised, identifiers quoted, every operator written
  // OPERATOR(pg_catalog.op) and every cast to pg_catalog's type; IN lists become comparisons.
  std::string sql;
  std::vector<std::string> columns;  // column names referenced, in order of first appearance
};

// kInvalidArgument with "where: <what is wrong>" for a predicate outside the grammar or one that
// does not parse. Thread-safe.
Result<SafePredicate> CheckPredicate(std::string_view where);

// For query rewrites, which are planned but never run: `sql` must parse as exactly one plain
// SELECT (no INTO, no locking clause, no data-modifying WITH). Returns the number of $n
// parameters (the highest n). kInvalidArgument naming what is wrong.
Result<int> CheckPlainSelect(std::string_view sql);

}  // namespace optischema::pg
