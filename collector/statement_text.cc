#include "collector/statement_text.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "collector/scanner_anonymizer.h"
#include "pg/pg_query_owned.h"
#include "pg/agent_marker.h"

// libpg_query's own steps below pg_query.h, exported by libpg_query 15-4 (Debian 12's
// libpg-query 15-4.0.0), so that one parse serves the fingerprint and the JSON tree:
// pg_query_raw_parse and the memory context functions are declared in its installed
// pg_query/pg_query_internal.h, which needs PostgreSQL's server headers, so they are declared
// again here with plain pointers for PostgreSQL's List* and MemoryContext; pg_query_fingerprint
// and pg_query_parse apply pg_query_fingerprint_node and pg_query_nodes_to_json to that tree.
// Unit tests pin that the fingerprint and the JSON taken this way are pg_query_fingerprint's and
// pg_query_parse's.
extern "C" {
struct PgQueryRawParseResult {
  void* tree;  // List* of RawStmt, in the memory context entered before the parse
  char* stderr_buffer;
  PgQueryError* error;
};
PgQueryRawParseResult pg_query_raw_parse(const char* input);
void* pg_query_enter_memory_context();
void pg_query_exit_memory_context(void* context);
void pg_query_free_error(PgQueryError* error);
uint64_t pg_query_fingerprint_node(const void* node);
char* pg_query_nodes_to_json(const void* node);
}

namespace optischema::collector {
namespace {

using Json = nlohmann::json;
using Token = SqlToken;

using NormalizeResult = pg::PgQueryNormalized;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool IsAllSpace(std::string_view text) { return std::all_of(text.begin(), text.end(), IsSpace); }

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}


std::optional<std::vector<Token>> Scan(const std::string& sql) { return ScanSqlTokens(sql); }

// 64-bit FNV-1a.
class Fnv1a {
 public:
  void Add(std::string_view bytes) {
    for (char c : bytes) {
      state_ ^= static_cast<unsigned char>(c);
      state_ *= 0x100000001b3ULL;
    }
  }
  std::uint64_t value() const { return state_; }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

std::string Hex16(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (auto it = out.rbegin(); it != out.rend(); ++it) {
    *it = kDigits[value & 0xfU];
    value >>= 4U;
  }
  return out;
}

// One parse of a text by libpg_query, in a memory context of its own that holds the tree until
// the object is destroyed. No other libpg_query function may run on the same thread meanwhile:
// each one leaves its own memory context for libpg_query's top context, not for this one.
class RawParse {
 public:
  explicit RawParse(const std::string& sql)
      : context_(pg_query_enter_memory_context()), result_(pg_query_raw_parse(sql.c_str())) {}
  ~RawParse() {
    if (result_.error != nullptr) pg_query_free_error(result_.error);
    std::free(result_.stderr_buffer);
    pg_query_exit_memory_context(context_);
  }
  RawParse(const RawParse&) = delete;
  RawParse& operator=(const RawParse&) = delete;

  bool ok() const { return result_.error == nullptr; }
  // pg_query_fingerprint's fingerprint_str of the text.
  std::string Fingerprint() const { return Hex16(pg_query_fingerprint_node(result_.tree)); }
  // pg_query_parse's parse_tree of the text.
  std::string Tree() const {
    const char* json = pg_query_nodes_to_json(result_.tree);
    return json != nullptr ? std::string(json) : std::string();
  }

