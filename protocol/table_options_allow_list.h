#pragma once

// The table storage parameters (reloptions) a `set_table_options` recommendation may change: the
// per-table autovacuum knobs, for the table and (prefixed "toast.") for its TOAST table. Ranges
// are PostgreSQL's (src/backend/access/common/reloptions.c). Every other name is refused by the
// recommendation parser, so nothing else is ever stored, signed or applied; the applier checks
// again before it builds its ALTER TABLE.
//
// This table is the one place the list lives; docs/protocol-v1.md prints it (a unit test keeps
// the two equal).
//
// Values travel as JSON strings in plain decimal text: an integer is an optional '-' and digits,
// a real is digits with at most one '.', no sign, no exponent, no spaces; a bool is exactly
// "true" or "false". The agent never sends the received text to the server: it renders the value
// again from the number or bool read (CanonicalTableOptionValue).
//
// Pure functions over constant data; thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace optischema::protocol {

enum class TableOptionType { kBool, kInt, kReal };

struct TableOptionRule {
  std::string_view name;  // as PostgreSQL names it, without "toast."
  TableOptionType type;
  std::int64_t min;  // inclusive; unused for kBool
  std::int64_t max;  // inclusive; unused for kBool
  bool toast;        // "toast." + name is allowed too
};

inline constexpr std::int64_t kIntMax = 2147483647;

inline constexpr auto kTableOptionRules = std::to_array<TableOptionRule>({
    {"autovacuum_enabled", TableOptionType::kBool, 0, 0, true},
    {"autovacuum_vacuum_threshold", TableOptionType::kInt, 0, kIntMax, true},
    {"autovacuum_vacuum_scale_factor", TableOptionType::kReal, 0, 100, true},
    {"autovacuum_vacuum_insert_threshold", TableOptionType::kInt, -1, kIntMax, true},
    {"autovacuum_vacuum_insert_scale_factor", TableOptionType::kReal, 0, 100, true},
    {"autovacuum_analyze_threshold", TableOptionType::kInt, 0, kIntMax, false},
    {"autovacuum_analyze_scale_factor", TableOptionType::kReal, 0, 100, false},
    {"autovacuum_vacuum_cost_delay", TableOptionType::kReal, 0, 100, true},
    {"autovacuum_vacuum_cost_limit", TableOptionType::kInt, 1, 10000, true},
    {"autovacuum_freeze_min_age", TableOptionType::kInt, 0, 1000000000, true},
    {"autovacuum_freeze_max_age", TableOptionType::kInt, 100000, 2000000000, true},
    {"autovacuum_freeze_table_age", TableOptionType::kInt, 0, 2000000000, true},
    {"autovacuum_multixact_freeze_min_age", TableOptionType::kInt, 0, 1000000000, true},
    {"autovacuum_multixact_freeze_max_age", TableOptionType::kInt, 10000, 2000000000, true},
    {"autovacuum_multixact_freeze_table_age", TableOptionType::kInt, 0, 2000000000, true},
});

inline constexpr std::string_view kToastPrefix = "toast.";
// A set_table_options spec names 1 to this many options.
inline constexpr std::size_t kMaxTableOptions = 16;

// One allowed option name as it appears on the wire.
struct TableOptionName {
  const TableOptionRule* rule;
  bool toast;  // the name is "toast." + rule->name: the option of the table's TOAST table
};

// The rule for `name` (exact, case-sensitive: PostgreSQL stores reloption names in lower case), or
// nullopt when it is not on the list.
std::optional<TableOptionName> FindTableOption(std::string_view name);

// What values `rule` allows, for messages: "true or false", "an integer from 0 to 2147483647",
// "a decimal number from 0 to 100".
std::string TableOptionRange(const TableOptionRule& rule);

// `value` read under `rule` and written again in the agent's own form: "true"/"false", an integer
// without leading zeros, a real as the shortest plain decimal that reads back as the same double.
// kInvalidArgument "must be <TableOptionRange>" when the text is not of the form above or out of
// range; the message never contains the value.
Result<std::string> CanonicalTableOptionValue(const TableOptionRule& rule, std::string_view value);

}  // namespace optischema::protocol
