#pragma once

// Canonical JSON: the exact bytes a signature covers. Two implementations (this agent, a control
// plane in another language) given the same JSON value must produce the same bytes, so the form
// is defined here rule by rule and only a subset of JSON is accepted.
//
// Input: RFC 8259 JSON text in UTF-8 (no byte order mark), whitespace only as space, tab, LF,
// CR. Refused:
//   - text that is not JSON, invalid UTF-8 anywhere in a string (overlong forms, surrogates
//     U+D800..U+DFFF, code points above U+10FFFF), a raw control character (< 0x20) inside a
//     string, a \u escape of an unpaired surrogate: kParseFailed "invalid JSON at byte N: ...";
//   - any number with a fraction or an exponent, even 1.0 or 1e2: kInvalidArgument "canonical
//     JSON allows integers only: <path> is <number>". Floating-point text has no single shortest
//     form that every language agrees on, so signed documents carry no floats: a value that
//     needs a fraction is sent as a string or in integer units (a recommendation's guard says
//     max_regression_pct = 25, not 0.25);
//   - an integer outside the signed 64-bit range [-9223372036854775808, 9223372036854775807]:
//     kInvalidArgument;
//   - an object with the same key twice (compared after unescaping): kInvalidArgument;
//   - nesting deeper than 64 arrays/objects: kInvalidArgument.
// <path> is JSONPath-like ($, $.guard.max_regression_pct, $.columns[2]); messages never quote
// more than 32 characters of the input.
//
// Output, with no whitespace at all outside strings:
//   - object: '{' members '}' with members "key":value joined by ',', sorted by the key's UTF-8
//     bytes compared as unsigned bytes (shorter prefix first), i.e. code point order;
//   - array: '[' values ']' joined by ',', in input order;
//   - integer: shortest decimal: no '+', no leading zeros, '-' only for negatives (-0 is 0);
//   - true, false, null as such;
//   - string (keys too): '"' + the unescaped value re-escaped as follows + '"':
//       '"' → \"   '\' → \\   U+0008 → \b   U+000C → \f   U+000A → \n   U+000D → \r
//       U+0009 → \t   other U+0000..U+001F → \u00XX with lower-case hex (e.g. \u001f)
//     every other character, '/' U+007F and all non-ASCII included, is written as its raw UTF-8
//     bytes (so "\u00e9" and "é" in the input both become the two bytes C3 A9).
//
// For reference, Python's json.dumps(value, sort_keys=True, separators=(",", ":"),
// ensure_ascii=False) writes exactly these bytes for any value these rules accept; a Python
// implementation must still refuse floats, duplicate keys (object_pairs_hook) and out-of-range
// integers itself.
//
// Stateless and thread-safe.

#include <string>
#include <string_view>

#include "core/result.h"

namespace optischema::protocol {

// The canonical form of any JSON value (object, array, string, integer, literal).
Result<std::string> CanonicalJson(std::string_view json_text);

// The canonical form of a JSON object with the member top_level_key removed (a signature that
// cannot cover itself). Only the outermost object is affected; an absent key is not an error.
// The removed member's value must still satisfy every rule above. Text whose top level is not
// an object is kInvalidArgument.
Result<std::string> CanonicalJsonWithout(std::string_view json_text,
                                         std::string_view top_level_key);

}  // namespace optischema::protocol
