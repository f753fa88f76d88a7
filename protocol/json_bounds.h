#pragma once

// A bound on the shape of a JSON text, checked on the bytes before anything parses or walks it:
// recursive handling (nlohmann's dump, validators that descend into values) needs a bounded depth,
// and the memory of a parsed tree grows with the number of values, not the number of bytes
// (`[{},{},...]` costs some 80 bytes of tree per 3 bytes of text).
//
// The scan is iterative, one pass, no allocation. It counts structure only; a text it accepts may
// still be invalid JSON (the parser that runs next says so). For valid JSON its counts are those
// of the parsed tree, or more when an object repeats a key (each occurrence counts; the parser
// keeps one). Pure functions; thread-safe.

#include <cstddef>
#include <string_view>

#include "core/result.h"

namespace optischema::protocol {

struct JsonBounds {
  std::size_t max_depth = 0;     // arrays and objects open at once; 1 for `{"a":1}`
  std::size_t max_elements = 0;  // array elements plus object members, over the whole text
};

struct JsonShape {
  std::size_t depth = 0;     // deepest nesting seen
  std::size_t elements = 0;  // array elements plus object members
};

// The bound the agent applies to every control-plane reply before parsing it (replies are at most
// 4 MiB): recommendations nest a few levels and hold a few hundred values each.
inline constexpr JsonBounds kReplyJsonBounds{64, 200000};

// The shape of `text`, or kInvalidArgument when it passes `bounds`, naming the bound:
// "body: JSON nested deeper than 64 levels", "body: more than 10000 JSON elements (array
// elements and object members)". `what` names the text in the message ("body").
// The scan stops at the first bound passed, so a refused text costs at most one pass.
Result<JsonShape> CheckJsonBounds(std::string_view text, const JsonBounds& bounds,
                                  std::string_view what = "body");

}  // namespace optischema::protocol
