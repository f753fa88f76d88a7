#pragma once

// The value types of configuration settings and the entry type of the settings table
// (agent/settings.cc). Private to agent/config.cc and agent/settings.cc.
//
// A value arrives as a TOML node (the file) or as the text of an environment variable. Every
// error is kConfig with "<where>: <reason>", where `where` is "FILE:LINE: KEY" or "environment
// VARIABLE" and the reason is "expected <what a valid value looks like>, got <what was there>".

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config.h"
#include "agent/settings.h"
#include "core/result.h"

namespace optischema::agent {

// `text` in double quotes, with quotes, backslashes and control characters escaped so that a
// value cannot break the single-line error message.
std::string Quote(std::string_view text);
// "expected <expected>, got <got>".
std::string Expected(std::string_view expected, std::string_view got);
// kConfig "<where>: <reason>".
Error ConfigError(std::string_view where, std::string_view reason);
std::string EnvWhere(std::string_view variable);
// "a string", "an integer", ... for the error of a value of the wrong TOML type.
std::string_view TypeName(toml::node_type type);

// One value as written: `node` from the file, else `text` from the environment.
struct RawValue {
  const toml::node* node = nullptr;
  std::string_view text;
  std::string where;  // "FILE:LINE: KEY" or "environment VARIABLE"
};

// A setting written as a string: what a valid value looks like (completing "expected ...") and
// how to convert it; `parse` returns nullopt for an invalid value, which the error then quotes
// unless `may_hold_secret`.
template <class T>
struct TextType {
  std::string_view expected;
  std::optional<T> (*parse)(std::string_view text);
  bool may_hold_secret = false;
};

// A string checked by a parser that explains a refusal in its own words (the error's reason).
struct CheckedTextType {
  Status (*check)(std::string_view text);
};

// A TOML boolean. No environment form.
struct BoolType {};

// A TOML integer (environment: decimal digits) from `min` to `max`.
struct IntegerType {
  std::int64_t min;
  std::int64_t max;
};

template <class T>
Status ReadValue(const RawValue& value, const TextType<T>& type, T* out) {
  std::string_view text = value.text;
  if (value.node != nullptr) {
    const toml::value<std::string>* node = value.node->as_string();
    if (node == nullptr) {
      return ConfigError(value.where, Expected(type.expected, TypeName(value.node->type())));
    }
    text = node->get();
  }
  std::optional<T> parsed = type.parse(text);
  if (!parsed) {
    return ConfigError(
        value.where,
        Expected(type.expected, type.may_hold_secret
                                    ? "a value that is not shown (it may hold a password)"
                                    : Quote(text)));
  }
  *out = *std::move(parsed);
  return OkStatus();
}
Status ReadValue(const RawValue& value, const CheckedTextType& type, std::string* out);
Status ReadValue(const RawValue& value, const BoolType& type, bool* out);
Status ReadValue(const RawValue& value, const IntegerType& type, int* out);

// Settings whose handling reaches beyond their own value.
enum class Special {
  kNone,
  kApiKeySource,    // api_key / api_key_file: at most one is set; the environment's replaces both
  kDefaultDatabase  // environment form applies to the [[database]] named "default"
};

// One row of the settings table for settings held by `Owner` (Config or DatabaseConfig).
template <class Owner>
struct SettingEntry {
  SettingInfo info;
  std::function<Status(const RawValue& value, Owner& into)> read;
  std::function<bool(const Owner& a, const Owner& b)> same;
  std::function<void(const Owner& from, Owner& to)> copy;
  Special special = Special::kNone;
};

// The table: agent-wide settings ([agent], [control_plane], [collector], [advisor]) in file order,
// then the keys of each [[database]] entry.
const std::vector<SettingEntry<Config>>& AgentSettings();
const std::vector<SettingEntry<DatabaseConfig>>& DatabaseSettings();

}  // namespace optischema::agent
