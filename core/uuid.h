#pragma once

#include <string>

namespace optischema {

// Random (version 4) UUID in canonical lowercase form, from the OS random source.
std::string NewUuidV4();

}  // namespace optischema