 private:
  void* context_;
  PgQueryRawParseResult result_;
};

// What one parse of a text yields.
struct ParsedText {
  bool ok = false;          // the text parses
  std::string fingerprint;  // when ok and asked for
  std::string tree;         // JSON, when ok and asked for
};

ParsedText Parse(const std::string& sql, bool with_fingerprint, bool with_tree) {
  const RawParse parse(sql);
  ParsedText out;
  out.ok = parse.ok();
  if (out.ok && with_fingerprint) out.fingerprint = parse.Fingerprint();
  if (out.ok && with_tree) out.tree = parse.Tree();
  return out;
}

// Hash of the token stream in which every literal, every comment and every setting or option
// value is reduced to a fixed tag, so it depends on keywords, identifiers, operators and
// parameters only. Each token is encoded as a tag byte plus, for kept tokens, a length-prefixed
// text, which keeps the encoding unambiguous.
std::optional<std::string> TokenFingerprint(const std::string& raw) {
  const std::optional<std::vector<Token>> tokens = Scan(raw);
  if (!tokens) return std::nullopt;
  const std::vector<bool> values = SettingAndOptionValues(*tokens);
  Fnv1a hash;
  for (std::size_t i = 0; i < tokens->size(); ++i) {
    const Token& token = (*tokens)[i];
    if (IsLiteralToken(token.kind) || values[i]) {
      hash.Add("L");
    } else if (IsCommentToken(token.kind)) {
      hash.Add("C");
    } else {
      const std::string_view text =
          std::string_view(raw).substr(token.start, token.end - token.start);
      hash.Add("T");
      hash.Add(std::to_string(text.size()));
      hash.Add(":");
      hash.Add(text);
    }
  }
  return Hex16(hash.value());
}

std::string QueryidFingerprint(int64_t queryid) {
  Fnv1a hash;
  hash.Add(std::to_string(queryid));
  return Hex16(hash.value());
}

// Highest n among the $n parameter tokens of `sql`, 0 when there is none. Saturates far above any
// parameter number PostgreSQL accepts.
std::uint64_t HighestParam(const std::string& sql, const std::vector<Token>& tokens) {
  constexpr std::uint64_t kCap = std::uint64_t{1} << 32U;
  std::uint64_t highest = 0;
  for (const Token& token : tokens) {
    if (token.kind != PG_QUERY__TOKEN__PARAM) continue;
    std::uint64_t number = 0;
    for (std::size_t i = token.start + 1; i < token.end && sql[i] >= '0' && sql[i] <= '9'; ++i) {
      number = std::min(number * 10 + static_cast<std::uint64_t>(sql[i] - '0'), kCap);
    }
    highest = std::max(highest, number);
  }
  return highest;
}

bool IsIdentifierStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsIdentifierByte(char c) { return IsIdentifierStart(c) || (c >= '0' && c <= '9') || c == '$'; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsOperatorByte(char c) {
  return c != '\0' && std::string_view("+-*/<>=~!@#%^&|`?").find(c) != std::string_view::npos;
}

// Whether `word` is `lower` (lowercase letters) in any case.
bool IsWord(std::string_view word, std::string_view lower) {
  if (word.size() != lower.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if ((static_cast<unsigned char>(word[i]) | 0x20U) != static_cast<unsigned char>(lower[i])) {
      return false;
    }
  }
  return true;
}

// The words that decide whether PostgreSQL 15's grammar makes a constant of a keyword.
enum class WordKind {
  kNone,           // no word right before (something else than whitespace came after it)
  kOther,          // any other word, identifier or keyword
  kIs,             // IS
  kNot,            // NOT
  kSetOperation,   // UNION, INTERSECT, EXCEPT, SELECT: ALL after them is no constant
  kMaybeConstant,  // TRUE, FALSE, NULL: a constant unless after IS or IS NOT
  kAll,            // ALL: a constant after LIMIT
  kConstant,       // EXTRACT (its field), NORMALIZE, NORMALIZED, NFC, NFD, NFKC, NFKD (the form)
};

WordKind KindOfWord(std::string_view w) {
  switch (w.size()) {
    case 2:
      return IsWord(w, "is") ? WordKind::kIs : WordKind::kOther;
    case 3:
      if (IsWord(w, "not")) return WordKind::kNot;
      if (IsWord(w, "all")) return WordKind::kAll;
      if (IsWord(w, "nfc") || IsWord(w, "nfd")) return WordKind::kConstant;
      return WordKind::kOther;
    case 4:
      if (IsWord(w, "true") || IsWord(w, "null")) return WordKind::kMaybeConstant;
      if (IsWord(w, "nfkc") || IsWord(w, "nfkd")) return WordKind::kConstant;
      return WordKind::kOther;
    case 5:
      if (IsWord(w, "false")) return WordKind::kMaybeConstant;
      return IsWord(w, "union") ? WordKind::kSetOperation : WordKind::kOther;
    case 6:
      return IsWord(w, "except") || IsWord(w, "select") ? WordKind::kSetOperation
                                                        : WordKind::kOther;
    case 7:
      return IsWord(w, "extract") ? WordKind::kConstant : WordKind::kOther;
    case 9:
      if (IsWord(w, "intersect")) return WordKind::kSetOperation;
      return IsWord(w, "normalize") ? WordKind::kConstant : WordKind::kOther;
    case 10:
      return IsWord(w, "normalized") ? WordKind::kConstant : WordKind::kOther;
    default:
      return WordKind::kOther;
  }
}

// A byte-level reading of a text, for the common case of a text without constants: what it rules
// out, PostgreSQL 15's scanner and grammar rule out too (it errs towards "may hold"). Quoted
// identifiers and comments are skipped as the scanner skips them.
class TextReading {
 public:
  explicit TextReading(std::string_view text) { Read(text); }

  // Neither literal tokens, nor comments, nor anything the scanner rejects or reports at a wrong
  // position (U&'...', U&"..."), nor a NUL byte: the scanner's tokens cover every byte but
  // whitespace, and none of them is a literal or a comment.
  bool plain_tokens() const { return literal_free_ && comment_free_; }
  // No literal token, no NUL byte, and no keyword that PostgreSQL 15's grammar turns into a
  // constant in a SELECT, INSERT, UPDATE, DELETE, MERGE or VALUES statement: TRUE, FALSE and NULL
  // other than after IS or IS NOT, ALL after LIMIT (any ALL that does not follow UNION,
  // INTERSECT, EXCEPT, SELECT or an operator), EXTRACT's field, NORMALIZE's and IS NORMALIZED's
  // form. libpg_query's normalization of such a statement replaces nothing.
  bool constant_free_plain_statement() const { return literal_free_ && keywords_plain_; }

 private:
  void Read(std::string_view s) {
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
      const char c = s[i];
      const char next = i + 1 < n ? s[i + 1] : '\0';
      if (c == '\0' || c == '\'' || ((c == 'u' || c == 'U') && next == '&') || IsDigit(c)) {
        literal_free_ = false;  // a literal, a NUL byte, a U& token, a number
        return;
      }
      if (IsSpace(c)) {
        ++i;
      } else if (c == '"') {
        // A quoted identifier: "" inside it is a quote; an empty or unterminated one is rejected.
        std::size_t j = i + 1;
        while (j < n && !(s[j] == '"' && (j + 1 >= n || s[j + 1] != '"'))) j += s[j] == '"' ? 2 : 1;
        if (j >= n || j == i + 1) {
          literal_free_ = false;
          return;
        }
        Word(WordKind::kOther);
        i = j + 1;
      } else if (c == '-' && next == '-') {
        comment_free_ = false;
        while (i < n && s[i] != '\n' && s[i] != '\r') ++i;
        Separator('\0');
      } else if (c == '/' && next == '*') {
        comment_free_ = false;
        int depth = 0;
        for (; i < n; ++i) {
          if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
            ++depth;
            ++i;
          } else if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
            ++i;
            if (--depth == 0) break;
          }
        }
        if (i >= n) {
          literal_free_ = false;  // unterminated
          return;
        }
        ++i;
        Separator('\0');
      } else if (c == '$') {
        // Only a parameter, $ and digits, may start with $; a dollar quote or junk may not.
        std::size_t j = i + 1;
        while (j < n && IsDigit(s[j])) ++j;
        if (j == i + 1 || (j < n && IsIdentifierByte(s[j]))) {
          literal_free_ = false;
          return;
        }
        Word(WordKind::kOther);
        i = j;
      } else if (IsIdentifierStart(c)) {
        std::size_t j = i;
        while (j < n && IsIdentifierByte(s[j])) ++j;
        Word(KindOfWord(s.substr(i, j - i)));
        i = j;
      } else {
        Separator(c);
        ++i;
      }
    }
  }

