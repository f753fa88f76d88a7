#include "collector/statement_text.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "pg/pg_query_owned.h"
#include "pg/agent_marker.h"

namespace optischema::collector {
namespace {

using Json = nlohmann::json;

using ParseResult = pg::PgQueryParsed;
using NormalizeResult = pg::PgQueryNormalized;
using ScanResult = pg::PgQueryScanned;
using FingerprintResult = pg::PgQueryFingerprinted;

struct UnpackedScanDeleter {
  void operator()(PgQuery__ScanResult* result) const {
    pg_query__scan_result__free_unpacked(result, nullptr);
  }
};
using UnpackedScan = std::unique_ptr<PgQuery__ScanResult, UnpackedScanDeleter>;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool IsAllSpace(std::string_view text) { return std::all_of(text.begin(), text.end(), IsSpace); }

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}


bool IsLiteralToken(PgQuery__Token kind) {
  switch (kind) {
    case PG_QUERY__TOKEN__SCONST:
    case PG_QUERY__TOKEN__USCONST:
    case PG_QUERY__TOKEN__ICONST:
    case PG_QUERY__TOKEN__FCONST:
    case PG_QUERY__TOKEN__BCONST:
    case PG_QUERY__TOKEN__XCONST:
      return true;
    default:
      return false;
  }
}

bool IsCommentToken(PgQuery__Token kind) {
  return kind == PG_QUERY__TOKEN__SQL_COMMENT || kind == PG_QUERY__TOKEN__C_COMMENT;
}

struct Token {
  std::size_t start;
  std::size_t end;  // one past the last byte
  PgQuery__Token kind;
};

// Tokens of `sql` in text order. nullopt when the scanner rejects the text or reports positions
// that are out of range, overlapping or out of order: callers cut literals out by position, so
// positions that cannot be trusted must not be used.
std::optional<std::vector<Token>> Scan(const std::string& sql) {
  const ScanResult scan(pg_query_scan(sql.c_str()));
  if (scan->error != nullptr) return std::nullopt;
  const UnpackedScan unpacked(pg_query__scan_result__unpack(
      nullptr, scan->pbuf.len, reinterpret_cast<const uint8_t*>(scan->pbuf.data)));
  if (unpacked == nullptr) return std::nullopt;

  std::vector<Token> tokens;
  tokens.reserve(unpacked->n_tokens);
  std::size_t previous_end = 0;
  for (std::size_t i = 0; i < unpacked->n_tokens; ++i) {
    const PgQuery__ScanToken* token = unpacked->tokens[i];
    if (token == nullptr || token->start < 0 || token->end < token->start) return std::nullopt;
    const auto start = static_cast<std::size_t>(token->start);
    const auto end = static_cast<std::size_t>(token->end);
    if (start < previous_end || end > sql.size()) return std::nullopt;
    tokens.push_back({start, end, token->token});
    previous_end = end;
  }
  return tokens;
}

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

bool IsHex16(const char* text) {
  if (text == nullptr) return false;
  const std::string_view view(text);
  return view.size() == 16 && std::all_of(view.begin(), view.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Hash of the token stream in which every literal and every comment is reduced to a fixed tag, so
// it depends on keywords, identifiers, operators and parameters only. Each token is encoded as a
// tag byte plus, for kept tokens, a length-prefixed text, which keeps the encoding unambiguous.
std::optional<std::string> TokenFingerprint(const std::string& raw) {
  const std::optional<std::vector<Token>> tokens = Scan(raw);
  if (!tokens) return std::nullopt;
  Fnv1a hash;
  for (const Token& token : *tokens) {
    if (IsLiteralToken(token.kind)) {
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

// Rebuilds `normalized` from its tokens: a comment and the whitespace around it become one space,
// every literal token becomes the next unused $k, whitespace between other tokens is kept, and the
// result is trimmed. nullopt when the text does not scan or the scanner leaves anything but
// whitespace between tokens (nothing unscanned may reach the output).
std::optional<std::string> StripCommentsAndLiterals(const std::string& normalized) {
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
Exclusion Classify(const char* parse_tree) {
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

// libpg_query's fingerprint, or the token fingerprint when libpg_query cannot compute one.
std::string ParsedFingerprint(const std::string& raw, int64_t queryid) {
  const FingerprintResult fingerprint(pg_query_fingerprint(raw.c_str()));
  if (fingerprint->error == nullptr) {
    return IsHex16(fingerprint->fingerprint_str) ? std::string(fingerprint->fingerprint_str)
                                                 : Hex16(fingerprint->fingerprint);
  }
  return TokenFingerprint(raw).value_or(QueryidFingerprint(queryid));
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
  std::size_t end;  // one past the last byte
};

bool IsWordToken(PgQuery__Token kind) {
  return kind == PG_QUERY__TOKEN__IDENT || kind == PG_QUERY__TOKEN__UIDENT ||
         static_cast<int>(kind) >= static_cast<int>(PG_QUERY__TOKEN__ABORT_P);
}

bool IsSign(PgQuery__Token kind) {
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
bool AddConstValue(const std::vector<Token>& tokens, std::size_t location, MaskScope scope,
                   std::vector<ValueRange>& out) {
  const std::optional<std::size_t> at = TokenAt(tokens, location);
  if (!at) return false;
  std::size_t last = *at + 1;
  if (IsSign(tokens[*at].kind)) {
    if (last >= tokens.size()) return false;
    ++last;
  }
  if (scope == MaskScope::kEvery || !IsSingleLiteral(tokens, *at, last)) {
    out.push_back({tokens[*at].start, tokens[last - 1].end});
  }
  return true;
}

// Adds the value of the list element DefElem at token `at`, if it has one; false when the tokens
// there do not read as `name [. name] [=] value`.
bool AddListOptionValue(const std::vector<Token>& tokens, std::size_t at, MaskScope scope,
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
    const PgQuery__Token kind = tokens[last].kind;
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
  if (first < last && (scope == MaskScope::kEvery || !IsSingleLiteral(tokens, first, last))) {
    out.push_back({tokens[first].start, tokens[last - 1].end});
  }
  return true;
}

// The value ranges of `raw` in `scope`, ordered and disjoint; nullopt when the text does not
// parse or scan, or a value cannot be located with certainty.
std::optional<std::vector<ValueRange>> ValuesToMask(const std::string& raw, MaskScope scope) {
  const ParseResult parsed(pg_query_parse(raw.c_str()));
  if (parsed->error != nullptr || parsed->parse_tree == nullptr) return std::nullopt;
  const std::string_view tree_text(parsed->parse_tree);
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
            if (!location || !AddConstValue(tokens, *location, scope, ranges)) {
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
        if (in_list && value.contains("arg") && !AddListOptionValue(tokens, *at, scope, ranges)) {
          return std::nullopt;
        }
      }
      pending.push_back(&value);
    }
  }
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

// `raw` with the setting and option values in `scope` replaced by one placeholder literal each;
// nullopt when the result cannot be certain to hold single literals only.
std::optional<std::string> MaskValues(const std::string& raw, MaskScope scope) {
  const std::optional<std::vector<ValueRange>> ranges = ValuesToMask(raw, scope);
  if (!ranges) return std::nullopt;
  if (ranges->empty()) return raw;
  std::string masked;
  masked.reserve(raw.size());
  std::size_t position = 0;
  for (const ValueRange& range : *ranges) {
    masked.append(raw, position, range.start - position);
    // Spaces keep the placeholder one token: `x'..'` would be a bit string, `'..''..'` one string.
    if (range.start > 0 && IsWordByte(raw[range.start - 1])) masked.push_back(' ');
    masked.append("'?'");
    if (range.end < raw.size() && IsWordByte(raw[range.end])) masked.push_back(' ');
    position = range.end;
  }
  masked.append(raw, position);
  const std::optional<std::vector<ValueRange>> again = ValuesToMask(masked, MaskScope::kNonLiteral);
  if (!again || !again->empty()) return std::nullopt;
  return masked;
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

std::optional<std::string> AnonymizedText(const std::string& original) {
  const std::optional<std::string> masked = WithoutSettingOrOptionValues(original)
                                                ? std::optional<std::string>(original)
                                                : MaskValues(original, MaskScope::kNonLiteral);
  if (!masked) return std::nullopt;
  const std::string& raw = *masked;
  const NormalizeResult normalized(pg_query_normalize(raw.c_str()));
  if (normalized->error != nullptr || normalized->normalized_query == nullptr) return std::nullopt;
  return StripCommentsAndLiterals(normalized->normalized_query);
}

// Exclusion and fingerprint of `raw`, plus its anonymized text when `with_text`.
AnalyzedText Analyze(std::string_view raw_text, int64_t queryid, bool with_text) {
  const std::string raw(raw_text);
  const bool agent_own = pg::IsMarkedStatement(raw_text);
  AnalyzedText result;

  if (!agent_own && WithoutSettingOrOptionValues(raw_text)) {
    // The same results as below without building the tree: when the text does not parse, the
    // fingerprint falls back the same way and normalization fails, leaving no text.
    result.fingerprint = ParsedFingerprint(raw, queryid);
    if (with_text) result.text = AnonymizedText(raw);
    return result;
  }

  const ParseResult parsed(pg_query_parse(raw.c_str()));
  if (parsed->error != nullptr || parsed->parse_tree == nullptr) {
    result.fingerprint = TokenFingerprint(raw).value_or(QueryidFingerprint(queryid));
    result.exclusion = agent_own ? Exclusion::kAgentOwn : Exclusion::kNone;
    return result;
  }
  // Statements with setting or option values: the fingerprint of the text without them, or, when
  // they cannot be located with certainty, of the queryid.
  const std::optional<std::string> value_free = MaskValues(raw, MaskScope::kEvery);
  result.fingerprint =
      value_free ? ParsedFingerprint(*value_free, queryid) : QueryidFingerprint(queryid);
  if (with_text) result.text = AnonymizedText(raw);
  result.exclusion = agent_own ? Exclusion::kAgentOwn : Classify(parsed->parse_tree);
  return result;
}

// Analyze that never throws: only resource exhaustion (std::bad_alloc and the like) can make it
// throw, and then it fails closed, with no text.
AnalyzedText AnalyzeOrFallBack(std::string_view raw_text, int64_t queryid, bool with_text) {
  try {
    return Analyze(raw_text, queryid, with_text);
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
  return AnalyzeOrFallBack(raw_text, queryid, /*with_text=*/true);
}

AnalyzedText ClassifyStatementText(std::string_view raw_text, int64_t queryid) {
  return AnalyzeOrFallBack(raw_text, queryid, /*with_text=*/false);
}

std::optional<std::string> AnonymizeStatementText(std::string_view raw_text) {
  try {
    return AnonymizedText(std::string(raw_text));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::string> AnonymizeFragment(std::string_view prefix, std::string_view fragment) {
  try {
    const std::string raw = std::string(prefix) + std::string(fragment);
    const ParseResult parsed(pg_query_parse(raw.c_str()));
    if (parsed->error != nullptr || parsed->parse_tree == nullptr) return std::nullopt;
    std::optional<std::string> text = AnonymizedText(raw);
    const std::string_view kept = TrimSpace(prefix);
    if (!text || !text->starts_with(kept)) return std::nullopt;
    return std::string(TrimSpace(std::string_view(*text).substr(kept.size())));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace optischema::collector
