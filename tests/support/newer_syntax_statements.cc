#include "tests/support/newer_syntax_statements.h"

#include <algorithm>
#include <cctype>

namespace optischema::testing {
namespace {

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// `text` without its $n placeholders, whose digits are not the statement's.
std::string WithoutPlaceholders(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && IsDigit(text[i + 1])) {
      while (i + 1 < text.size() && IsDigit(text[i + 1])) ++i;
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// What of `secret` must not survive: the secret itself, each run of letters and digits that holds
// a digit (0x5EC7, 5e1, 04), each run of two or more digits.
std::vector<std::string> SecretParts(const std::string& secret) {
  std::vector<std::string> parts = {secret};
  for (std::size_t i = 0; i < secret.size();) {
    if (!IsAlnum(secret[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < secret.size() && IsAlnum(secret[end])) ++end;
    const std::string run = secret.substr(i, end - i);
    if (run.size() >= 2 && std::any_of(run.begin(), run.end(), IsDigit)) parts.push_back(run);
    for (std::size_t d = i; d < end;) {
      std::size_t digits_end = d;
      while (digits_end < end && IsDigit(secret[digits_end])) ++digits_end;
      if (digits_end - d >= 2) parts.push_back(secret.substr(d, digits_end - d));
      d = digits_end == d ? d + 1 : digits_end;
    }
    i = end;
  }
  return parts;
}

}  // namespace

std::vector<std::string> LeakedSecretParts(const std::string& output,
                                           const NewerSyntaxStatement& statement) {
  const std::string checked = Lower(WithoutPlaceholders(output));
  std::vector<std::string> leaked;
  for (const std::string& secret : statement.secrets) {
    for (const std::string& part : SecretParts(secret)) {
      if (checked.find(Lower(part)) != std::string::npos) leaked.push_back(part);
    }
  }
  return leaked;
}

}  // namespace optischema::testing
