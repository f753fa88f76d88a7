#pragma once

// UTF-8 well-formedness, the one check every writer and parser of text uses.

#include <cstddef>
#include <string_view>

namespace optischema {

// Length (1 to 4) of the well-formed UTF-8 sequence starting at text[i], or 0 when the bytes there
// are not one: a stray continuation byte, a truncated or overlong sequence, a surrogate or a code
// point above U+10FFFF. `i` must be below text.size().
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i);

}  // namespace optischema
