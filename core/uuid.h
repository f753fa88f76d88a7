#pragma once

#include <string>
#include <string_view>

namespace optischema {

// Random (version 4) UUID in canonical lowercase form, from the OS random source.
std::string NewUuidV4();

// Whether `text` is a UUID in canonical lowercase form (8-4-4-4-12 hex digits).
bool IsCanonicalUuid(std::string_view text);

}  // namespace optischema
