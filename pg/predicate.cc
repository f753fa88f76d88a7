#include "pg/predicate.h"

#include <pg_query.h>

#include <algorithm>
#include <array>
#include <memory>
#include <nlohmann/json.hpp>

#include "pg/pg_query_owned.h"
#include "pg/sql_identifier.h"

namespace optischema::pg {
namespace {

using nlohmann::json;

Error Refuse(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "where: " + what);
}

constexpr std::array<std::string_view, 7> kComparisons = {"=", "<>", "!=", "<", "<=", ">", ">="};
constexpr std::array<std::string_view, 15> kTypes = {
    "int2",   "int4", "int8",    "integer", "bigint", "smallint",  "numeric",    "float4",
    "float8", "text", "varchar", "bool",    "date",   "timestamp", "timestamptz"};

// The only key of a one-key object (a parse-tree node), or "" when `node` is not one.
std::string NodeType(const json& node) {
  if (!node.is_object() || node.size() != 1) return {};
  return node.begin().key();
}

class Emitter {
 public:
  Result<std::string> Expr(const json& node) {
    const std::string type = NodeType(node);
    const json& body = type.empty() ? node : node.at(type);
    if (type == "BoolExpr") return Bool(body);
    if (type == "A_Expr") return Comparison(body);
    if (type == "NullTest") return Null(body);
    if (type == "ColumnRef") return Column(body);
    if (type == "FuncCall") return Refuse("function calls are not allowed");
    if (type == "SubLink") return Refuse("subqueries are not allowed");
    return Refuse("expression of type " + (type.empty() ? std::string("unknown") : type) +
                  " is not allowed");
  }

  std::vector<std::string> columns;

 private:
  Result<std::string> Bool(const json& body) {
    const std::string op = body.value("boolop", "");
    const json& args = body.value("args", json::array());
    if (!args.is_array() || args.empty()) return Refuse("malformed boolean expression");
    std::vector<std::string> parts;
    for (const json& arg : args) {
      auto part = Expr(arg);
      if (!part.ok()) return part;
      parts.push_back(*part);
    }
    if (op == "NOT_EXPR" && parts.size() == 1) return "(NOT " + parts[0] + ")";
    if (op != "AND_EXPR" && op != "OR_EXPR") return Refuse("malformed boolean expression");
    std::string out = "(" + parts[0];
    for (std::size_t i = 1; i < parts.size(); ++i) {
      out += (op == "AND_EXPR" ? " AND " : " OR ") + parts[i];
    }
    return out + ")";
  }

  Result<std::string> Comparison(const json& body) {
    const std::string kind = body.value("kind", "");
    const json& name = body.value("name", json::array());
    // An operator may be qualified with pg_catalog only, as the agent itself re-emits it.
    const bool catalog_qualified =
        name.is_array() && name.size() == 2 &&
        name[0].value("String", json::object()).value("sval", "") == "pg_catalog";
    if (!name.is_array() || (name.size() != 1 && !catalog_qualified)) {
      return Refuse("qualified operators are not allowed");
    }
    const std::string op = name.back().value("String", json::object()).value("sval", "");
    if (std::find(kComparisons.begin(), kComparisons.end(), op) == kComparisons.end()) {
      return Refuse("operator " + op.substr(0, 8) + " is not allowed");
    }
    if (kind == "AEXPR_IN") {
      if (!body.contains("lexpr") || NodeType(body["lexpr"]) != "ColumnRef") {
        return Refuse("IN needs a column on the left");
      }
      auto column = Column(body["lexpr"]["ColumnRef"]);
      if (!column.ok()) return column;
      const json& items = body.value("rexpr", json::object()).value("List", json::object());
      if (!items.contains("items") || !items["items"].is_array() || items["items"].empty()) {
        return Refuse("IN needs a list of constants");
      }
      // IN is re-emitted as comparisons with the built-in operator, written schema-qualified:
      // "IN" itself resolves "=" on the search_path.
      const bool in = op == "=";
      std::string out;
      for (const json& item : items["items"]) {
        auto constant = Constant(item);
        if (!constant.ok()) return constant;
        out += (out.empty() ? "(" : (in ? " OR " : " AND ")) +
               Compared(*column, in ? "=" : "<>", *constant);
      }
      return out + ")";
    }
    if (kind != "AEXPR_OP" || !body.contains("lexpr") || !body.contains("rexpr")) {
      return Refuse("only comparisons are allowed");
    }
    auto left = Operand(body["lexpr"]);
    if (!left.ok()) return left;
    auto right = Operand(body["rexpr"]);
    if (!right.ok()) return right;
    return Compared(*left, op == "!=" ? "<>" : op, *right);
  }

