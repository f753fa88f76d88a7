// The set_table_options allow-list (protocol/table_options_allow_list.h): names, ranges, the plain
// decimal forms it accepts and how the agent renders a value again; docs/protocol-v1.md prints the
// same list between the table-options-allow-list markers.

#include "protocol/table_options_allow_list.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace optischema::protocol {
namespace {

const TableOptionRule& Rule(std::string_view name) {
  const auto found = FindTableOption(name);
  EXPECT_TRUE(found.has_value()) << name;
  return *found->rule;
}

std::string Canonical(std::string_view name, std::string_view value) {
  auto canonical = CanonicalTableOptionValue(Rule(name), value);
  return canonical.ok() ? *canonical : "refused: " + canonical.error().message;
}

TEST(TableOptionsAllowList, KnowsTheAutovacuumOptionsAndTheirToastFormsOnly) {
  EXPECT_EQ(kTableOptionRules.size(), 15u);
  for (const TableOptionRule& rule : kTableOptionRules) {
    const auto plain = FindTableOption(rule.name);
    ASSERT_TRUE(plain.has_value()) << rule.name;
    EXPECT_FALSE(plain->toast);
    const auto toast = FindTableOption("toast." + std::string(rule.name));
    EXPECT_EQ(toast.has_value(), rule.toast) << rule.name;
    if (toast) {
      EXPECT_TRUE(toast->toast);
    }
  }
  EXPECT_FALSE(FindTableOption("toast.autovacuum_analyze_threshold"));
  EXPECT_FALSE(FindTableOption("toast.autovacuum_analyze_scale_factor"));
  for (const char* refused :
       {"fillfactor", "user_catalog_table", "toast_tuple_target", "parallel_workers",
        "Autovacuum_Enabled", "autovacuum_enabled ", "toast.", "toast.toast.autovacuum_enabled",
        "autovacuum_enabled = true); DROP TABLE x; --", ""}) {
    EXPECT_FALSE(FindTableOption(refused)) << refused;
  }
}

TEST(TableOptionsAllowList, RangesArePostgresReloptionRanges) {
  EXPECT_EQ(Canonical("autovacuum_vacuum_threshold", "0"), "0");
  EXPECT_EQ(Canonical("autovacuum_vacuum_threshold", "2147483647"), "2147483647");
  EXPECT_EQ(Canonical("autovacuum_vacuum_insert_threshold", "-1"), "-1");
  EXPECT_EQ(Canonical("autovacuum_vacuum_cost_limit", "1"), "1");
  EXPECT_EQ(Canonical("autovacuum_vacuum_cost_limit", "10000"), "10000");
  EXPECT_EQ(Canonical("autovacuum_freeze_max_age", "100000"), "100000");
  EXPECT_EQ(Canonical("toast.autovacuum_multixact_freeze_max_age", "10000"), "10000");
  EXPECT_EQ(Canonical("autovacuum_vacuum_scale_factor", "100"), "100");
  EXPECT_EQ(Canonical("autovacuum_analyze_scale_factor", "0"), "0");
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"autovacuum_vacuum_threshold", "-1"},
           {"autovacuum_vacuum_threshold", "2147483648"},
           {"autovacuum_vacuum_insert_threshold", "-2"},
           {"autovacuum_vacuum_cost_limit", "0"},
           {"autovacuum_vacuum_cost_limit", "10001"},
           {"autovacuum_freeze_min_age", "1000000001"},
           {"autovacuum_freeze_max_age", "99999"},
           {"autovacuum_freeze_table_age", "2000000001"},
           {"autovacuum_multixact_freeze_max_age", "9999"},
           {"autovacuum_vacuum_scale_factor", "100.0001"},
           {"autovacuum_vacuum_cost_delay", "101"},
           {"autovacuum_vacuum_threshold", "99999999999999999999999"},
       }) {
    const std::string refused = Canonical(name, value);
    EXPECT_TRUE(refused.starts_with("refused: must be ")) << name << " " << value;
    if (value.size() > 1) {
      EXPECT_EQ(refused.find(value), std::string::npos) << "echoes the value: " << refused;
    }
  }
  EXPECT_EQ(Canonical("autovacuum_vacuum_cost_limit", "0"),
            "refused: must be an integer from 1 to 10000");
}

