#include "collector/scanner_anonymizer.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "pg/pg_query_owned.h"

namespace optischema::collector {
namespace {

using ScanResult = pg::PgQueryScanned;

struct UnpackedScanDeleter {
  void operator()(PgQuery__ScanResult* result) const {
    pg_query__scan_result__free_unpacked(result, nullptr);
  }
};
using UnpackedScan = std::unique_ptr<PgQuery__ScanResult, UnpackedScanDeleter>;

// Numbers in a newer syntax replaced before the text scans; beyond this many, no text.
constexpr std::size_t kMaxRepairs = 256;

// Why the scanner rejected a text: its message and the 1-based character position it points at.
struct ScanError {
  std::string message;
  int cursor = 0;
};

struct ScanOutcome {
  std::optional<std::vector<SqlToken>> tokens;
  std::optional<ScanError> error;  // set when the scanner itself rejected the text
};

ScanOutcome Scan(const std::string& sql) {
  const ScanResult scan(pg_query_scan(sql.c_str()));
  if (scan->error != nullptr) {
    return {std::nullopt, ScanError{scan->error->message != nullptr ? scan->error->message : "",
                                    scan->error->cursorpos}};
  }
  const UnpackedScan unpacked(pg_query__scan_result__unpack(
      nullptr, scan->pbuf.len, reinterpret_cast<const uint8_t*>(scan->pbuf.data)));
  if (unpacked == nullptr) return {};

  std::vector<SqlToken> tokens;
  tokens.reserve(unpacked->n_tokens);
  std::size_t previous_end = 0;
  for (std::size_t i = 0; i < unpacked->n_tokens; ++i) {
    const PgQuery__ScanToken* token = unpacked->tokens[i];
    if (token == nullptr || token->start < 0 || token->end < token->start) return {};
    const auto start = static_cast<std::size_t>(token->start);
    const auto end = static_cast<std::size_t>(token->end);
    if (start < previous_end || end > sql.size()) return {};
    tokens.push_back({start, end, token->token, token->keyword_kind});
    previous_end = end;
  }
  return {std::move(tokens), std::nullopt};
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool IsAllSpace(std::string_view text) { return std::all_of(text.begin(), text.end(), IsSpace); }

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAsciiAlnum(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool IsWordByte(char c) {
  return IsAsciiAlnum(c) || c == '_' || c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

bool IsKeyword(const SqlToken& token) {
  return token.keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD;
}

bool IsReserved(const SqlToken& token) {
  return token.keyword_kind == PG_QUERY__KEYWORD_KIND__RESERVED_KEYWORD;
}

// An identifier or any keyword: what a setting or option name can be written as.
bool IsNameWord(const SqlToken& token) {
  return token.kind == PG_QUERY__TOKEN__IDENT || token.kind == PG_QUERY__TOKEN__UIDENT ||
         IsKeyword(token);
}

// A word that can be a setting or option value written bare: an identifier or a keyword that is
// not reserved.
bool IsValueWord(const SqlToken& token) { return IsNameWord(token) && !IsReserved(token); }

// Reserved keywords that are setting values themselves (SET x TO DEFAULT, SET x = on).
bool IsValueKeyword(int kind) {
  return kind == PG_QUERY__TOKEN__ON || kind == PG_QUERY__TOKEN__TRUE_P ||
         kind == PG_QUERY__TOKEN__FALSE_P || kind == PG_QUERY__TOKEN__NULL_P ||
         kind == PG_QUERY__TOKEN__DEFAULT;
}

bool IsOpening(int kind) {
  return kind == PG_QUERY__TOKEN__ASCII_40 || kind == PG_QUERY__TOKEN__ASCII_91;
}
bool IsClosing(int kind) {
  return kind == PG_QUERY__TOKEN__ASCII_41 || kind == PG_QUERY__TOKEN__ASCII_93;
}

bool IsKnownKind(int kind) {
  return kind != PG_QUERY__TOKEN__NUL &&
         protobuf_c_enum_descriptor_get_value(&pg_query__token__descriptor, kind) != nullptr;
}

// Marks setting and option values, statement by statement, over the tokens without comments.
class ValueMarker {
 public:
  explicit ValueMarker(const std::vector<SqlToken>& tokens)
      : tokens_(tokens), marked_(tokens.size(), false) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (!IsCommentToken(tokens[i].kind)) order_.push_back(i);
    }
  }

  std::vector<bool> Run() && {
    std::size_t begin = 0;
    for (std::size_t k = 0; k <= order_.size(); ++k) {
      if (k == order_.size() || Kind(k) == PG_QUERY__TOKEN__ASCII_59) {
        Statement(begin, k);
        begin = k + 1;
      }
    }
    return std::move(marked_);
  }

 private:
  const SqlToken& At(std::size_t k) const { return tokens_[order_[k]]; }
  int Kind(std::size_t k) const { return At(k).kind; }
  void Mark(std::size_t k) { marked_[order_[k]] = true; }

  // Tokens [begin, end) of one statement.
  void Statement(std::size_t begin, std::size_t end) {
    for (std::size_t k = begin; k < end; ++k) {
      if (Kind(k) == PG_QUERY__TOKEN__SET && !AssignsColumns(begin, k)) {
        if (const std::optional<std::size_t> value = SettingValueStart(k, end)) {
          MarkSettingValue(*value, end);
        }
      }
      if (Kind(k) == PG_QUERY__TOKEN__ASCII_40 && OpensOptionList(begin, k)) MarkOptionList(k, end);
    }
  }

  // Whether the SET at `set` is UPDATE's: UPDATE right before it, or UPDATE and a table name.
  bool AssignsColumns(std::size_t begin, std::size_t set) const {
    for (std::size_t k = set; k-- > begin;) {
      const SqlToken& token = At(k);
      if (token.kind == PG_QUERY__TOKEN__UPDATE) return true;
      const bool table_name = IsValueWord(token) || token.kind == PG_QUERY__TOKEN__ASCII_46 ||
                              token.kind == PG_QUERY__TOKEN__ASCII_42 ||
                              token.kind == PG_QUERY__TOKEN__ONLY ||
                              token.kind == PG_QUERY__TOKEN__AS;
      if (!table_name) return false;
    }
    return false;
  }

  // The first value token of the setting SET at `set` starts, if it is one.
  std::optional<std::size_t> SettingValueStart(std::size_t set, std::size_t end) const {
    std::size_t k = set + 1;
    if (k < end && (Kind(k) == PG_QUERY__TOKEN__SESSION || Kind(k) == PG_QUERY__TOKEN__LOCAL)) ++k;
    if (k >= end) return std::nullopt;
    switch (Kind(k)) {
      case PG_QUERY__TOKEN__ROLE:
      case PG_QUERY__TOKEN__AUTHORIZATION:
      case PG_QUERY__TOKEN__NAMES:
      case PG_QUERY__TOKEN__SCHEMA:
        return k + 1;
      case PG_QUERY__TOKEN__TIME:
        if (k + 1 < end && Kind(k + 1) == PG_QUERY__TOKEN__ZONE) return k + 2;
        break;
      default:
        break;
    }
    if (!IsNameWord(At(k))) return std::nullopt;
    ++k;
    while (k + 1 < end && Kind(k) == PG_QUERY__TOKEN__ASCII_46 && IsNameWord(At(k + 1))) k += 2;
    if (k < end && (Kind(k) == PG_QUERY__TOKEN__ASCII_61 || Kind(k) == PG_QUERY__TOKEN__TO)) {
      return k + 1;
    }
    return std::nullopt;
  }

  // A setting's values: words and literals, each after an optional sign, separated by commas.
  void MarkSettingValue(std::size_t first, std::size_t end) {
    std::size_t k = first;
    while (k < end) {
      if (Kind(k) == PG_QUERY__TOKEN__ASCII_45 || Kind(k) == PG_QUERY__TOKEN__ASCII_43) ++k;
      if (k >= end) return;
      const SqlToken& token = At(k);
      if (IsValueWord(token)) {
        Mark(k);
      } else if (!IsLiteralToken(token.kind) && token.kind != PG_QUERY__TOKEN__PARAM &&
                 !IsValueKeyword(token.kind)) {
        return;
      }
      if (k + 1 >= end || Kind(k + 1) != PG_QUERY__TOKEN__ASCII_44) return;
      k += 2;  // past the comma, to the next value
    }
  }

  bool OpensOptionList(std::size_t begin, std::size_t open) const {
    if (open == begin) return false;
    const int previous = Kind(open - 1);
    if (previous == PG_QUERY__TOKEN__WITH || previous == PG_QUERY__TOKEN__SET ||
        previous == PG_QUERY__TOKEN__RESET || previous == PG_QUERY__TOKEN__OPTIONS) {
      return true;
    }
    if (open - 1 == begin &&
        (previous == PG_QUERY__TOKEN__EXPLAIN || previous == PG_QUERY__TOKEN__VACUUM ||
         previous == PG_QUERY__TOKEN__ANALYZE || previous == PG_QUERY__TOKEN__ANALYSE ||
         previous == PG_QUERY__TOKEN__REINDEX || previous == PG_QUERY__TOKEN__CLUSTER)) {
      return true;
    }
    return Kind(begin) == PG_QUERY__TOKEN__COPY &&
           (previous == PG_QUERY__TOKEN__STDIN || previous == PG_QUERY__TOKEN__STDOUT ||
            previous == PG_QUERY__TOKEN__SCONST);
  }

  // The elements of the list opened at `open`, up to its closing parenthesis.
  void MarkOptionList(std::size_t open, std::size_t end) {
    std::size_t first = open + 1;
    while (first < end) {
      std::size_t last = first;
      int depth = 0;
      for (; last < end; ++last) {
        const int kind = Kind(last);
        if (IsOpening(kind)) {
          ++depth;
        } else if (IsClosing(kind)) {
          if (depth == 0) break;
          --depth;
        } else if (kind == PG_QUERY__TOKEN__ASCII_44 && depth == 0) {
          break;
        }
      }
      MarkOptionValue(first, last);
      if (last >= end || Kind(last) != PG_QUERY__TOKEN__ASCII_44) return;
      first = last + 1;
    }
  }

  void MarkOptionValue(std::size_t first, std::size_t last) {
    std::size_t k = first;
    if (k + 1 < last &&
        (Kind(k) == PG_QUERY__TOKEN__SET || Kind(k) == PG_QUERY__TOKEN__ADD_P ||
         Kind(k) == PG_QUERY__TOKEN__DROP) &&
        IsNameWord(At(k + 1))) {
      ++k;
    }
    if (k < last && IsNameWord(At(k))) {
      ++k;
      while (k + 1 < last && Kind(k) == PG_QUERY__TOKEN__ASCII_46 && IsNameWord(At(k + 1))) k += 2;
    }
    if (k < last && Kind(k) == PG_QUERY__TOKEN__ASCII_61) ++k;
    for (; k < last; ++k) {
      if (IsValueWord(At(k))) Mark(k);
    }
  }

  const std::vector<SqlToken>& tokens_;
  std::vector<std::size_t> order_;  // indexes of the tokens that are not comments
  std::vector<bool> marked_;
};

struct Span {
  std::size_t start;
  std::size_t end;  // one past the last byte
};

// Bytes of the UTF-8 character `lead` starts, as PostgreSQL counts them (pg_utf_mblen).
std::size_t Utf8Length(char lead) {
  const auto byte = static_cast<unsigned char>(lead);
  if ((byte & 0x80U) == 0) return 1;
  if ((byte & 0xe0U) == 0xc0U) return 2;
  if ((byte & 0xf0U) == 0xe0U) return 3;
  if ((byte & 0xf8U) == 0xf0U) return 4;
  return 1;
}

// Byte offset of character `index` (0-based) of `text`: the scanner reports error positions in
// characters.
std::optional<std::size_t> ByteOffsetOfCharacter(std::string_view text, int index) {
  std::size_t offset = 0;
  for (int i = 0; i < index; ++i) {
    if (offset >= text.size()) return std::nullopt;
    offset += Utf8Length(text[offset]);
  }
  if (offset >= text.size()) return std::nullopt;
  return offset;
}

// End of the number-like run starting at `start` (a digit, a `.` or the `$` of a parameter):
// letters, digits and `_`, one `.` of a decimal number, the sign of a decimal exponent.
std::size_t NumberEnd(std::string_view text, std::size_t start) {
  const std::size_t n = text.size();
  std::size_t i = start;
  if (text[i] == '$') ++i;
  const bool prefixed = i + 1 < n && text[i] == '0' &&
                        std::string_view("xXoObB").find(text[i + 1]) != std::string_view::npos;
  bool seen_dot = false;
  bool seen_exponent = false;
  while (i < n) {
    const char c = text[i];
    if (IsAsciiAlnum(c) || c == '_') {
      if (!prefixed && (c == 'e' || c == 'E')) seen_exponent = true;
      ++i;
    } else if (c == '.' && !prefixed && !seen_dot && !seen_exponent &&
               !(i + 1 < n && text[i + 1] == '.')) {
      seen_dot = true;
      ++i;
    } else if ((c == '+' || c == '-') && !prefixed && i > start &&
               (text[i - 1] == 'e' || text[i - 1] == 'E') && i + 1 < n &&
               IsAsciiDigit(text[i + 1])) {
      ++i;
    } else {
      break;
    }
  }
  return i;
}

// The number the scanner rejected as trailing junk, e.g. `0x1F` for "trailing junk after numeric
// literal at or near "0x"", when the message, the position and the text agree.
std::optional<Span> JunkNumber(std::string_view text, const ScanError& error) {
  static constexpr std::array<std::string_view, 2> kMessages = {
      "trailing junk after numeric literal at or near \"",
      "trailing junk after parameter at or near \""};
  const std::string_view message = error.message;
  std::string_view junk;
  for (std::string_view prefix : kMessages) {
    if (message.starts_with(prefix)) junk = message.substr(prefix.size());
  }
  if (junk.size() < 2 || junk.back() != '"' || error.cursor < 1) return std::nullopt;
  junk.remove_suffix(1);
  const std::optional<std::size_t> start = ByteOffsetOfCharacter(text, error.cursor - 1);
  if (!start || text.substr(*start, junk.size()) != junk) return std::nullopt;
  return Span{*start, std::max(NumberEnd(text, *start), *start + junk.size())};
}

// Tokens that glue into one run when nothing separates them: words, numbers, parameters, `.`,
// strings, and tokens of a kind the scanner does not name.
bool IsRunToken(const SqlToken& token) {
  switch (token.kind) {
    case PG_QUERY__TOKEN__IDENT:
    case PG_QUERY__TOKEN__UIDENT:
    case PG_QUERY__TOKEN__PARAM:
    case PG_QUERY__TOKEN__ASCII_46:
      return true;
    default:
      return IsKeyword(token) || IsLiteralToken(token.kind) || !IsKnownKind(token.kind);
  }
}

// Highest n among the $n parameters of `text`; saturates far above what PostgreSQL accepts.
std::uint64_t HighestParam(std::string_view text, const std::vector<SqlToken>& tokens) {
  constexpr std::uint64_t kCap = std::uint64_t{1} << 32U;
  std::uint64_t highest = 0;
  for (const SqlToken& token : tokens) {
    if (token.kind != PG_QUERY__TOKEN__PARAM) continue;
    std::uint64_t number = 0;
    for (std::size_t i = token.start + 1; i < token.end && IsAsciiDigit(text[i]); ++i) {
      number = std::min(number * 10 + static_cast<std::uint64_t>(text[i] - '0'), kCap);
    }
    highest = std::max(highest, number);
  }
  return highest;
}

// One unit of the output: kept as written or replaced by the next $n.
struct Piece {
  std::size_t start;
  std::size_t end;
  bool replace;
};

// The anonymized text from the tokens of `text` (scanned with the numbers in `repaired` replaced).
std::string Render(std::string_view text, std::vector<SqlToken> tokens,
                   const std::vector<Span>& repaired) {
  std::vector<bool> doubtful(tokens.size(), false);
  for (const Span& span : repaired) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i].start < span.end && tokens[i].end > span.start) {
        tokens[i].end = std::max(tokens[i].end, span.end);
        doubtful[i] = true;
      }
    }
  }
  std::vector<Piece> pieces;
  // Anything but whitespace between tokens was not scanned as it is: it goes with the token before.
  const std::size_t first_start = tokens.empty() ? text.size() : tokens.front().start;
  const std::string_view leading = text.substr(0, first_start);
  if (!IsAllSpace(leading)) {
    const std::size_t begin = leading.find_first_not_of(" \t\n\r\f\v");
    const std::size_t last = leading.find_last_not_of(" \t\n\r\f\v");
    pieces.push_back({begin, last + 1, true});
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::size_t next = i + 1 < tokens.size() ? tokens[i + 1].start : text.size();
    tokens[i].end = std::min(tokens[i].end, next);
    const std::string_view gap = text.substr(tokens[i].end, next - tokens[i].end);
    if (!IsAllSpace(gap)) {
      tokens[i].end += gap.find_last_not_of(" \t\n\r\f\v") + 1;
      doubtful[i] = true;
    }
    if (!IsKnownKind(tokens[i].kind)) doubtful[i] = true;
  }
  const std::vector<bool> values = SettingAndOptionValues(tokens);

  for (std::size_t i = 0; i < tokens.size();) {
    const SqlToken& token = tokens[i];
    if (IsCommentToken(token.kind) && !doubtful[i]) {
      ++i;
      continue;
    }
    if (!IsRunToken(token) || IsCommentToken(token.kind)) {
      pieces.push_back({token.start, token.end, doubtful[i] || values[i]});
      ++i;
      continue;
    }
    std::size_t last = i;
    while (last + 1 < tokens.size() && IsRunToken(tokens[last + 1]) &&
           !IsCommentToken(tokens[last + 1].kind) && tokens[last + 1].start == tokens[last].end) {
      ++last;
    }
    bool holds_literal = false;
    for (std::size_t k = i; k <= last; ++k) {
      holds_literal = holds_literal || IsLiteralToken(tokens[k].kind) || doubtful[k];
    }
    if (holds_literal) {
      pieces.push_back({token.start, tokens[last].end, true});
    } else {
      for (std::size_t k = i; k <= last; ++k) {
        pieces.push_back({tokens[k].start, tokens[k].end, values[k]});
      }
    }
    i = last + 1;
  }

  std::uint64_t next_param = HighestParam(text, tokens) + 1;
  std::string out;
  out.reserve(text.size());
  for (std::size_t p = 0; p < pieces.size(); ++p) {
    // A space where the text had one, and between a placeholder and a word glued to it (x$1
    // would read as one identifier).
    if (p > 0 && (pieces[p].start > pieces[p - 1].end ||
                  (pieces[p].replace && !out.empty() && IsWordByte(out.back())) ||
                  (pieces[p - 1].replace && IsWordByte(text[pieces[p].start])))) {
      out.push_back(' ');
    }
    if (pieces[p].replace) {
      out.push_back('$');
      out.append(std::to_string(next_param++));
    } else {
      out.append(text.substr(pieces[p].start, pieces[p].end - pieces[p].start));
    }
  }
  return out;
}

}  // namespace

std::optional<std::vector<SqlToken>> ScanSqlTokens(std::string_view text) {
  return Scan(std::string(text)).tokens;
}

bool IsLiteralToken(int kind) {
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

bool IsCommentToken(int kind) {
  return kind == PG_QUERY__TOKEN__SQL_COMMENT || kind == PG_QUERY__TOKEN__C_COMMENT;
}

std::vector<bool> SettingAndOptionValues(const std::vector<SqlToken>& tokens) {
  return ValueMarker(tokens).Run();
}

std::optional<std::string> AnonymizeWithScanner(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string work(text);
  std::vector<Span> repaired;
  for (;;) {
    ScanOutcome outcome = Scan(work);
    if (outcome.tokens) return Render(text, std::move(*outcome.tokens), repaired);
    if (!outcome.error || repaired.size() >= kMaxRepairs) return std::nullopt;
    const std::optional<Span> junk = JunkNumber(work, *outcome.error);
    if (!junk) return std::nullopt;
    work[junk->start] = '0';
    std::fill(work.begin() + static_cast<std::ptrdiff_t>(junk->start + 1),
              work.begin() + static_cast<std::ptrdiff_t>(junk->end), ' ');
    repaired.push_back(*junk);
  }
}

}  // namespace optischema::collector
