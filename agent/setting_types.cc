#include "agent/setting_types.h"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

namespace optischema::agent {

using std::chrono::milliseconds;

std::string Quote(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      std::array<char, 5> escape{};
      std::snprintf(escape.data(), escape.size(), "\\x%02x", byte);
      quoted += escape.data();
    } else {
      quoted += c;
    }
  }
  quoted += '"';
  return quoted;
}

std::string Expected(std::string_view expected, std::string_view got) {
  return "expected " + std::string(expected) + ", got " + std::string(got);
}

Error ConfigError(std::string_view where, std::string_view reason) {
  return MakeError(ErrorCode::kConfig, std::string(where) + ": " + std::string(reason));
}

std::string EnvWhere(std::string_view variable) { return "environment " + std::string(variable); }

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown type";
}

Status ReadValue(const RawValue& value, const CheckedTextType& type, std::string* out) {
  std::string_view text = value.text;
  if (value.node != nullptr) {
    const toml::value<std::string>* node = value.node->as_string();
    if (node == nullptr) {
      return ConfigError(value.where, Expected("a string", TypeName(value.node->type())));
    }
    text = node->get();
  }
  if (Status checked = type.check(text); !checked.ok()) {
    return ConfigError(value.where, checked.error().message);
  }
  *out = std::string(text);
  return OkStatus();
}

Status ReadValue(const RawValue& value, const BoolType&, bool* out) {
  const toml::value<bool>* node = value.node == nullptr ? nullptr : value.node->as_boolean();
  if (node == nullptr) {
    return ConfigError(value.where, Expected("true or false", value.node == nullptr
                                                                  ? Quote(value.text)
                                                                  : TypeName(value.node->type())));
  }
  *out = node->get();
  return OkStatus();
}

Status ReadValue(const RawValue& value, const IntegerType& type, int* out) {
  const std::string expected =
      "an integer from " + std::to_string(type.min) + " to " + std::to_string(type.max);
  std::int64_t number = 0;
  if (value.node != nullptr) {
    const toml::value<std::int64_t>* node = value.node->as_integer();
    if (node == nullptr) {
      return ConfigError(value.where, Expected(expected, TypeName(value.node->type())));
    }
    number = node->get();
    if (number < type.min || number > type.max) {
      return ConfigError(value.where, Expected(expected, std::to_string(number)));
    }
  } else {
    const char* end = value.text.data() + value.text.size();
    const auto [stop, error] = std::from_chars(value.text.data(), end, number);
    if (error != std::errc() || stop != end || number < type.min || number > type.max) {
      return ConfigError(value.where, Expected(expected, Quote(value.text)));
    }
  }
  *out = static_cast<int>(number);
  return OkStatus();
}

std::optional<milliseconds> ParseDuration(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  std::int64_t count = 0;
  const auto [unit_start, error] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (error != std::errc() || count <= 0) return std::nullopt;
  const std::string_view unit = text.substr(static_cast<std::size_t>(unit_start - text.data()));
  std::int64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60 * 1000;
  } else if (unit == "h") {
    factor = 60 * 60 * 1000;
  } else if (unit == "d") {
    factor = 24 * 60 * 60 * 1000;
  } else {
    return std::nullopt;
  }
  if (count > std::numeric_limits<milliseconds::rep>::max() / factor) return std::nullopt;
  return milliseconds(count * factor);
}

std::optional<std::uint64_t> ParseByteSize(std::string_view text) {
  constexpr std::uint64_t kMin = std::uint64_t{64} << 10;
  constexpr std::uint64_t kMax = std::uint64_t{1} << 40;
  std::uint64_t count = 0;
  const auto [unit_start, error] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (error != std::errc() || count == 0) return std::nullopt;
  const std::string_view unit = text.substr(static_cast<std::size_t>(unit_start - text.data()));
  unsigned shift = 0;
  if (unit == "KiB") {
    shift = 10;
  } else if (unit == "MiB") {
    shift = 20;
  } else if (unit == "GiB") {
    shift = 30;
  } else if (!unit.empty()) {
    return std::nullopt;
  }
  if (count > (kMax >> shift)) return std::nullopt;
  const std::uint64_t bytes = count << shift;
  if (bytes < kMin) return std::nullopt;
  return bytes;
}

}  // namespace optischema::agent
