#include "pg/plan_safety.h"

#include <pg_query.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "pg/pg_query_owned.h"
#include "pg/predicate.h"
#include "pg/query_rows.h"
#include "pg/sql_identifier.h"

namespace optischema::pg {
namespace {

using json = nlohmann::json;

// Bound on the walk's recursion; real statements stay far below it.
constexpr int kMaxDepth = 1000;

// Schemas whose relations the agent never plans: the system catalogs hold what the agent's
// privileges could read but an ordinary user may not (pg_authid's password verifiers, for one).
constexpr std::string_view kSystemSchemas[] = {"pg_catalog", "information_schema", "pg_toast"};

bool IsSystemSchema(std::string_view schema) {
  return std::find(std::begin(kSystemSchemas), std::end(kSystemSchemas), schema) !=
         std::end(kSystemSchemas);
}

Error Refuse(std::string reason) {
  return MakeError(ErrorCode::kInvalidArgument, "not planned: " + std::move(reason));
}

// A name from the statement for a refusal: identifiers are at most 63 bytes, so anything longer
// is cut rather than echoed.
std::string Shown(std::string_view name) { return std::string(name.substr(0, 63)); }

std::optional<std::string> StringNode(const json& node) {
  if (!node.is_object() || !node.contains("String")) return std::nullopt;
  const json& body = node["String"];
  if (!body.is_object()) return std::nullopt;
  return body.value("sval", "");
}

struct RelationName {
  std::string schema;  // empty when unqualified
  std::string name;
  int location = -1;
};

// Collects every name a SELECT's parse tree writes that planning could resolve to an object.
class NameWalker {
 public:
  void Walk(const json& node, int depth) {
    if (!refusal_.empty()) return;
    if (depth > kMaxDepth) {
      refusal_ = "the statement nests too deeply to be checked";
      return;
    }
    if (node.is_array()) {
      for (const json& item : node) Walk(item, depth + 1);
      return;
    }
    if (!node.is_object()) return;
    for (const auto& [key, value] : node.items()) {
      if (!value.is_object() && !value.is_array()) continue;
      if (key == "RangeVar") {
        Relation(value);
      } else if (key == "FuncCall") {
        Qualified(value.value("funcname", json::array()), "function", &functions_);
      } else if (key == "A_Expr") {
        Operator(value);
      } else if (key == "SubLink") {
        if (value.contains("operName")) {
          Qualified(value["operName"], "operator", &operators_);
        }
      } else if (key == "SortBy") {
        if (value.contains("useOp")) Qualified(value["useOp"], "operator", &operators_);
      } else if (key == "typeName" || key == "TypeName") {
        Qualified(value.value("names", json::array()), "type", &types_);
      } else if (key == "RangeTableSample") {
        Sample(value);
      } else if (key == "CommonTableExpr") {
        ctes_.insert(value.value("ctename", ""));
      }
      Walk(value, depth + 1);
      if (!refusal_.empty()) return;
    }
  }

  const std::string& refusal() const { return refusal_; }
  const std::vector<RelationName>& relations() const { return relations_; }
  const std::set<std::string>& ctes() const { return ctes_; }
  const std::set<std::string>& functions() const { return functions_; }
  const std::set<std::string>& operators() const { return operators_; }
  const std::set<std::string>& types() const { return types_; }

 private:
  void Relation(const json& range_var) {
    if (!range_var.value("catalogname", "").empty()) {
      refusal_ = "names a relation of another database";
      return;
    }
    relations_.push_back({range_var.value("schemaname", ""), range_var.value("relname", ""),
                          range_var.value("location", -1)});
  }

