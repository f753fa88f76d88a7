#pragma once

// Last line of defence against secrets in logs: every log line passes through Redact() before it
// is written. Code is expected never to log a secret in the first place; this catches what a
// third-party message (libpq, libcurl) might echo.

#include <string>
#include <string_view>
#include <vector>

namespace optischema {

inline constexpr std::string_view kRedacted = "[redacted]";

// Replaces in `text`, in place:
//   - every occurrence of each of `secrets` (the API key, database passwords); secrets shorter than
//     4 characters are ignored, they would mangle ordinary words;
//   - the value of a libpq "password=" keyword (quoted or not), whatever its case;
//   - the password of a URI's user information ("scheme://user:PASSWORD@host").
// Each is replaced by kRedacted.
void Redact(std::string& text, const std::vector<std::string>& secrets);

}  // namespace optischema