TEST(TableOptionsAllowList, AcceptsOnlyPlainDecimalTextAndRendersItAgain) {
  EXPECT_EQ(Canonical("autovacuum_vacuum_threshold", "007"), "7");
  EXPECT_EQ(Canonical("autovacuum_vacuum_insert_threshold", "-0"), "0");
  EXPECT_EQ(Canonical("autovacuum_vacuum_scale_factor", "0.050"), "0.05");
  EXPECT_EQ(Canonical("autovacuum_vacuum_scale_factor", ".5"), "0.5");
  EXPECT_EQ(Canonical("autovacuum_vacuum_scale_factor", "2."), "2");
  EXPECT_EQ(Canonical("autovacuum_vacuum_scale_factor", "0.1"), "0.1");
  EXPECT_EQ(Canonical("autovacuum_vacuum_cost_delay", "0.0000001"), "0.0000001");
  EXPECT_EQ(Canonical("autovacuum_enabled", "true"), "true");
  EXPECT_EQ(Canonical("toast.autovacuum_enabled", "false"), "false");
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"autovacuum_vacuum_scale_factor", "1e-2"},
           {"autovacuum_vacuum_scale_factor", "1E2"},
           {"autovacuum_vacuum_scale_factor", "-0.1"},
           {"autovacuum_vacuum_scale_factor", "+1"},
           {"autovacuum_vacuum_scale_factor", " 1"},
           {"autovacuum_vacuum_scale_factor", "1 "},
           {"autovacuum_vacuum_scale_factor", "."},
           {"autovacuum_vacuum_scale_factor", "1.2.3"},
           {"autovacuum_vacuum_scale_factor", "nan"},
           {"autovacuum_vacuum_scale_factor", "inf"},
           {"autovacuum_vacuum_scale_factor", "0x1"},
           {"autovacuum_vacuum_scale_factor", ""},
           {"autovacuum_vacuum_threshold", "1.0"},
           {"autovacuum_vacuum_threshold", "1e3"},
           {"autovacuum_vacuum_threshold", "+5"},
           {"autovacuum_vacuum_threshold", "-"},
           {"autovacuum_vacuum_threshold", "5kB"},
           {"autovacuum_vacuum_threshold", "1'; DROP TABLE x; --"},
           {"autovacuum_enabled", "on"},
           {"autovacuum_enabled", "TRUE"},
           {"autovacuum_enabled", "True"},
           {"autovacuum_enabled", "1"},
           {"autovacuum_enabled", "yes"},
           {"autovacuum_enabled", "ture"},
           {"autovacuum_enabled", ""},
       }) {
    EXPECT_TRUE(Canonical(name, value).starts_with("refused: must be ")) << name << " " << value;
  }
  EXPECT_EQ(Canonical("autovacuum_enabled", "on"), "refused: must be true or false");
}

TEST(TableOptionsAllowList, DocsProtocolListsExactlyTheTablesOptions) {
  std::ifstream in(std::string(OPTISCHEMA_SOURCE_DIR) + "/docs/protocol-v1.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::string begin = "<!-- table-options-allow-list:begin -->";
  const auto from = doc.find(begin);
  const auto to = doc.find("<!-- table-options-allow-list:end -->");
  ASSERT_NE(from, std::string::npos) << "docs/protocol-v1.md has no " << begin;
  ASSERT_NE(to, std::string::npos);
  const std::string section = doc.substr(from, to - from);
  std::set<std::string> documented;
  const std::regex row("\\| `([a-z_]+)` \\| ([a-z]+) \\| (-?[0-9]+) to ([0-9]+) \\| (yes|no) \\|");
  const std::regex bool_row("\\| `([a-z_]+)` \\| bool \\| `true`, `false` \\| (yes|no) \\|");
  std::set<std::string> table;
  for (const TableOptionRule& rule : kTableOptionRules) {
    const std::string toast = rule.toast ? "yes" : "no";
    if (rule.type == TableOptionType::kBool) {
      table.insert(std::string(rule.name) + " bool " + toast);
    } else {
      table.insert(std::string(rule.name) +
                   (rule.type == TableOptionType::kInt ? " integer " : " real ") +
                   std::to_string(rule.min) + ".." + std::to_string(rule.max) + " " + toast);
    }
  }
  for (auto it = std::sregex_iterator(section.begin(), section.end(), row);
       it != std::sregex_iterator(); ++it) {
    documented.insert((*it)[1].str() + " " + (*it)[2].str() + " " + (*it)[3].str() + ".." +
                      (*it)[4].str() + " " + (*it)[5].str());
  }
  for (auto it = std::sregex_iterator(section.begin(), section.end(), bool_row);
       it != std::sregex_iterator(); ++it) {
    documented.insert((*it)[1].str() + " bool " + (*it)[2].str());
  }
  EXPECT_EQ(documented, table);
}

}  // namespace
}  // namespace optischema::protocol
