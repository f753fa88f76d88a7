#include "advisor/query_shape.h"

#include <pg_query.h>

#include <algorithm>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "pg/pg_query_owned.h"

namespace optischema::advisor {
namespace {

using Json = nlohmann::json;

// Bound on the walk's recursion. The parser accepts trees tens of thousands of levels deep; real
// statements stay far below this, and the bound keeps the walk's stack use small.
constexpr int kMaxDepth = 1000;

// The only key of a one-key object (a parse-tree node), or "" when `node` is not one.
std::string_view NodeType(const Json& node) {
  if (!node.is_object() || node.size() != 1) return {};
  return node.begin().key();
}

// The body of `node` when it is a node of type `type`, else nullptr.
const Json* Body(const Json& node, std::string_view type) {
  if (NodeType(node) != type) return nullptr;
  return &node.begin().value();
}

// Member `key` of `object`, nullptr when `object` is not an object or has no such member.
const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string StringMember(const Json& object, const char* key) {
  const Json* value = Member(object, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

// Member `key` of `object` when it is an array, else an empty array.
const Json& ListMember(const Json& object, const char* key) {
  static const Json kEmpty = Json::array();
  const Json* value = Member(object, key);
  return value != nullptr && value->is_array() ? *value : kEmpty;
}

// Text of a String node; nullopt for any other node.
std::optional<std::string> StringNode(const Json& node) {
  const Json* body = Body(node, "String");
  if (body == nullptr) return std::nullopt;
  return StringMember(*body, "sval");
}

// The alias name of a FROM item's body, "" when it has none.
std::string AliasOf(const Json& body) {
  const Json* alias = Member(body, "alias");
  return alias == nullptr ? std::string() : StringMember(*alias, "aliasname");
}

// An operator's name without its schema ("=" for OPERATOR(pg_catalog.=)), "" when malformed.
std::string OperatorName(const Json& names) {
  if (!names.is_array() || names.empty()) return {};
  return StringNode(names.back()).value_or("");
}

// How a column compared with a value by operator `op` is used; nullopt when a btree cannot serve
// the comparison. "~~" is LIKE, whose constant prefix a btree can serve as a range.
std::optional<ColumnUse> UseOfOperator(std::string_view op) {
  if (op == "=") return ColumnUse::kEquality;
  if (op == "<" || op == "<=" || op == ">" || op == ">=" || op == "~~") return ColumnUse::kRange;
  return std::nullopt;
}

struct Column {
  std::string qualifier;
  std::string name;
};

// The column `node` names when it is a bare ColumnRef: a, t.a, s.t.a (qualifier t). nullopt for
// anything else, * and t.* included.
std::optional<Column> BareColumn(const Json& node) {
  const Json* body = Body(node, "ColumnRef");
  if (body == nullptr) return std::nullopt;
  const Json& fields = ListMember(*body, "fields");
  if (fields.empty()) return std::nullopt;
  std::vector<std::string> names;
  for (const Json& field : fields) {
    std::optional<std::string> name = StringNode(field);
    if (!name || name->empty()) return std::nullopt;
    names.push_back(*std::move(name));
  }
  Column column;
  column.name = names.back();
  if (names.size() >= 2) column.qualifier = names[names.size() - 2];
  return column;
}

// Collects the shape of one SelectStmt body and everything nested in it. Single use.
class ShapeWalker {
 public:
  // Walks the body of a SelectStmt node.
  void Statement(const Json& select) {
    const Nesting nesting(this);
    if (nesting.too_deep() || !select.is_object()) return;
    const std::size_t scope = ctes_.size();
    if (const Json* with = Member(select, "withClause")) With(*with);
    if (StringMember(select, "op") != "SETOP_NONE") {
      if (const Json* left = Member(select, "larg")) Statement(*left);
      if (const Json* right = Member(select, "rarg")) Statement(*right);
    }
    if (const Json* distinct = Member(select, "distinctClause")) Walk(*distinct);
    const Json& target_list = ListMember(select, "targetList");
    Walk(target_list);
    for (const Json& item : ListMember(select, "fromClause")) FromItem(item);
    if (const Json* where = Member(select, "whereClause")) Predicate(*where);
    Sort(ListMember(select, "sortClause"), target_list);
    // The other clauses (GROUP BY, HAVING, WINDOW, VALUES, LIMIT...) contribute only the
    // statements nested in them. INTO and FOR UPDATE OF are skipped: their relations are not read
    // through a FROM clause.
    for (const auto& [key, value] : select.items()) {
      if (key != "withClause" && key != "larg" && key != "rarg" && key != "distinctClause" &&
          key != "targetList" && key != "fromClause" && key != "whereClause" &&
          key != "sortClause" && key != "intoClause" && key != "lockingClause") {
        Walk(value);
      }
    }
    ctes_.erase(ctes_.begin() + static_cast<std::ptrdiff_t>(scope), ctes_.end());
  }

  [[nodiscard]] bool too_deep() const { return too_deep_; }
  QueryShape Take() && { return std::move(shape_); }

 private:
  // Counts one level of the walk's recursion for as long as it lives.
  class Nesting {
   public:
    explicit Nesting(ShapeWalker* walker) : walker_(walker) {
      if (++walker_->depth_ > kMaxDepth) walker_->too_deep_ = true;
    }
    ~Nesting() { --walker_->depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

    [[nodiscard]] bool too_deep() const { return walker_->too_deep_; }

   private:
    ShapeWalker* walker_;
  };

  // Brings the CTE names of a WITH clause into scope (until the end of the enclosing Statement)
  // and walks the CTE bodies. Without RECURSIVE, a CTE body sees only the CTEs before it.
  void With(const Json& with) {
    const Json* recursive_member = Member(with, "recursive");
    const bool recursive = recursive_member != nullptr && recursive_member->is_boolean() &&
                           recursive_member->get<bool>();
    const Json& ctes = ListMember(with, "ctes");
    if (recursive) {
      for (const Json& cte : ctes) {
        if (const Json* body = Body(cte, "CommonTableExpr")) {
          ctes_.push_back(StringMember(*body, "ctename"));
        }
      }
    }
    for (const Json& cte : ctes) {
      const Json* body = Body(cte, "CommonTableExpr");
      if (body == nullptr) continue;
      // A data-modifying body (INSERT, UPDATE, DELETE) contributes only its nested SELECTs.
      if (const Json* query = Member(*body, "ctequery")) Walk(*query);
      if (!recursive) ctes_.push_back(StringMember(*body, "ctename"));
    }
  }

  void FromItem(const Json& node) {
    const Nesting nesting(this);
    if (nesting.too_deep()) return;
    if (const Json* range_var = Body(node, "RangeVar")) {
      AddTable(*range_var);
    } else if (const Json* join = Body(node, "JoinExpr")) {
      if (const Json* left = Member(*join, "larg")) FromItem(*left);
      if (const Json* right = Member(*join, "rarg")) FromItem(*right);
      if (const Json* quals = Member(*join, "quals")) Predicate(*quals);
      Using(*join);
    } else if (const Json* sample = Body(node, "RangeTableSample")) {
      if (const Json* relation = Member(*sample, "relation")) FromItem(*relation);
      for (const auto& [key, value] : sample->items()) {
        if (key != "relation") Walk(value);
      }
    } else {
      Walk(node);  // subqueries, LATERAL included; functions and their arguments
    }
  }

  // JOIN ... USING (c): c of each side is a join column, qualified by the side's name when the
  // side has one.
  void Using(const Json& join) {
    const Json& names = ListMember(join, "usingClause");
    if (names.empty()) return;
    const Json* left = Member(join, "larg");
    const Json* right = Member(join, "rarg");
    const std::string left_name = left != nullptr ? SideName(*left) : std::string();
    const std::string right_name = right != nullptr ? SideName(*right) : std::string();
    for (const Json& name : names) {
      const std::optional<std::string> column = StringNode(name);
      if (!column || column->empty()) continue;
      AddColumn({left_name, *column}, ColumnUse::kJoin);
      AddColumn({right_name, *column}, ColumnUse::kJoin);
    }
  }

  // The name a FROM item's columns are qualified with: its alias, else a table's own name.
  static std::string SideName(const Json& node) {
    if (const Json* range_var = Body(node, "RangeVar")) {
      std::string alias = AliasOf(*range_var);
      return alias.empty() ? StringMember(*range_var, "relname") : alias;
    }
    if (const Json* sample = Body(node, "RangeTableSample")) {
      const Json* relation = Member(*sample, "relation");
      return relation != nullptr ? SideName(*relation) : std::string();
    }
    const std::string_view type = NodeType(node);
    return type.empty() ? std::string() : AliasOf(node.begin().value());
  }

  // A search condition (WHERE, JOIN ... ON): AND, OR and NOT are descended; each comparison it
  // reaches reports its bare columns.
  void Predicate(const Json& node) {
    const Nesting nesting(this);
    if (nesting.too_deep()) return;
    if (const Json* boolean = Body(node, "BoolExpr")) {
      for (const Json& arg : ListMember(*boolean, "args")) Predicate(arg);
    } else if (const Json* expr = Body(node, "A_Expr")) {
      Comparison(*expr);
    } else if (const Json* null_test = Body(node, "NullTest")) {
      if (const Json* arg = Member(*null_test, "arg")) {
        if (std::optional<Column> column = BareColumn(*arg)) {
          AddColumn(*std::move(column), ColumnUse::kEquality);
        }
        Walk(*arg);
      }
    } else if (const Json* sublink = Body(node, "SubLink")) {
      SubLinkTest(*sublink);
      Walk(node);
    } else {
      Walk(node);
    }
  }

  void Comparison(const Json& expr) {
    const std::string kind = StringMember(expr, "kind");
    const std::string op = OperatorName(ListMember(expr, "name"));
    const Json* left = Member(expr, "lexpr");
    const Json* right = Member(expr, "rexpr");
    if (left == nullptr || right == nullptr) {
      if (left != nullptr) Walk(*left);
      if (right != nullptr) Walk(*right);
      return;
    }
    if (kind == "AEXPR_OP" || kind == "AEXPR_LIKE") {
      const Json* left_row = Body(*left, "RowExpr");
      const Json* right_row = Body(*right, "RowExpr");
      if (left_row != nullptr && right_row != nullptr && op != "~~") {
        // (a, b) = ($1, $2), (a, b) > ($1, $2): element by element.
        const Json& left_items = ListMember(*left_row, "args");
        const Json& right_items = ListMember(*right_row, "args");
        if (left_items.size() == right_items.size()) {
          for (std::size_t i = 0; i < left_items.size(); ++i) {
            Compare(op, left_items[i], right_items[i]);
          }
        }
      } else {
        Compare(op, *left, *right);
      }
    } else if (kind == "AEXPR_OP_ANY") {
      std::optional<Column> column = BareColumn(*left);
      const std::optional<ColumnUse> use = UseOfOperator(op);
      if (column && use && op != "~~" && IsValue(*right)) AddColumn(*std::move(column), *use);
    } else if (kind == "AEXPR_IN") {
      std::optional<Column> column = BareColumn(*left);
      const Json* list = Body(*right, "List");
      if (column && op == "=" && list != nullptr && AllValues(ListMember(*list, "items"), 1)) {
        AddColumn(*std::move(column), ColumnUse::kEquality);
      }
    } else if (kind == "AEXPR_BETWEEN" || kind == "AEXPR_BETWEEN_SYM") {
      std::optional<Column> column = BareColumn(*left);
      const Json* bounds = Body(*right, "List");
      if (column && bounds != nullptr && AllValues(ListMember(*bounds, "items"), 2)) {
        AddColumn(*std::move(column), ColumnUse::kRange);
      }
    }
    Walk(*left);
    Walk(*right);
  }

  // `left op right` where `op` is a plain binary operator.
  void Compare(const std::string& op, const Json& left, const Json& right) {
    const std::optional<ColumnUse> use = UseOfOperator(op);
    if (!use) return;
    std::optional<Column> left_column = BareColumn(left);
    std::optional<Column> right_column = BareColumn(right);
    const ColumnUse between_columns = *use == ColumnUse::kEquality ? ColumnUse::kJoin : *use;
    if (left_column && right_column) {
      if (op == "~~") return;  // a column pattern has no constant prefix
      AddColumn(*std::move(left_column), between_columns);
      AddColumn(*std::move(right_column), between_columns);
    } else if (left_column) {
      if (IsValue(right)) {
        AddColumn(*std::move(left_column), *use);
      } else if (op != "~~" && IsCastColumn(right)) {
        AddColumn(*std::move(left_column), between_columns);
      }
    } else if (right_column && op != "~~") {  // $1 LIKE col cannot use an index on col
      if (IsValue(left)) {
        AddColumn(*std::move(right_column), *use);
      } else if (IsCastColumn(left)) {
        AddColumn(*std::move(right_column), between_columns);
      }
    }
  }

  // col IN (SELECT ...), col = ANY (SELECT ...), col < ANY (SELECT ...).
  void SubLinkTest(const Json& sublink) {
    if (StringMember(sublink, "subLinkType") != "ANY_SUBLINK") return;
    const Json* test = Member(sublink, "testexpr");
    if (test == nullptr) return;
    std::optional<Column> column = BareColumn(*test);
    const Json& names = ListMember(sublink, "operName");
    const std::string op = names.empty() ? std::string("=") : OperatorName(names);
    const std::optional<ColumnUse> use = UseOfOperator(op);
    if (column && use && op != "~~") AddColumn(*std::move(column), *use);
  }

  // ORDER BY: a bare column is reported; a bare name that is an output column's alias stands for
  // that output column, reported when it is a bare column itself.
  void Sort(const Json& sort_clause, const Json& target_list) {
    for (const Json& item : sort_clause) {
      const Json* sort_by = Body(item, "SortBy");
      const Json* node = sort_by != nullptr ? Member(*sort_by, "node") : nullptr;
      if (node == nullptr) {
        Walk(item);
        continue;
      }
      std::optional<Column> column = BareColumn(*node);
      if (!column) {
        Walk(*node);
        continue;
      }
      if (column->qualifier.empty()) {
        if (const Json* output = OutputColumn(target_list, column->name)) {
          if (std::optional<Column> named = BareColumn(*output)) {
            AddColumn(*std::move(named), ColumnUse::kOrderBy);
          }
          continue;
        }
      }
      AddColumn(*std::move(column), ColumnUse::kOrderBy);
    }
  }

  // The expression of the first output column aliased `name`, nullptr when there is none.
  static const Json* OutputColumn(const Json& target_list, const std::string& name) {
    for (const Json& target : target_list) {
      const Json* res = Body(target, "ResTarget");
      if (res != nullptr && StringMember(*res, "name") == name) return Member(*res, "val");
    }
    return nullptr;
  }

  // Visits every node below `node` for the statements nested in it (subqueries anywhere), without
  // reporting columns of its own.
  void Walk(const Json& node) {
    const Nesting nesting(this);
    if (nesting.too_deep()) return;
    if (node.is_array()) {
      for (const Json& item : node) Walk(item);
    } else if (node.is_object()) {
      for (const auto& [key, value] : node.items()) {
        if (key == "SelectStmt" && value.is_object()) {
          Statement(value);
        } else {
          Walk(value);
        }
      }
    }
  }

  // Whether `node` is something an index lookup can take as its key: a constant, a parameter, a
  // subquery's result, an ARRAY[...] of values, or a cast or COLLATE of a value.
  bool IsValue(const Json& node) {
    const Nesting nesting(this);
    if (nesting.too_deep()) return false;
    const std::string_view type = NodeType(node);
    if (type.empty()) return false;
    if (type == "ParamRef" || type == "A_Const") return true;
    const Json& body = node.begin().value();
    if (type == "TypeCast" || type == "CollateClause") {
      const Json* arg = Member(body, "arg");
      return arg != nullptr && IsValue(*arg);
    }
    if (type == "A_ArrayExpr") return AllValues(ListMember(body, "elements"), 0);
    if (type == "SubLink") {
      const std::string sublink_type = StringMember(body, "subLinkType");
      return sublink_type == "EXPR_SUBLINK" || sublink_type == "ARRAY_SUBLINK";
    }
    return false;
  }

  // Whether every item is a value, and there are at least `min_count` of them.
  bool AllValues(const Json& items, std::size_t min_count) {
    if (items.size() < min_count) return false;
    for (const Json& item : items) {
      if (!IsValue(item)) return false;
    }
    return true;
  }

  // Whether `node` is a bare column under one or more casts or COLLATE clauses.
  static bool IsCastColumn(const Json& node) {
    const Json* current = &node;
    while (true) {
      const std::string_view type = NodeType(*current);
      if (type != "TypeCast" && type != "CollateClause") break;
      current = Member(current->begin().value(), "arg");
      if (current == nullptr) return false;
    }
    return current != &node && BareColumn(*current).has_value();
  }

  void AddTable(const Json& range_var) {
    TableRef table{StringMember(range_var, "schemaname"), StringMember(range_var, "relname"),
                   AliasOf(range_var)};
    if (table.name.empty()) return;
    if (table.schema.empty() && IsCte(table.name)) return;
    if (!seen_tables_.emplace(table.schema, table.name, table.alias).second) return;
    shape_.tables.push_back(std::move(table));
  }

  void AddColumn(Column column, ColumnUse use) {
    if (!seen_columns_.emplace(column.qualifier, column.name, static_cast<int>(use)).second) return;
    shape_.columns.push_back({std::move(column.qualifier), std::move(column.name), use});
  }

  [[nodiscard]] bool IsCte(const std::string& name) const {
    for (const std::string& cte : ctes_) {
      if (cte == name) return true;
    }
    return false;
  }

  std::vector<std::string> ctes_;  // CTE names in scope, innermost WITH last
  QueryShape shape_;
  std::set<std::tuple<std::string, std::string, std::string>> seen_tables_;
  std::set<std::tuple<std::string, std::string, int>> seen_columns_;
  int depth_ = 0;
  bool too_deep_ = false;
};

Error ParseFailure(const PgQueryError& error) {
  std::string message = "does not parse: ";
  message += error.message != nullptr ? error.message : "unknown error";
  if (error.cursorpos > 0) message += " at position " + std::to_string(error.cursorpos);
  return MakeError(ErrorCode::kParseFailed, std::move(message));
}

}  // namespace

const char* ColumnUseName(ColumnUse use) {
  switch (use) {
    case ColumnUse::kEquality:
      return "equality";
    case ColumnUse::kRange:
      return "range";
    case ColumnUse::kJoin:
      return "join";
    case ColumnUse::kOrderBy:
      return "order_by";
  }
  return "equality";
}

Result<QueryShape> ParseQueryShape(std::string_view sql) {
  if (sql.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kParseFailed, "does not parse: contains a NUL byte");
  }
  const std::string text(sql);
  const pg::PgQueryParsed parsed(pg_query_parse(text.c_str()));
  if (parsed->error != nullptr) return ParseFailure(*parsed->error);
  if (parsed->parse_tree == nullptr) {
    return MakeError(ErrorCode::kInternal, "libpg_query returned neither a tree nor an error");
  }
  try {
    const Json tree = Json::parse(parsed->parse_tree, nullptr, /*allow_exceptions=*/false);
    if (!tree.is_object()) {
      return MakeError(ErrorCode::kInternal, "libpg_query's parse tree is not a JSON object");
    }
    const Json& stmts = ListMember(tree, "stmts");
    if (stmts.empty()) return MakeError(ErrorCode::kInvalidArgument, "no statement");
    if (stmts.size() > 1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "several statements (" + std::to_string(stmts.size()) + "), one expected");
    }
    const Json* stmt = Member(stmts.front(), "stmt");
    const std::string_view type = stmt != nullptr ? NodeType(*stmt) : std::string_view();
    if (type != "SelectStmt") {
      return MakeError(ErrorCode::kInvalidArgument,
                       "not a SELECT: " + std::string(type.empty() ? "unknown" : type));
    }
    ShapeWalker walker;
    walker.Statement(stmt->begin().value());
    if (walker.too_deep()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "nested more than " + std::to_string(kMaxDepth) + " levels deep");
    }
    return std::move(walker).Take();
  } catch (const Json::exception& e) {
    return MakeError(ErrorCode::kInternal, std::string("reading the parse tree: ") + e.what());
  }
}

}  // namespace optischema::advisor
