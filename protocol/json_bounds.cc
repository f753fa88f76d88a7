#include "protocol/json_bounds.h"

#include <string>

namespace optischema::protocol {
namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

Result<JsonShape> CheckJsonBounds(std::string_view text, const JsonBounds& bounds,
                                  std::string_view what) {
  JsonShape shape;
  std::size_t depth = 0;
  // Set right after `[` or `{`: the next significant byte tells whether the container is empty.
  bool just_opened = false;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (IsJsonSpace(c)) continue;
    const bool first_in_container = just_opened;
    just_opened = false;
    // A container's first element, and each one after a comma, counts once.
    bool counted = c == ',';
    if (first_in_container && c != ']' && c != '}') counted = true;
    if (counted && ++shape.elements > bounds.max_elements) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string(what) + ": more than " + std::to_string(bounds.max_elements) +
                           " JSON elements (array elements and object members)");
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > bounds.max_depth) {
          return MakeError(ErrorCode::kInvalidArgument,
                           std::string(what) + ": JSON nested deeper than " +
                               std::to_string(bounds.max_depth) + " levels");
        }
        if (depth > shape.depth) shape.depth = depth;
        just_opened = true;
        break;
      case ']':
      case '}':
        // An unbalanced closer is the parser's to refuse; the count stays at zero.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return shape;
}

}  // namespace optischema::protocol