  // A function, operator or type name: [name] or [schema, name] (or longer). Anything qualified
  // with a schema other than pg_catalog is not built in.
  void Qualified(const json& names, std::string_view what, std::set<std::string>* into) {
    if (!names.is_array() || names.empty()) return;
    std::vector<std::string> parts;
    for (const json& part : names) {
      std::optional<std::string> text = StringNode(part);
      if (!text) {
        refusal_ = "writes a " + std::string(what) + " name the agent cannot read";
        return;
      }
      parts.push_back(*std::move(text));
    }
    if (parts.size() > 2 || (parts.size() == 2 && parts[0] != "pg_catalog")) {
      refusal_ = "uses " + std::string(what) + " " + Shown(parts[parts.size() - 2]) + "." +
                 Shown(parts.back()) + ", which is not built in";
      return;
    }
    into->insert(parts.back());
  }

  void Operator(const json& expr) {
    const std::string kind = expr.value("kind", "");
    if (kind.starts_with("AEXPR_BETWEEN") || kind.starts_with("AEXPR_NOT_BETWEEN")) {
      // The name is the keyword; the comparisons it stands for are these.
      operators_.insert(">=");
      operators_.insert("<=");
      return;
    }
    Qualified(expr.value("name", json::array()), "operator", &operators_);
  }

  // TABLESAMPLE runs the method's handler; only the two built-in methods are allowed.
  void Sample(const json& sample) {
    const json& method = sample.value("method", json::array());
    std::string name;
    if (method.is_array() && !method.empty()) name = StringNode(method.back()).value_or("");
    const bool qualified_elsewhere =
        method.is_array() && method.size() == 2 && StringNode(method[0]) != "pg_catalog";
    if ((name != "system" && name != "bernoulli") || qualified_elsewhere || method.size() > 2) {
      refusal_ = "uses a TABLESAMPLE method that is not built in";
    }
  }

