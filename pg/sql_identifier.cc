#include "pg/sql_identifier.h"

namespace optischema::pg {

std::string QuoteIdentifier(std::string_view name) {
  constexpr std::size_t kMaxIdentifierBytes = 63;  // NAMEDATALEN - 1
  if (name.empty() || name.size() > kMaxIdentifierBytes) return {};
  std::string out;
  out.reserve(name.size() + 2);
  out.push_back('"');
  for (char c : name) {
    if (c == '\0') return {};
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string QuoteLiteral(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace optischema::pg