  // Something other than whitespace or a word: the byte `c`, or '\0' for a comment.
  void Separator(char c) {
    previous_ = WordKind::kNone;
    before_ = WordKind::kNone;
    previous_symbol_ = c;
  }

  void Word(WordKind kind) {
    if (keywords_plain_ && !ConstantFree(kind)) keywords_plain_ = false;
    before_ = previous_;
    previous_ = kind;
    previous_symbol_ = '\0';
  }

  // Whether a word of `kind` after previous_ and before_ is never made a constant.
  bool ConstantFree(WordKind kind) const {
    switch (kind) {
      case WordKind::kConstant:
        return false;
      case WordKind::kMaybeConstant:
        return previous_ == WordKind::kIs ||
               (previous_ == WordKind::kNot && before_ == WordKind::kIs);
      case WordKind::kAll:
        return previous_ == WordKind::kSetOperation || IsOperatorByte(previous_symbol_);
      default:
        return true;
    }
  }

  bool literal_free_ = true;
  bool comment_free_ = true;
  bool keywords_plain_ = true;
  WordKind previous_ = WordKind::kNone;  // the word right before, whitespace aside
  WordKind before_ = WordKind::kNone;    // the word right before that one, whitespace aside
  char previous_symbol_ = '\0';          // the byte right before, whitespace aside, if no word
};

// Rebuilds `normalized` from its tokens: a comment and the whitespace around it become one space,
// every literal token becomes the next unused $k, whitespace between other tokens is kept, and the
// result is trimmed. nullopt when the text does not scan or the scanner leaves anything but
// whitespace between tokens (nothing unscanned may reach the output). A text that holds neither
// literals nor comments (`reading` of it) is its tokens and whitespace: it is trimmed without a
// scan.
std::optional<std::string> StripCommentsAndLiterals(const std::string& normalized,
                                                    const TextReading& reading) {
  if (reading.plain_tokens()) return std::string(TrimSpace(normalized));
  const std::optional<std::vector<Token>> tokens = Scan(normalized);
  if (!tokens) return std::nullopt;
  const std::string_view source(normalized);
  std::uint64_t next_param = HighestParam(normalized, *tokens) + 1;

  std::string out;
  out.reserve(normalized.size());
  std::size_t position = 0;
  bool after_comment = false;
  for (const Token& token : *tokens) {
    const std::string_view gap = source.substr(position, token.start - position);
    if (!IsAllSpace(gap)) return std::nullopt;
    position = token.end;
    if (IsCommentToken(token.kind)) {
      after_comment = true;
      continue;
    }
    if (after_comment) {
      while (!out.empty() && IsSpace(out.back())) out.pop_back();
      if (!out.empty()) out.push_back(' ');
      after_comment = false;
    } else {
      out.append(gap);
    }
    if (IsLiteralToken(token.kind)) {
      out.push_back('$');
      out.append(std::to_string(next_param++));
    } else {
      out.append(source.substr(token.start, token.end - token.start));
    }
  }
  if (!IsAllSpace(source.substr(position))) return std::nullopt;
  return std::string(TrimSpace(out));
}