  std::string refusal_;
  std::vector<RelationName> relations_;
  std::set<std::string> ctes_;
  std::set<std::string> functions_;
  std::set<std::string> operators_ = {"=", "<", ">"};  // implied by joins, sorts and IN
  std::set<std::string> types_;
};

// A text[] literal of `values` for a $n parameter.
std::string TextArray(const std::set<std::string>& values) {
  std::string out = "{";
  for (const std::string& value : values) {
    if (out.size() > 1) out.push_back(',');
    out.push_back('"');
    for (char c : value) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string KindName(std::string_view relkind) {
  if (relkind == "v") return "a view";
  if (relkind == "f") return "a foreign table";
  if (relkind == "S") return "a sequence";
  return "not a table";
}

struct Resolved {
  std::string oid;
  std::string schema;
};

// The relation `ref` names, as the application would find it without the agent's search_path:
// the one relation of that name in a user schema, or public's when several user schemas hold one.
// A system catalog, a missing name, a name in several user schemas but not in public, and anything
// but a table are refused.
Result<Resolved> Resolve(PgSession& session, const RelationName& ref) {
  const std::string shown = (ref.schema.empty() ? "" : Shown(ref.schema) + ".") + Shown(ref.name);
  if (!ref.schema.empty() && IsSystemSchema(ref.schema)) {
    return Refuse("reads the system catalog " + shown);
  }
  auto rows = QueryRows(
      session,
      "SELECT c.oid::text, n.nspname::text, c.relkind::text FROM pg_catalog.pg_class c JOIN "
      "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND "
      "($2::text IS NULL OR n.nspname = $2) AND c.relkind IN ('r', 'p', 'm', 'v', 'f', 'S') AND "
      "n.nspname !~ '^pg_(toast_)?temp_'",
      {ref.name, ref.schema.empty() ? std::nullopt : std::optional<std::string>(ref.schema)});
  RETURN_IF_ERROR(rows);
  for (const Row& row : *rows) {
    if (IsSystemSchema(row[1].value_or(""))) {
      return Refuse("reads the system catalog " + Shown(row[1].value_or("")) + "." +
                    Shown(ref.name));
    }
  }
  if (rows->empty()) return Refuse("reads " + shown + ", which is not a table the agent can see");
  const Row* chosen = &rows->front();
  if (rows->size() > 1) {
    // Several schemas hold the name: as the default search_path ("$user", public) finds it for
    // a role without a schema of its own, public's; in no other case can the agent tell.
    const auto in_public =
        std::find_if(rows->begin(), rows->end(), [](const Row& r) { return r[1] == "public"; });
    if (!ref.schema.empty() || in_public == rows->end()) {
      return Refuse("reads " + shown + ", a name found in several schemas");
    }
    chosen = &*in_public;
  }
  const Row& row = *chosen;
  const std::string relkind = row[2].value_or("");
  if (relkind != "r" && relkind != "p" && relkind != "m") {
    return Refuse("reads " + shown + ", which is " + KindName(relkind));
  }
  return Resolved{row[0].value_or(""), row[1].value_or("")};
}

// The first reason the relations `oids`, their partitions and inheritance children, and the
// objects attached to them make planning unsafe, or "" when there is none.
Result<std::string> RelationHazard(PgSession& session, const std::vector<std::string>& oids) {
  std::string array = "{";
  for (const std::string& oid : oids) array += (array.size() > 1 ? "," : "") + oid;
  array += "}";
  auto rows = QueryRows(
      session,
      "WITH RECURSIVE rels(oid) AS ("
      "  SELECT pg_catalog.unnest($1::pg_catalog.oid[])"
      "  UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN rels r ON i.inhparent = r.oid"
      "), objs(classid, objid, rel) AS ("
      "  SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, r.oid, r.oid FROM rels r"
      "  UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, x.indexrelid, x.indrelid"
      "    FROM pg_catalog.pg_index x JOIN rels r ON x.indrelid = r.oid"
      "  UNION ALL SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, k.oid, k.conrelid"
      "    FROM pg_catalog.pg_constraint k JOIN rels r ON k.conrelid = r.oid"
      "  UNION ALL SELECT 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass, s.oid, s.stxrelid"
      "    FROM pg_catalog.pg_statistic_ext s JOIN rels r ON s.stxrelid = r.oid"
      "  UNION ALL SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, w.oid, w.ev_class"
      "    FROM pg_catalog.pg_rewrite w JOIN rels r ON w.ev_class = r.oid"
      "  UNION ALL SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, p.oid, p.polrelid"
      "    FROM pg_catalog.pg_policy p JOIN rels r ON p.polrelid = r.oid"
      "), hazards(rel, why) AS ("
      "  SELECT c.oid, 'which has row-level security' FROM pg_catalog.pg_class c"
      "    JOIN rels r ON r.oid = c.oid WHERE c.relrowsecurity"
      "  UNION ALL SELECT c.oid, 'which is a partition or child that is not a table'"
      "    FROM pg_catalog.pg_class c JOIN rels r ON r.oid = c.oid"
      "    WHERE c.relkind NOT IN ('r', 'p', 'm')"
      "  UNION ALL SELECT a.attrelid, 'which has column ' || a.attname::text || ' of a type that is"
      " not built in' FROM pg_catalog.pg_attribute a JOIN rels r ON r.oid = a.attrelid"
      "    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
      "    WHERE a.attnum > 0 AND NOT a.attisdropped AND a.atttypid >= 16384 AND t.typtype <> 'e'"
      "  UNION ALL SELECT o.rel, 'which has ' || pg_catalog.pg_describe_object(d.classid, d.objid,"
      " d.objsubid) || ' depending on ' || pg_catalog.pg_describe_object(d.refclassid,"
      " d.refobjid, 0) || ', which is not built in'"
      "    FROM objs o JOIN pg_catalog.pg_depend d ON d.classid = o.classid AND d.objid = o.objid"
      "    WHERE d.refobjid >= 16384 AND d.refclassid IN "
      "('pg_catalog.pg_proc'::pg_catalog.regclass,"
      "      'pg_catalog.pg_operator'::pg_catalog.regclass,"
      "      'pg_catalog.pg_opclass'::pg_catalog.regclass,"
      "      'pg_catalog.pg_opfamily'::pg_catalog.regclass,"
      "      'pg_catalog.pg_am'::pg_catalog.regclass, 'pg_catalog.pg_type'::pg_catalog.regclass)"
      "      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE d.refclassid ="
      "        'pg_catalog.pg_type'::pg_catalog.regclass AND e.oid = d.refobjid AND"
      "        e.typtype = 'e')"
      ") SELECT n.nspname::text, c.relname::text, h.why FROM hazards h"
      "  JOIN pg_catalog.pg_class c ON c.oid = h.rel"
      "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace LIMIT 1",
      {array});
  RETURN_IF_ERROR(rows);
  if (rows->empty()) return std::string();
  const Row& row = rows->front();
  return Shown(row[0].value_or("")) + "." + Shown(row[1].value_or("")) + ", " + row[2].value_or("");
}

// The first function, operator or type name of the statement that pg_catalog does not hold, or
// that could resolve to a pg_catalog object outside the built-in range (or, for a rewrite, to a
// function that is not immutable); "" when there is none.
Result<std::string> NameHazard(PgSession& session, const NameWalker& names, PlanPurpose purpose) {
  auto rows = QueryRows(
      session,
      "SELECT 'function ' || p.proname::text || (CASE WHEN p.oid >= 16384 THEN ', which is not "
      "built in' ELSE ', which is not immutable' END) FROM pg_catalog.pg_proc p WHERE "
      "p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace AND p.proname = ANY "
      "($1::pg_catalog.text[]) AND (p.oid >= 16384 OR ($4::bool AND p.provolatile <> 'i')) "
      "UNION ALL SELECT 'operator ' || o.oprname::text || ', which is not built in' FROM "
      "pg_catalog.pg_operator o WHERE o.oprnamespace = 'pg_catalog'::pg_catalog.regnamespace "
      "AND o.oprname = ANY ($2::pg_catalog.text[]) AND o.oid >= 16384 "
      "UNION ALL SELECT 'type ' || t.typname::text || ', which is not built in' FROM "
      "pg_catalog.pg_type t WHERE t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace AND "
      "t.typname = ANY ($3::pg_catalog.text[]) AND t.oid >= 16384 "
      // A name pg_catalog does not hold at all names something outside it (in the application's
      // search_path): not built in, even though the pinned search_path would not find it.
      "UNION ALL SELECT 'function ' || f || ', which is not built in' FROM "
      "pg_catalog.unnest($1::pg_catalog.text[]) f WHERE NOT EXISTS (SELECT 1 FROM "
      "pg_catalog.pg_proc p WHERE p.proname = f AND p.pronamespace = "
      "'pg_catalog'::pg_catalog.regnamespace) "
      "UNION ALL SELECT 'operator ' || o || ', which is not built in' FROM "
      "pg_catalog.unnest($2::pg_catalog.text[]) o WHERE NOT EXISTS (SELECT 1 FROM "
      "pg_catalog.pg_operator p WHERE p.oprname = o AND p.oprnamespace = "
      "'pg_catalog'::pg_catalog.regnamespace) "
      "UNION ALL SELECT 'type ' || t || ', which is not built in' FROM "
      "pg_catalog.unnest($3::pg_catalog.text[]) t WHERE NOT EXISTS (SELECT 1 FROM "
      "pg_catalog.pg_type p WHERE p.typname = t AND p.typnamespace = "
      "'pg_catalog'::pg_catalog.regnamespace) LIMIT 1",
      {TextArray(names.functions()), TextArray(names.operators()), TextArray(names.types()),
       purpose == PlanPurpose::kRewrite ? "true" : "false"});
  RETURN_IF_ERROR(rows);
  if (rows->empty()) return std::string();
  return (*rows)[0][0].value_or("a name that is not built in");
}

Result<bool> IsSuperuser(PgSession& session) {
  auto rows = QueryRows(session,
                        "SELECT rolsuper::text FROM pg_catalog.pg_roles WHERE rolname = "
                        "current_user");
  RETURN_IF_ERROR(rows);
  return !rows->empty() && (*rows)[0][0] == "true";
}

}  // namespace

Result<ProvenStatement> ProveSafeToPlan(PgSession& session, std::string_view sql,
                                        PlanPurpose purpose) {
  auto parameters = CheckPlainSelect(sql);
  RETURN_IF_ERROR(parameters);
  const std::string text(sql);
  const PgQueryParsed parsed(pg_query_parse(text.c_str()));
  if (parsed->error != nullptr) return Refuse("the statement does not parse");
  const json tree = json::parse(parsed->parse_tree, nullptr, /*allow_exceptions=*/false);
  NameWalker names;
  names.Walk(tree, 0);
  if (!names.refusal().empty()) return Refuse(names.refusal());
  for (const std::string& function : names.functions()) {
    if (std::find(std::begin(kQueryRunningFunctions), std::end(kQueryRunningFunctions), function) !=
        std::end(kQueryRunningFunctions)) {
      return Refuse("calls " + function + ", which runs a query or reads a relation by name");
    }
  }

  auto superuser = IsSuperuser(session);
  RETURN_IF_ERROR(superuser);
  if (*superuser) {
    return Refuse(
        "the agent's role is a superuser, and the agent plans no statement as a superuser: "
        "connect with a role holding pg_monitor and SELECT on the application's tables");
  }
  auto name_hazard = NameHazard(session, names, purpose);
  RETURN_IF_ERROR(name_hazard);
  if (!name_hazard->empty()) return Refuse("uses " + *name_hazard);

  // Resolve each relation; remember where an unqualified one must get its schema.
  std::map<std::pair<std::string, std::string>, Resolved> resolved;
  std::vector<std::pair<int, std::string>> insertions;  // (location, "schema".)
  for (const RelationName& ref : names.relations()) {
    if (ref.schema.empty() && names.ctes().count(ref.name) > 0) continue;  // a CTE
    const auto key = std::make_pair(ref.schema, ref.name);
    auto found = resolved.find(key);
    if (found == resolved.end()) {
      auto relation = Resolve(session, ref);
      RETURN_IF_ERROR(relation);
      found = resolved.emplace(key, *std::move(relation)).first;
    }
    if (ref.schema.empty()) {
      if (ref.location < 0 || static_cast<std::size_t>(ref.location) >= text.size()) {
        return Refuse("the statement's relations could not be located");
      }
      insertions.emplace_back(ref.location, QuoteIdentifier(found->second.schema) + ".");
    }
  }
  ProvenStatement proven;
  for (const auto& [key, relation] : resolved) proven.relation_oids_.push_back(relation.oid);
  std::sort(proven.relation_oids_.begin(), proven.relation_oids_.end());
  proven.relation_oids_.erase(
      std::unique(proven.relation_oids_.begin(), proven.relation_oids_.end()),
      proven.relation_oids_.end());
  if (!proven.relation_oids_.empty()) {
    auto hazard = RelationHazard(session, proven.relation_oids_);
    RETURN_IF_ERROR(hazard);
    if (!hazard->empty()) return Refuse("reads " + *hazard);
  }

  std::sort(insertions.begin(), insertions.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  proven.text_ = text;
  for (const auto& [location, prefix] : insertions) {
    proven.text_.insert(static_cast<std::size_t>(location), prefix);
  }
  proven.parameters_ = *parameters;
  return proven;
}

std::string StatementFingerprint(std::string_view sql) {
  const std::string text(sql);
  const PgQueryFingerprinted fingerprint(pg_query_fingerprint(text.c_str()));
  if (fingerprint->error != nullptr || fingerprint->fingerprint_str == nullptr) return {};
  return fingerprint->fingerprint_str;
}

}  // namespace optischema::pg
