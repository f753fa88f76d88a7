#include "core/redaction.h"

#include <algorithm>
#include <cctype>
#include <cstddef>

namespace optischema {
namespace {

constexpr std::size_t kMinSecretLength = 4;

void ReplaceAll(std::string& text, std::string_view secret) {
  std::size_t at = 0;
  while ((at = text.find(secret, at)) != std::string::npos) {
    text.replace(at, secret.size(), kRedacted);
    at += kRedacted.size();
  }
}

bool StartsWithNoCase(std::string_view text, std::size_t at, std::string_view prefix) {
  if (text.size() - at < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != prefix[i]) return false;
  }
  return true;
}

// libpq keyword/value form: password=secret, password = 'se cret', PASSWORD='it\'s'.
void RedactPasswordKeyword(std::string& text) {
  constexpr std::string_view kKeyword = "password";
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (!StartsWithNoCase(text, at, kKeyword)) continue;
    if (at > 0 && (std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '_')) {
      continue;
    }
    std::size_t pos = at + kKeyword.size();
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos >= text.size() || text[pos] != '=') continue;
    ++pos;
    while (pos < text.size() && text[pos] == ' ') ++pos;
    std::size_t end = pos;
    if (end < text.size() && text[end] == '\'') {
      ++end;
      while (end < text.size() && text[end] != '\'') end += text[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, text.size());
    } else {
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
             text[end] != '&' && text[end] != '"' && text[end] != ',') {
        ++end;
      }
    }
    if (end == pos) continue;
    text.replace(pos, end - pos, kRedacted);
    at = pos + kRedacted.size() - 1;
  }
}

// scheme://user:password@host — the part between the first ':' after "://" and the '@'.
void RedactUriPasswords(std::string& text) {
  std::size_t from = 0;
  while ((from = text.find("://", from)) != std::string::npos) {
    const std::size_t start = from + 3;
    std::size_t end = start;
    while (end < text.size() && text[end] != '@' && text[end] != '/' &&
           !std::isspace(static_cast<unsigned char>(text[end])) && text[end] != '"') {
      ++end;
    }
    from = start;
    if (end >= text.size() || text[end] != '@') continue;
    const std::size_t colon = text.find(':', start);
    if (colon == std::string::npos || colon >= end || colon + 1 == end) continue;
    text.replace(colon + 1, end - colon - 1, kRedacted);
    from = colon + 1 + kRedacted.size();
  }
}

}  // namespace

void Redact(std::string& text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.size() >= kMinSecretLength) ReplaceAll(text, secret);
  }
  RedactPasswordKeyword(text);
  RedactUriPasswords(text);
}

}  // namespace optischema