// Name of the node type of one top-level statement, empty for an entry without a statement.
std::string StatementType(const Json& entry) {
  if (!entry.is_object()) return {};
  const auto stmt = entry.find("stmt");
  if (stmt == entry.end() || !stmt->is_object() || stmt->empty()) return {};
  return stmt->begin().key();
}

bool IsSessionUtilityType(const std::string& type) {
  return type == "VariableSetStmt" || type == "VariableShowStmt" || type == "DiscardStmt" ||
         type == "DeallocateStmt" || type == "ListenStmt" || type == "UnlistenStmt";
}

std::string StringField(const Json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool IsCatalogRelation(const std::string& schema, const std::string& relation) {
  if (schema.empty()) return relation.starts_with("pg_");
  return schema == "pg_catalog" || schema == "information_schema";
}

// True when the tree references at least one relation that is not a CTE of the statement and all
// such relations are catalog relations.
bool ReadsOnlyCatalog(const Json& root) {
  std::vector<const Json*> range_vars;
  std::set<std::string> cte_names;
  std::vector<const Json*> pending{&root};
  while (!pending.empty()) {
    const Json* node = pending.back();
    pending.pop_back();
    if (node->is_array()) {
      for (const Json& child : *node) pending.push_back(&child);
    } else if (node->is_object()) {
      for (auto it = node->begin(); it != node->end(); ++it) {
        if (it.value().is_object()) {
          if (it.key() == "RangeVar") range_vars.push_back(&it.value());
          if (it.key() == "CommonTableExpr") cte_names.insert(StringField(it.value(), "ctename"));
        }
        pending.push_back(&it.value());
      }
    }
  }

  bool any_relation = false;
  for (const Json* range_var : range_vars) {
    const std::string schema = StringField(*range_var, "schemaname");
    const std::string relation = StringField(*range_var, "relname");
    if (schema.empty() && cte_names.contains(relation)) continue;
    if (!IsCatalogRelation(schema, relation)) return false;
    any_relation = true;
  }
  return any_relation;
}

// Whether `pattern` occurs in the compact JSON `tree` as JSON syntax, not inside a string value
// (where its quotes would be escaped).
// Without `count`, stops at the first occurrence. (Patterns start with a quote, the most common
// byte of the tree, so a search that anchors on the first byte would compare at every quote.)
bool HasJsonPattern(std::string_view tree, std::string_view pattern, std::size_t* count = nullptr) {
  const std::boyer_moore_horspool_searcher searcher(pattern.begin(), pattern.end());
  std::size_t found = 0;
  for (auto it = std::search(tree.begin(), tree.end(), searcher); it != tree.end();
       it = std::search(it + 1, tree.end(), searcher)) {
    if (it == tree.begin() || *(it - 1) != '\\') ++found;
    if (count == nullptr && found > 0) break;
  }
  if (count != nullptr) *count = found;
  return found > 0;
}

// Classification without building the tree, for the common case: one statement whose node type
// decides, or which names no relation that could be a catalog one. nullopt: walk the tree.
std::optional<Exclusion> ClassifyFast(std::string_view tree) {
  constexpr std::string_view kStmt = "\"stmt\":{\"";
  std::size_t statements = 0;
  if (!HasJsonPattern(tree, kStmt, &statements) || statements != 1) return std::nullopt;
  const std::size_t start = tree.find(kStmt) + kStmt.size();
  const std::size_t end = tree.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  const std::string type(tree.substr(start, end - start));
  if (type == "TransactionStmt") return Exclusion::kTransactionControl;
  if (IsSessionUtilityType(type)) return Exclusion::kSessionUtility;
  if (HasJsonPattern(tree, "\"relname\":\"pg_") ||
      HasJsonPattern(tree, "\"schemaname\":\"pg_catalog\"") ||
      HasJsonPattern(tree, "\"schemaname\":\"information_schema\"")) {
    return std::nullopt;
  }
  return Exclusion::kNone;
}

// Classification of a statement that parsed, from pg_query_parse's JSON tree. A tree that cannot be
// read is user workload.
Exclusion Classify(const std::string& parse_tree) {
  if (auto fast = ClassifyFast(parse_tree)) return *fast;
  try {
    const Json tree = Json::parse(parse_tree, nullptr, /*allow_exceptions=*/false);
    const auto stmts = tree.is_object() ? tree.find("stmts") : tree.end();
    if (stmts == tree.end() || !stmts->is_array()) return Exclusion::kNone;

    bool any_statement = false;
    bool all_transaction = true;
    bool all_session_or_transaction = true;
    for (const Json& entry : *stmts) {
      const std::string type = StatementType(entry);
      if (type.empty()) continue;
      any_statement = true;
      const bool transaction = type == "TransactionStmt";
      all_transaction = all_transaction && transaction;
      all_session_or_transaction =
          all_session_or_transaction && (transaction || IsSessionUtilityType(type));
    }
    if (any_statement && all_transaction) return Exclusion::kTransactionControl;
    if (any_statement && all_session_or_transaction) return Exclusion::kSessionUtility;
    return ReadsOnlyCatalog(tree) ? Exclusion::kCatalogOnly : Exclusion::kNone;
  } catch (const Json::exception&) {
    return Exclusion::kNone;
  }
}

// Setting and option values. Normalization replaces literal tokens only, but a setting value
// written as a bare word (`SET search_path = secret`, `ALTER ROLE r SET app.key = secret`) or an
// option value written as a keyword, a type name or a list (`WITH (autovacuum_enabled = off)`,
// `COPY ... (FORCE_QUOTE (a, b))`) is not a literal. The parse tree says where the values are:
//   - every argument of a VariableSetStmt, wherever it occurs (SET [LOCAL|SESSION], ALTER
//     ROLE|USER|DATABASE ... SET, ALTER SYSTEM SET, ALTER|CREATE FUNCTION|PROCEDURE ... SET) is an
//     A_Const at its location (a sign and a number for negative numbers) or a parameter;
//   - every DefElem that is an element of a parenthesized list (WITH (...), SET (...),
//     OPTIONS (...) with ALTER's SET and ADD, COPY and EXPLAIN and VACUUM options...) starts at
//     its location with its name
//     (`name` or `space.name`), an optional `=`, then its value up to the next `,` or the `)`
//     closing the list.
// Each value that is not already one literal token is replaced by a string literal placeholder,
// which normalization then turns into $n like any literal. The masked text must parse again and
// its values must all be single literals; otherwise there is no anonymized text at all.
// libpg_query's fingerprint hashes option values (literals included), so the fingerprint is taken
// of the text with every value, literal or not, replaced by the same placeholder.

enum class MaskScope {
  kNonLiteral,  // values that are not a single literal token (for the text)
  kEvery,       // every value (for the fingerprint)
};

struct ValueRange {
  std::size_t start;
  std::size_t end;      // one past the last byte
  bool single_literal;  // one literal token, optionally preceded by a sign
};

bool IsWordToken(int kind) {
  return kind == PG_QUERY__TOKEN__IDENT || kind == PG_QUERY__TOKEN__UIDENT ||
         kind >= PG_QUERY__TOKEN__ABORT_P;
}

bool IsSign(int kind) {
  return kind == PG_QUERY__TOKEN__ASCII_45 || kind == PG_QUERY__TOKEN__ASCII_43;
}

// Whether tokens [first, last) are one literal token, optionally preceded by a sign.
bool IsSingleLiteral(const std::vector<Token>& tokens, std::size_t first, std::size_t last) {
  if (first < last && IsSign(tokens[first].kind)) ++first;
  return last == first + 1 && IsLiteralToken(tokens[first].kind);
}

// Index of the token starting at `position` in `tokens` (ordered), or nullopt.
std::optional<std::size_t> TokenAt(const std::vector<Token>& tokens, std::size_t position) {
  const auto it = std::lower_bound(tokens.begin(), tokens.end(), position,
                                   [](const Token& t, std::size_t p) { return t.start < p; });
  if (it == tokens.end() || it->start != position) return std::nullopt;
  return static_cast<std::size_t>(it - tokens.begin());
}

std::optional<std::size_t> Location(const Json& node) {
  const auto it = node.find("location");
  if (it == node.end() || !it->is_number_integer() || it->get<long long>() < 0) return std::nullopt;
  return static_cast<std::size_t>(it->get<long long>());
}

// Adds the value of the A_Const at `location`; false when no token starts there.
bool AddConstValue(const std::vector<Token>& tokens, std::size_t location,
                   std::vector<ValueRange>& out) {
  const std::optional<std::size_t> at = TokenAt(tokens, location);
  if (!at) return false;
  std::size_t last = *at + 1;
  if (IsSign(tokens[*at].kind)) {
    if (last >= tokens.size()) return false;
    ++last;
  }
  out.push_back({tokens[*at].start, tokens[last - 1].end, IsSingleLiteral(tokens, *at, last)});
  return true;
}

// Adds the value of the list element DefElem at token `at`, if it has one; false when the tokens
// there do not read as `name [. name] [=] value`.
bool AddListOptionValue(const std::vector<Token>& tokens, std::size_t at,
                        std::vector<ValueRange>& out) {
  if (!IsWordToken(tokens[at].kind)) return false;
  std::size_t first = at + 1;
  if (first + 1 < tokens.size() && tokens[first].kind == PG_QUERY__TOKEN__ASCII_46 &&
      IsWordToken(tokens[first + 1].kind)) {
    first += 2;
  }
  if (first < tokens.size() && tokens[first].kind == PG_QUERY__TOKEN__ASCII_61) ++first;
  std::size_t last = first;
  int depth = 0;
  for (; last < tokens.size(); ++last) {
    const int kind = tokens[last].kind;
    if (kind == PG_QUERY__TOKEN__ASCII_40 || kind == PG_QUERY__TOKEN__ASCII_91) {
      ++depth;
    } else if (kind == PG_QUERY__TOKEN__ASCII_41 || kind == PG_QUERY__TOKEN__ASCII_93) {
      if (depth == 0) break;
      --depth;
    } else if ((kind == PG_QUERY__TOKEN__ASCII_44 && depth == 0) ||
               kind == PG_QUERY__TOKEN__ASCII_59) {
      break;
    }
  }
  if (last == tokens.size() || depth != 0) return false;  // a list element ends at `,` or `)`
  if (first < last) {
    out.push_back(
        {tokens[first].start, tokens[last - 1].end, IsSingleLiteral(tokens, first, last)});
  }
  return true;
}

// The value ranges of `raw`, a text that parses, from its JSON tree `tree_text`, in no particular
// order; nullopt when the text does not scan or a value cannot be located with certainty.
std::optional<std::vector<ValueRange>> ValueRanges(const std::string& raw,
                                                   std::string_view tree_text) {
  // The keys the walk below acts on; a tree without any of them has no value to mask.
  if (!HasJsonPattern(tree_text, "\"VariableSetStmt\"") &&
      !HasJsonPattern(tree_text, "\"setstmt\"") && !HasJsonPattern(tree_text, "\"DefElem\"")) {
    return std::vector<ValueRange>();
  }
  std::optional<std::vector<Token>> scanned = Scan(raw);
  if (!scanned) return std::nullopt;
  std::vector<Token> tokens;  // without comments, which may sit anywhere between them
  std::copy_if(scanned->begin(), scanned->end(), std::back_inserter(tokens),
               [](const Token& t) { return !IsCommentToken(t.kind); });
  const Json tree = Json::parse(tree_text, nullptr, /*allow_exceptions=*/false);
  if (tree.is_discarded()) return std::nullopt;

  std::vector<ValueRange> ranges;
  std::vector<const Json*> pending{&tree};
  while (!pending.empty()) {
    const Json* node = pending.back();
    pending.pop_back();
    if (node->is_array()) {
      for (const Json& child : *node) pending.push_back(&child);
      continue;
    }
    if (!node->is_object()) continue;
    for (auto it = node->begin(); it != node->end(); ++it) {
      const Json& value = it.value();
      // A VariableSetStmt as a node, or as the typed `setstmt` field of ALTER ROLE|DATABASE ...
      // SET and ALTER SYSTEM.
      if ((it.key() == "VariableSetStmt" || it.key() == "setstmt") && value.is_object()) {
        const auto args = value.find("args");
        if (args != value.end()) {
          if (!args->is_array()) return std::nullopt;
          for (const Json& arg : *args) {
            // SET TRANSACTION and SET SESSION CHARACTERISTICS: DefElems with an A_Const each.
            const Json* constant = &arg;
            if (const auto def = arg.find("DefElem"); def != arg.end()) {
              const auto def_arg = def->find("arg");
              if (def_arg == def->end()) continue;
              constant = &*def_arg;
            }
            if (constant->contains("ParamRef")) continue;
            const auto a_const = constant->find("A_Const");
            if (a_const == constant->end()) return std::nullopt;
            const std::optional<std::size_t> location = Location(*a_const);
            if (!location || !AddConstValue(tokens, *location, ranges)) {
              return std::nullopt;
            }
          }
        }
      } else if (it.key() == "DefElem" && value.is_object()) {
        const std::optional<std::size_t> location = Location(value);
        const std::optional<std::size_t> at = location ? TokenAt(tokens, *location) : std::nullopt;
        // ALTER ... OPTIONS (SET name value, ADD name value): the location is the name's.
        std::size_t before = at ? *at : 0;
        if (before > 1 && (tokens[before - 1].kind == PG_QUERY__TOKEN__SET ||
                           tokens[before - 1].kind == PG_QUERY__TOKEN__ADD_P)) {
          --before;
        }
        const bool in_list = at && before > 0 &&
                             (tokens[before - 1].kind == PG_QUERY__TOKEN__ASCII_40 ||
                              tokens[before - 1].kind == PG_QUERY__TOKEN__ASCII_44);
        if (in_list && value.contains("arg") && !AddListOptionValue(tokens, *at, ranges)) {
          return std::nullopt;
        }
      }
      pending.push_back(&value);
    }
  }
  return ranges;
}

// The ranges of `all` in `scope`, ordered; nullopt when two of them overlap.
std::optional<std::vector<ValueRange>> InScope(const std::vector<ValueRange>& all,
                                               MaskScope scope) {
  std::vector<ValueRange> ranges;
  std::copy_if(all.begin(), all.end(), std::back_inserter(ranges), [scope](const ValueRange& r) {
    return scope == MaskScope::kEvery || !r.single_literal;
  });
  std::sort(ranges.begin(), ranges.end(),
            [](const ValueRange& a, const ValueRange& b) { return a.start < b.start; });
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].start < ranges[i - 1].end) return std::nullopt;
  }
  return ranges;
}

bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || c == '&' || c == '\'' || c == '"' || static_cast<unsigned char>(c) >= 0x80;
}

// A text with setting and option values replaced, and its fingerprint when asked for.
struct MaskedText {
  std::string text;
  std::string fingerprint;
};

// `raw` with the value `ranges` (ordered, disjoint) replaced by one placeholder literal each,
// with the fingerprint of the result when `with_fingerprint` (`raw_fingerprint` when nothing is
// replaced); nullopt when the result cannot be certain to hold single literals only. The result is
// parsed once, for that check and the fingerprint.
std::optional<MaskedText> MaskValues(const std::string& raw, const std::vector<ValueRange>& ranges,
                                     bool with_fingerprint, const std::string& raw_fingerprint) {
  if (ranges.empty()) return MaskedText{raw, raw_fingerprint};
  std::string masked;
  masked.reserve(raw.size());
  std::size_t position = 0;
  for (const ValueRange& range : ranges) {
    masked.append(raw, position, range.start - position);
    // Spaces keep the placeholder one token: `x'..'` would be a bit string, `'..''..'` one string.
    if (range.start > 0 && IsWordByte(raw[range.start - 1])) masked.push_back(' ');
    masked.append("'?'");
    if (range.end < raw.size() && IsWordByte(raw[range.end])) masked.push_back(' ');
    position = range.end;
  }
  masked.append(raw, position);
  const ParsedText parsed = Parse(masked, with_fingerprint, /*with_tree=*/true);
  if (!parsed.ok) return std::nullopt;
  const std::optional<std::vector<ValueRange>> again = ValueRanges(masked, parsed.tree);
  if (!again) return std::nullopt;
  const std::optional<std::vector<ValueRange>> left = InScope(*again, MaskScope::kNonLiteral);
  if (!left || !left->empty()) return std::nullopt;
  return MaskedText{std::move(masked), parsed.fingerprint};
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Whether Classify would find `raw` to be user workload (kNone) whatever its tree, so the parse
// tree is not needed: its first word starts a plannable statement, so not all of its statements
// are transaction control or session utilities; and no relation in it can be a catalog one,
// because nothing in it spells "pg_" or "information_schema" in any case, and no Unicode-escaped
// identifier (U&"...") could hide either.
bool PlainUserStatement(std::string_view raw) {
  const std::string lower = AsciiLower(TrimSpace(raw));
  std::size_t word_end = 0;
  while (word_end < lower.size() && lower[word_end] >= 'a' && lower[word_end] <= 'z') ++word_end;
  const std::string_view first_word = std::string_view(lower).substr(0, word_end);
  const bool plannable = first_word == "select" || first_word == "insert" ||
                         first_word == "update" || first_word == "delete" || first_word == "with" ||
                         first_word == "values";
  return plannable && lower.find("pg_") == std::string::npos &&
         lower.find("information_schema") == std::string::npos &&
         lower.find("u&") == std::string::npos;
}

// Whether `raw` is one plain user statement (SELECT, INSERT, UPDATE, DELETE, WITH, VALUES; no
// `;` anywhere, so no second statement): in PostgreSQL 15's grammar it has neither a
// VariableSetStmt nor a parenthesized options list, so it has no setting or option value to mask.
bool WithoutSettingOrOptionValues(std::string_view raw) {
  return PlainUserStatement(raw) && raw.find(';') == std::string_view::npos;
}

// Whether libpg_query's normalization would return `tree`'s text as it is: it replaces only A_Const
// nodes, arguments of DefElem nodes and subscriptions' connection strings, and the tree has none.
bool NormalizationKeepsTree(std::string_view tree) {
  return !HasJsonPattern(tree, "\"A_Const\"") && !HasJsonPattern(tree, "\"DefElem\"") &&
         !HasJsonPattern(tree, "\"defname\"") && !HasJsonPattern(tree, "SubscriptionStmt\"");
}

// The anonymized text of `sql`, a text that parses and whose setting and option values are single
// literals: libpg_query's normalization, then every literal and comment it leaves stripped.
// Normalization, which parses the text again, is skipped where it would return the text as it is:
// a plain statement without constants (TextReading), or a text whose JSON tree `tree` (when not
// null) shows nothing it replaces.
std::optional<std::string> NormalizedText(const std::string& sql, const std::string* tree,
                                          bool plain) {
  // libpg_query reads up to the first NUL byte; normalization returns that part.
  const bool whole = sql.find('\0') == std::string::npos;
  const TextReading reading(sql);
  const bool unchanged =
      whole && (tree != nullptr ? NormalizationKeepsTree(*tree)
                                : plain && reading.constant_free_plain_statement());
  if (unchanged) return StripCommentsAndLiterals(sql, reading);
  const NormalizeResult normalized(pg_query_normalize(sql.c_str()));
  if (normalized->error != nullptr || normalized->normalized_query == nullptr) return std::nullopt;
  const std::string text(normalized->normalized_query);
  return StripCommentsAndLiterals(text, TextReading(text));
}

// What a caller asks of Analyze.
struct Wanted {
  bool fingerprint = true;
  bool exclusion = true;
  bool text = true;
  bool scanner_fallback = true;  // text for a text that does not parse, from the scanner
};

// Exclusion, fingerprint and anonymized text of `raw`, as `wanted`. The text is parsed once
// (RawParse): the fingerprint and, for a statement that is not plain, the JSON tree
// (classification, setting and option values) come from that parse. What parses again: a text
// with constants, in pg_query_normalize (it takes text, not a tree); a text with setting or
// option values, with them replaced (the check that the result holds single literals only, and
// its fingerprint), once more when some values are single literals (the text keeps those).
AnalyzedText Analyze(std::string_view raw_text, int64_t queryid, const Wanted& wanted) {
  const std::string raw(raw_text);
  const bool agent_own = pg::IsMarkedStatement(raw_text);
  const bool plain = !agent_own && WithoutSettingOrOptionValues(raw_text);
  AnalyzedText result;

  const ParsedText parsed = Parse(raw, wanted.fingerprint, /*with_tree=*/!plain);
  if (!parsed.ok) {
    if (wanted.fingerprint) {
      result.fingerprint = TokenFingerprint(raw).value_or(QueryidFingerprint(queryid));
    }
    result.exclusion = agent_own ? Exclusion::kAgentOwn : Exclusion::kNone;
    if (wanted.text && wanted.scanner_fallback) {
      result.text = AnonymizeWithScanner(raw);
      result.text_source = TextSource::kScanner;
    }
    return result;
  }
  if (plain) {
    // Classify would find user workload; there is no setting or option value to mask.
    result.fingerprint = parsed.fingerprint;
    if (wanted.text) result.text = NormalizedText(raw, nullptr, /*plain=*/true);
    return result;
  }

  if (wanted.exclusion) {
    result.exclusion = agent_own ? Exclusion::kAgentOwn : Classify(parsed.tree);
  }
  const std::optional<std::vector<ValueRange>> values = ValueRanges(raw, parsed.tree);
  std::optional<std::vector<ValueRange>> every;
  std::optional<std::vector<ValueRange>> non_literal;
  if (values) {
    every = InScope(*values, MaskScope::kEvery);
    non_literal = InScope(*values, MaskScope::kNonLiteral);
  }
  // The text without its setting and option values, for the fingerprint: when they cannot be
  // located with certainty, the fingerprint is the queryid's.
  std::optional<MaskedText> value_free;
  if (wanted.fingerprint && every) value_free = MaskValues(raw, *every, true, parsed.fingerprint);
  if (wanted.fingerprint) {
    result.fingerprint = value_free ? value_free->fingerprint : QueryidFingerprint(queryid);
  }
  if (wanted.text && non_literal) {
    // Every value is not a single literal: the same replacements as for the fingerprint.
    const bool same = value_free && every->size() == non_literal->size();
    const std::optional<MaskedText> masked =
        same ? value_free : MaskValues(raw, *non_literal, false, parsed.fingerprint);
    if (masked) {
      const bool as_parsed = masked->text == raw;
      result.text = NormalizedText(masked->text, as_parsed ? &parsed.tree : nullptr, false);
    }
  }
  return result;
}

// Analyze that never throws: only resource exhaustion (std::bad_alloc and the like) can make it
// throw, and then it fails closed, with no text.
AnalyzedText AnalyzeOrFallBack(std::string_view raw_text, int64_t queryid, const Wanted& wanted) {
  try {
    return Analyze(raw_text, queryid, wanted);
  } catch (const std::exception&) {
    AnalyzedText fallback;
    fallback.fingerprint = QueryidFingerprint(queryid);
    fallback.exclusion = pg::IsMarkedStatement(raw_text) ? Exclusion::kAgentOwn : Exclusion::kNone;
    return fallback;
  }
}

}  // namespace

