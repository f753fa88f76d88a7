#pragma once

// Sizes for people: "512 KiB", "10.4 MiB", "1.2 GiB". Thread-safe.

#include <cstdint>
#include <string>

namespace optischema {

std::string HumanBytes(int64_t bytes);

}  // namespace optischema
