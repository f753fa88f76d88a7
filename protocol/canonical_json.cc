#include "protocol/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/utf8.h"

namespace optischema::protocol {

namespace {

constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxQuoted = 32;

std::string Truncated(std::string_view s) {
  if (s.size() <= kMaxQuoted) return std::string(s);
  return std::string(s.substr(0, kMaxQuoted)) + "...";
}

// A path segment for messages: ".name" for plain ASCII keys, ".<key>" for anything else, so a
// message never carries control characters or long input.
std::string KeySegment(std::string_view key) {
  const bool plain =
      !key.empty() && key.size() <= kMaxQuoted && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
      });
  return plain ? "." + std::string(key) : std::string(".<key>");
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out += {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
  } else if (cp < 0x10000) {
    out += {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
            static_cast<char>(0x80 | (cp & 0x3F))};
  } else {
    out += {static_cast<char>(0xF0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
            static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), static_cast<char>(0x80 | (cp & 0x3F))};
  }
}

void AppendCanonicalString(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += {kHex[c >> 4], kHex[c & 0x0F]};
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

// Recursive-descent parser that writes the canonical form as it goes. The first error stops
// everything; each method returns false once error_ is set.
class Canonicalizer {
 public:
  Canonicalizer(std::string_view text, std::optional<std::string_view> drop_key)
      : in_(text), drop_key_(drop_key) {}

  Result<std::string> Run() {
    std::string out;
    SkipWhitespace();
    if (drop_key_ && Peek() != '{') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "canonical JSON: expected an object at the top level");
    }
    if (Value(out, 0)) {
      SkipWhitespace();
      if (pos_ != in_.size()) SyntaxError("unexpected text after the JSON value");
    }
    if (error_) return std::move(*error_);
    return out;
  }

 private:
  char Peek() const { return pos_ < in_.size() ? in_[pos_] : '\0'; }
  bool AtEnd() const { return pos_ >= in_.size(); }

  void SkipWhitespace() {
    while (!AtEnd() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool SyntaxError(const std::string& what) {
    error_ = MakeError(ErrorCode::kParseFailed,
                       "invalid JSON at byte " + std::to_string(pos_) + ": " + what);
    return false;
  }

  bool Refuse(const std::string& what) {
    error_ = MakeError(ErrorCode::kInvalidArgument, "canonical JSON allows " + what);
    return false;
  }

  std::string Path() const {
    std::string p = "$";
    for (const auto& segment : path_) p += segment;
    return p;
  }

  bool Value(std::string& out, int depth) {
    switch (Peek()) {
      case '{':
        return Object(out, depth + 1);
      case '[':
        return Array(out, depth + 1);
      case '"': {
        std::string s;
        if (!String(s)) return false;
        AppendCanonicalString(out, s);
        return true;
      }
      case 't':
        return Literal(out, "true");
      case 'f':
        return Literal(out, "false");
      case 'n':
        return Literal(out, "null");
      default:
        return Number(out);
    }
  }

  bool Literal(std::string& out, std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return SyntaxError("expected a value");
    pos_ += word.size();
    out += word;
    return true;
  }

  bool Number(std::string& out) {
    const std::size_t start = pos_;
    const auto digits = [&] {
      const std::size_t from = pos_;
      while (!AtEnd() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (!digits()) {
      return SyntaxError("expected a value");
    }
    bool integer = true;
    if (Peek() == '.') {
      ++pos_;
      if (!digits()) return SyntaxError("expected digits after '.'");
      integer = false;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!digits()) return SyntaxError("expected digits in the exponent");
      integer = false;
    }
    const std::string_view token = in_.substr(start, pos_ - start);
    if (!integer) {
      return Refuse("integers only: " + Path() + " is " + Truncated(token) +
                    "; send fractions as strings or in integer units");
    }
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (ec != std::errc() || end != token.data() + token.size()) {
      return Refuse("integers in the signed 64-bit range only: " + Path() + " is " +
                    Truncated(token));
    }
    char buf[24];
    const auto written = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, written.ptr);
    return true;
  }

  bool Array(std::string& out, int depth) {
    if (depth > kMaxDepth) return Refuse("nesting up to 64 levels only: " + Path());
    ++pos_;  // '['
    out.push_back('[');
    SkipWhitespace();
    if (Peek() == ']') {
      ++pos_;
      out.push_back(']');
      return true;
    }
    for (std::size_t index = 0;; ++index) {
      if (index > 0) out.push_back(',');
      path_.push_back("[" + std::to_string(index) + "]");
      SkipWhitespace();
      if (!Value(out, depth)) return false;
      path_.pop_back();
      SkipWhitespace();
      if (Peek() == ']') {
        ++pos_;
        out.push_back(']');
        return true;
      }
      if (Peek() != ',') return SyntaxError("expected ',' or ']' in an array");
      ++pos_;
    }
  }

  bool Object(std::string& out, int depth) {
    if (depth > kMaxDepth) return Refuse("nesting up to 64 levels only: " + Path());
    ++pos_;                                                    // '{'
    std::vector<std::pair<std::string, std::string>> members;  // unescaped key, canonical value
    SkipWhitespace();
    if (Peek() == '}') {
      ++pos_;
    } else {
      for (;;) {
        SkipWhitespace();
        if (Peek() != '"') return SyntaxError("expected a string key in an object");
        std::string key;
        if (!String(key)) return false;
        SkipWhitespace();
        if (Peek() != ':') return SyntaxError("expected ':' after an object key");
        ++pos_;
        SkipWhitespace();
        path_.push_back(KeySegment(key));
        std::string value;
        if (!Value(value, depth)) return false;
        path_.pop_back();
        members.emplace_back(std::move(key), std::move(value));
        SkipWhitespace();
        if (Peek() == '}') {
          ++pos_;
          break;
        }
        if (Peek() != ',') return SyntaxError("expected ',' or '}' in an object");
        ++pos_;
      }
    }
    // std::string's ordering is char_traits<char>::compare, which compares as unsigned char:
    // exactly the UTF-8 byte order of the contract.
    std::sort(members.begin(), members.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    const auto dup =
        std::adjacent_find(members.begin(), members.end(),
                           [](const auto& a, const auto& b) { return a.first == b.first; });
    if (dup != members.end()) {
      return Refuse("no duplicate keys: " + Path() + " has " + KeySegment(dup->first).substr(1) +
                    " twice");
    }
    out.push_back('{');
    bool first = true;
    for (const auto& [key, value] : members) {
      if (depth == 1 && drop_key_ && key == *drop_key_) continue;
      if (!first) out.push_back(',');
      first = false;
      AppendCanonicalString(out, key);
      out.push_back(':');
      out += value;
    }
    out.push_back('}');
    return true;
  }

  // Reads a string token at pos_ ('"') into its unescaped UTF-8 value.
  bool String(std::string& value) {
    ++pos_;  // opening quote
    for (;;) {
      if (AtEnd()) return SyntaxError("unterminated string");
      const auto c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return SyntaxError("raw control character in a string (escape it)");
      if (c == '\\') {
        if (!Escape(value)) return false;
      } else if (c < 0x80) {
        value.push_back(static_cast<char>(c));
        ++pos_;
      } else {
        const std::size_t n = Utf8SequenceLength(in_, pos_);
        if (n == 0) return SyntaxError("invalid UTF-8 in a string");
        value.append(in_.substr(pos_, n));
        pos_ += n;
      }
    }
  }

  bool Escape(std::string& value) {
    ++pos_;  // backslash
    const char e = Peek();
    ++pos_;
    switch (e) {
      case '"':
        value.push_back('"');
        return true;
      case '\\':
        value.push_back('\\');
        return true;
      case '/':
        value.push_back('/');
        return true;
      case 'b':
        value.push_back('\b');
        return true;
      case 'f':
        value.push_back('\f');
        return true;
      case 'n':
        value.push_back('\n');
        return true;
      case 'r':
        value.push_back('\r');
        return true;
      case 't':
        value.push_back('\t');
        return true;
      case 'u':
        break;
      default:
        --pos_;
        return SyntaxError("unknown escape in a string");
    }
    std::optional<uint32_t> cp = Hex4();
    if (!cp) return SyntaxError("expected four hex digits after \\u");
    if (*cp >= 0xDC00 && *cp <= 0xDFFF) return SyntaxError("unpaired surrogate escape");
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
      if (in_.substr(pos_, 2) != "\\u") return SyntaxError("unpaired surrogate escape");
      pos_ += 2;
      const std::optional<uint32_t> low = Hex4();
      if (!low || *low < 0xDC00 || *low > 0xDFFF) {
        return SyntaxError("unpaired surrogate escape");
      }
      *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
    }
    AppendUtf8(value, *cp);
    return true;
  }

  std::optional<uint32_t> Hex4() {
    if (pos_ + 4 > in_.size()) return std::nullopt;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = in_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<uint32_t>(h - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    return v;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::optional<std::string_view> drop_key_;
  std::vector<std::string> path_;
  std::optional<Error> error_;
};

}  // namespace

Result<std::string> CanonicalJson(std::string_view json_text) {
  return Canonicalizer(json_text, std::nullopt).Run();
}

Result<std::string> CanonicalJsonWithout(std::string_view json_text,
                                         std::string_view top_level_key) {
  return Canonicalizer(json_text, top_level_key).Run();
}

}  // namespace optischema::protocol