const char* ExclusionName(Exclusion e) {
  switch (e) {
    case Exclusion::kNone:
      return "none";
    case Exclusion::kAgentOwn:
      return "agent_own";
    case Exclusion::kTransactionControl:
      return "transaction_control";
    case Exclusion::kSessionUtility:
      return "session_utility";
    case Exclusion::kCatalogOnly:
      return "catalog_only";
  }
  return "none";
}

AnalyzedText AnalyzeStatementText(std::string_view raw_text, int64_t queryid) {
  return AnalyzeOrFallBack(raw_text, queryid, Wanted{});
}

AnalyzedText ClassifyStatementText(std::string_view raw_text, int64_t queryid) {
  return AnalyzeOrFallBack(raw_text, queryid, Wanted{.text = false});
}

AnalyzedText AnonymizeStatementText(std::string_view raw_text) {
  return AnalyzeOrFallBack(raw_text, 0, Wanted{.fingerprint = false, .exclusion = false});
}

std::optional<std::string> AnonymizeFragment(std::string_view prefix, std::string_view fragment) {
  try {
    const std::string raw = std::string(prefix) + std::string(fragment);
    const Wanted wanted{
        .fingerprint = false, .exclusion = false, .text = true, .scanner_fallback = false};
    std::optional<std::string> text = Analyze(raw, 0, wanted).text;
    const std::string_view kept = TrimSpace(prefix);
    if (!text || !text->starts_with(kept)) return std::nullopt;
    return std::string(TrimSpace(std::string_view(*text).substr(kept.size())));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace optischema::collector
