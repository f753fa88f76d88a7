#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace optischema {

// RFC 3339 UTC timestamp with milliseconds, e.g. "2026-11-21T22:30:05.123Z".
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

// Parses YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM) with calendar-valid fields ('T' and 'Z'
// may be lower case, RFC 3339 section 5.6; at most 9 fraction digits, truncated to microseconds
// like PostgreSQL's timestamps; a leap second 60 counts as the next second). nullopt when
// malformed, and for an instant system_clock::time_point cannot hold (with libstdc++, before
// 1677-09-22 or after 2262-04-11), which would otherwise overflow into another date.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

// Parses an HTTP Date header in its preferred form (RFC 9110 IMF-fixdate), e.g.
// "Sun, 06 Nov 1994 08:49:37 GMT". nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view text);

}  // namespace optischema
