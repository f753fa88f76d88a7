#pragma once

// The proof the agent needs before it plans a statement it did not write (a statement text read
// from pg_stat_statements, or a rewrite's texts from a recommendation): that planning it can run
// no code a database user wrote, and reads no relation the agent should not touch.
//
// Planning is not as harmless as it looks. The planner evaluates immutable and stable functions
// over constants, calls the functions behind operators and their selectivity estimators on a
// column's most common values, applies row-level-security policies, folds index predicates and
// calls the support functions of types (a range type's subtype_diff, for one). Any of those can be
// a function an ordinary database user created, and it would run with the agent's privileges.
// The proof closes that door in three layers:
//
//  1. Names. The statement is parsed (libpg_query) and every name it writes is collected: the
//     relations of its FROM clauses, functions, operators (OPERATOR(s.op) included), type names in
//     casts, TABLESAMPLE methods. A function, operator or type qualified with a schema other than
//     pg_catalog is refused outright. A TABLESAMPLE method other than system or bernoulli is
//     refused. So are the built-in functions that run a query or read a relation named by their
//     arguments (kQueryRunningFunctions).
//  2. The catalog. Every unqualified function, operator and type name resolves, under the pinned
//     search_path (pg_catalog, then the session's own pg_temp, see pg_session.h), only among
//     pg_catalog's objects; each such name must be one pg_catalog holds (else it names something
//     of the application's search_path) and have no pg_catalog object of that name outside the
//     built-in range (oid >= 16384: something an extension or a superuser added). Every
//     relation must be an ordinary, partitioned or materialized table outside the system schemas
//     (no view, foreign table or system catalog), without row-level security, whose columns are
//     of built-in or enum types; it, its partitions and inheritance children, their indexes,
//     constraints, statistics objects and rules may depend on no function, operator, type (enums
//     aside), operator class or family, or access method that is not built in (pg_depend).
//  3. The text. Each unqualified relation is resolved to the one user schema that holds a table of
//     that name (public's, when several do, as the default search_path would find it) and written
//     schema-qualified into the text that will be planned, so that planning never needs a user
//     schema on the search_path. A name found in several user schemas but not in public, or in a
//     system schema, is refused.
//
// For a rewrite (PlanPurpose::kRewrite) the functions must moreover be immutable (every
// pg_catalog function of that name), so a value read from a table cannot be folded into an
// estimate, and the session's role may not be a superuser for either purpose.
//
// A refusal is kInvalidArgument with the reason in the agent's own words (it may name the
// relations, functions and operators the statement writes, never a value). Errors of the catalog
// reads are those of PgSession. Not thread-safe: one session, one thread.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pg/pg_session.h"

namespace optischema::pg {

enum class PlanPurpose {
  kAdvice,   // advisor proposals and the applier's HypoPG check: built-in functions
  kRewrite,  // a rewrite's original and rewritten texts: immutable built-in functions only
};

// Built-in functions that execute a query given as text or read the rows of a relation named by
// an argument. Planning folds stable functions, so a statement calling one of these could run
// arbitrary SQL (a view calling user code, say) during planning; such a statement is never
// planned, whatever its purpose.
inline constexpr std::string_view kQueryRunningFunctions[] = {"query_to_xml",
                                                              "query_to_xmlschema",
                                                              "query_to_xml_and_xmlschema",
                                                              "table_to_xml",
                                                              "table_to_xmlschema",
                                                              "table_to_xml_and_xmlschema",
                                                              "cursor_to_xml",
                                                              "cursor_to_xmlschema",
                                                              "schema_to_xml",
                                                              "schema_to_xmlschema",
                                                              "schema_to_xml_and_xmlschema",
                                                              "database_to_xml",
                                                              "database_to_xmlschema",
                                                              "database_to_xml_and_xmlschema",
                                                              "ts_stat",
                                                              "ts_rewrite"};

// A statement that passed the proof: only ProveSafeToPlan makes one, so the planning functions
// (plan_probe.h), which take nothing else, can plan nothing unproven.
class ProvenStatement {
 public:
  // The text to plan: the statement with every relation schema-qualified.
  const std::string& text() const { return text_; }
  // The highest $n parameter number.
  int parameters() const { return parameters_; }
  // The oids of the relations it reads (as written, before partitions and children), sorted,
  // each once.
  const std::vector<std::string>& relation_oids() const { return relation_oids_; }

 private:
  friend Result<ProvenStatement> ProveSafeToPlan(PgSession&, std::string_view, PlanPurpose);
  ProvenStatement() = default;

  std::string text_;
  int parameters_ = 0;
  std::vector<std::string> relation_oids_;
};

// Proves `sql` safe to plan on `session` (see above) and returns it ready for planning.
// kInvalidArgument: not exactly one plain SELECT, or refused (the message says why).
Result<ProvenStatement> ProveSafeToPlan(PgSession& session, std::string_view sql,
                                        PlanPurpose purpose);

// libpg_query's fingerprint of `sql` (hexadecimal): the same for texts that differ only in their
// constants, comments and spacing. "" when `sql` does not parse. Thread-safe.
std::string StatementFingerprint(std::string_view sql);

}  // namespace optischema::pg