  // `left op right` with the operator schema-qualified, so that it can only ever be
  // pg_catalog's: an operator of that name in a schema on the search_path (public, before
  // PostgreSQL 15) could otherwise be a better match for the operand types and win.
  static std::string Compared(const std::string& left, std::string_view op,
                              const std::string& right) {
    return "(" + left + " OPERATOR(pg_catalog." + std::string(op) + ") " + right + ")";
  }

  Result<std::string> Null(const json& body) {
    if (!body.contains("arg")) return Refuse("malformed IS NULL");
    auto operand = Operand(body["arg"]);
    if (!operand.ok()) return operand;
    const std::string test = body.value("nulltesttype", "");
    if (test == "IS_NULL") return "(" + *operand + " IS NULL)";
    if (test == "IS_NOT_NULL") return "(" + *operand + " IS NOT NULL)";
    return Refuse("malformed IS NULL");
  }

  Result<std::string> Operand(const json& node) {
    if (NodeType(node) == "ColumnRef") return Column(node["ColumnRef"]);
    return Constant(node);
  }

  Result<std::string> Column(const json& body) {
    const json& fields = body.value("fields", json::array());
    if (!fields.is_array() || fields.size() != 1 || NodeType(fields[0]) != "String") {
      return Refuse("columns must be bare names (no table, schema or *)");
    }
    const std::string name = fields[0]["String"].value("sval", "");
    const std::string quoted = QuoteIdentifier(name);
    if (quoted.empty()) return Refuse("column name is empty or longer than 63 bytes");
    if (std::find(columns.begin(), columns.end(), name) == columns.end()) columns.push_back(name);
    return quoted;
  }

  Result<std::string> Constant(const json& node) {
    const std::string type = NodeType(node);
    if (type == "TypeCast") {
      const json& cast = node["TypeCast"];
      auto value = Constant(cast.value("arg", json::object()));
      if (!value.ok()) return value;
      const json& names = cast.value("typeName", json::object()).value("names", json::array());
      if (!names.is_array() || names.empty()) return Refuse("malformed cast");
      const std::string last = names.back().value("String", json::object()).value("sval", "");
      const bool catalog_only =
          names.size() == 1 ||
          (names.size() == 2 &&
           names[0].value("String", json::object()).value("sval", "") == "pg_catalog");
      if (!catalog_only || std::find(kTypes.begin(), kTypes.end(), last) == kTypes.end()) {
        return Refuse("cast to " + last.substr(0, 32) + " is not allowed");
      }
      return "CAST(" + *value + " AS pg_catalog." + QuoteIdentifier(last) + ")";
    }
    if (type == "FuncCall") return Refuse("function calls are not allowed");
    if (type == "SubLink") return Refuse("subqueries are not allowed");
    if (type != "A_Const") return Refuse("only columns and constants may be compared");
    const json& body = node["A_Const"];
    if (body.contains("isnull") && body["isnull"].is_boolean() && body["isnull"].get<bool>()) {
      return std::string("NULL");
    }
    if (body.contains("ival")) {
      const json& ival = body["ival"];
      return std::to_string(ival.value("ival", int64_t{0}));
    }
    if (body.contains("fval")) {
      const std::string text = body["fval"].value("fval", "");
      const bool numeric = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == 'e' || c == 'E' || c == '+';
      });
      if (!numeric) return Refuse("malformed number");
      return text;
    }
    if (body.contains("sval")) return QuoteLiteral(body["sval"].value("sval", ""));
    if (body.contains("boolval")) {
      return std::string(body["boolval"].value("boolval", false) ? "true" : "false");
    }
    if (body.size() == 1 && body.contains("location")) {
      return QuoteLiteral("");  // '' has no value member
    }
    return Refuse("unsupported constant");
  }
};

}  // namespace

