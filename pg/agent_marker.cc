#include "pg/agent_marker.h"

namespace optischema::pg {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool IsWordChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

std::string_view SkipSpace(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  return text;
}

}  // namespace

std::string MarkStatement(std::string_view sql) {
  std::size_t word = 0;
  while (word < sql.size() && IsWordChar(sql[word])) ++word;
  std::string out;
  out.reserve(kAgentMarker.size() + 2 + sql.size());
  if (word == 0) {
    out.append(kAgentMarker);
    out.push_back(' ');
    out.append(sql);
    return out;
  }
  out.append(sql.substr(0, word));
  out.push_back(' ');
  out.append(kAgentMarker);
  if (word < sql.size() && !IsSpace(sql[word])) out.push_back(' ');
  out.append(sql.substr(word));
  return out;
}

bool IsMarkedStatement(std::string_view text) {
  text = SkipSpace(text);
  if (text.starts_with(kAgentMarker)) return true;
  std::size_t word = 0;
  while (word < text.size() && IsWordChar(text[word])) ++word;
  if (word == 0 || word == text.size() || !IsSpace(text[word])) return false;
  return SkipSpace(text.substr(word)).starts_with(kAgentMarker);
}

std::string MarkedStatementCondition(std::string_view column) {
  // A POSIX regular expression without a backslash, so it reads the same whatever the server's
  // standard_conforming_strings; the marker holds no character special to it but '*'.
  std::string marker;
  for (char c : kAgentMarker) marker += c == '*' ? std::string("[*]") : std::string(1, c);
  return "(" + std::string(column) +
         " OPERATOR(pg_catalog.~) '^[[:space:]]*([A-Za-z_]+[[:space:]]+)?" + marker + "')";
}

}  // namespace optischema::pg
