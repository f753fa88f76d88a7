#pragma once

// Standard base64 (RFC 4648 section 4: alphabet A-Z a-z 0-9 + /, '=' padding), the encoding of
// Ed25519 keys and signatures on the wire and in configuration. Stateless and thread-safe.

#include <string>
#include <string_view>

#include "core/result.h"

namespace optischema::protocol {

// Always padded to a multiple of 4 characters; "" for no bytes.
std::string Base64Encode(std::string_view bytes);

// Strict inverse of Base64Encode: every text has at most one decoding and every byte string
// exactly one accepted text. Refused with kInvalidArgument (the message gives the offset, never
// the text): a length that is not a multiple of 4, whitespace or any character outside the
// alphabet (including the URL-safe '-' and '_'), '=' anywhere but the last one or two positions,
// and non-zero bits in the unused low bits of the last symbol.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace optischema::protocol