Result<SafePredicate> CheckPredicate(std::string_view where) {
  if (where.empty()) return Refuse("is empty");
  if (where.find('\0') != std::string_view::npos) return Refuse("contains a NUL byte");
  const std::string probe = "SELECT 1 FROM t WHERE (" + std::string(where) + "\n)";
  const PgQueryParsed parsed(pg_query_parse(probe.c_str()));
  if (parsed->error != nullptr) return Refuse("does not parse as an SQL expression");
  const json tree = json::parse(parsed->parse_tree, nullptr, /*allow_exceptions=*/false);
  if (!tree.is_object() || !tree.contains("stmts") || tree["stmts"].size() != 1) {
    return Refuse("must be a single expression");
  }
  const json& select = tree["stmts"][0].value("stmt", json::object()).value("SelectStmt", json());
  // Exactly the probe's shape: one target, one table, a WHERE and nothing else.
  static constexpr std::array<std::string_view, 6> kExpectedKeys = {
      "targetList", "fromClause", "whereClause", "limitOption", "op", "location"};
  if (!select.is_object() || select.value("op", "") != "SETOP_NONE" ||
      !select.contains("whereClause")) {
    return Refuse("must be a single expression");
  }
  for (const auto& [key, value] : select.items()) {
    if (std::find(kExpectedKeys.begin(), kExpectedKeys.end(), key) == kExpectedKeys.end()) {
      return Refuse("must be a single expression");
    }
  }
  Emitter emitter;
  auto sql = emitter.Expr(select["whereClause"]);
  RETURN_IF_ERROR(sql);
  return SafePredicate{*std::move(sql), std::move(emitter.columns)};
}

namespace {

// Whether `node` (anywhere below) holds a key from `keys`; collects the highest ParamRef number.
bool Contains(const json& node, const std::vector<std::string_view>& keys, int* max_param) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) return true;
      if (key == "ParamRef") *max_param = std::max(*max_param, value.value("number", 0));
      if (Contains(value, keys, max_param)) return true;
    }
  } else if (node.is_array()) {
    for (const json& item : node) {
      if (Contains(item, keys, max_param)) return true;
    }
  }
  return false;
}

}  // namespace

Result<int> CheckPlainSelect(std::string_view sql) {
  const std::string text(sql);
  if (text.find('\0') != std::string::npos)
    return MakeError(ErrorCode::kInvalidArgument, "NUL byte");
  const PgQueryParsed parsed(pg_query_parse(text.c_str()));
  if (parsed->error != nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "does not parse as SQL");
  }
  const json tree = json::parse(parsed->parse_tree, nullptr, /*allow_exceptions=*/false);
  if (!tree.is_object() || tree.value("stmts", json::array()).size() != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "must be exactly one statement");
  }
  const json& stmt = tree["stmts"][0].value("stmt", json::object());
  if (NodeType(stmt) != "SelectStmt") {
    return MakeError(ErrorCode::kInvalidArgument, "must be a SELECT");
  }
  int max_param = 0;
  if (Contains(
          stmt,
          {"intoClause", "lockingClause", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"},
          &max_param)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "must be a plain SELECT (no INTO, FOR UPDATE or data-modifying WITH)");
  }
  return max_param;
}

}  // namespace optischema::pg
