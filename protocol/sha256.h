#pragma once

// SHA-256 as lowercase hex: the audit chain's hashes (docs/operations.md), the stored form of API
// keys and console session ids.
//
// Thread-safe. Never fails short of memory exhaustion, where it returns an empty string (which
// matches no stored hash).

#include <string>
#include <string_view>

namespace optischema::protocol {

std::string Sha256Hex(std::string_view bytes);

}  // namespace optischema::protocol
