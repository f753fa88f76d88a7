#pragma once

#include <chrono>
#include <string>

namespace optischema {

// RFC 3339 UTC timestamp with milliseconds, e.g. "2026-11-21T22:30:05.123Z".
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

}  // namespace optischema
