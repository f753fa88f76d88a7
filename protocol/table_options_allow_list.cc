#include "protocol/table_options_allow_list.h"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace optischema::protocol {
namespace {

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Plain decimal integer: optional '-', then at least one digit.
bool IsPlainInteger(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  return !s.empty() && AllDigits(s);
}

// Plain decimal real: digits with at most one '.', at least one digit, no sign.
bool IsPlainReal(std::string_view s) {
  const std::size_t dot = s.find('.');
  if (dot == std::string_view::npos) return !s.empty() && AllDigits(s);
  const std::string_view whole = s.substr(0, dot);
  const std::string_view fraction = s.substr(dot + 1);
  return !(whole.empty() && fraction.empty()) && AllDigits(whole) && AllDigits(fraction);
}

Error OutOfRange(const TableOptionRule& rule) {
  return MakeError(ErrorCode::kInvalidArgument, "must be " + TableOptionRange(rule));
}

}  // namespace

std::optional<TableOptionName> FindTableOption(std::string_view name) {
  const bool toast = name.starts_with(kToastPrefix);
  if (toast) name.remove_prefix(kToastPrefix.size());
  for (const TableOptionRule& rule : kTableOptionRules) {
    if (rule.name == name && (!toast || rule.toast)) return TableOptionName{&rule, toast};
  }
  return std::nullopt;
}

std::string TableOptionRange(const TableOptionRule& rule) {
  switch (rule.type) {
    case TableOptionType::kBool:
      return "true or false";
    case TableOptionType::kInt:
      return "an integer from " + std::to_string(rule.min) + " to " + std::to_string(rule.max);
    case TableOptionType::kReal:
      return "a decimal number from " + std::to_string(rule.min) + " to " +
             std::to_string(rule.max) + " (digits and at most one '.', no exponent)";
  }
  return "";
}

Result<std::string> CanonicalTableOptionValue(const TableOptionRule& rule, std::string_view value) {
  const char* const begin = value.data();
  const char* const end = value.data() + value.size();
  switch (rule.type) {
    case TableOptionType::kBool:
      if (value == "true" || value == "false") return std::string(value);
      return OutOfRange(rule);
    case TableOptionType::kInt: {
      std::int64_t n = 0;
      if (!IsPlainInteger(value)) return OutOfRange(rule);
      const auto [ptr, ec] = std::from_chars(begin, end, n);
      if (ec != std::errc() || ptr != end || n < rule.min || n > rule.max) return OutOfRange(rule);
      return std::to_string(n);
    }
    case TableOptionType::kReal: {
      double x = 0;
      if (!IsPlainReal(value)) return OutOfRange(rule);
      const auto [ptr, ec] = std::from_chars(begin, end, x, std::chars_format::fixed);
      if (ec != std::errc() || ptr != end || x < static_cast<double>(rule.min) ||
          x > static_cast<double>(rule.max)) {
        return OutOfRange(rule);
      }
      char text[400];  // the longest fixed rendering of a double within [0, 100] is ~330 chars
      const auto written = std::to_chars(text, text + sizeof text, x, std::chars_format::fixed);
      if (written.ec != std::errc()) return OutOfRange(rule);
      return std::string(text, written.ptr);
    }
  }
  return OutOfRange(rule);
}

}  // namespace optischema::protocol
