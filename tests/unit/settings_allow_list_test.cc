// The set_config allow-list: one table (applier/settings_allow_list.h), printed in
// docs/security.md between the settings-allow-list markers. The two must list the same names.

#include "applier/settings_allow_list.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace optischema::applier {
namespace {

std::string SecurityDoc() {
  std::ifstream in(std::string(OPTISCHEMA_SOURCE_DIR) + "/docs/security.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SettingsAllowList, DocsSecurityListsExactlyTheTablesSettings) {
  const std::string doc = SecurityDoc();
  const std::string begin = "<!-- settings-allow-list:begin -->";
  const std::string end = "<!-- settings-allow-list:end -->";
  const auto from = doc.find(begin);
  const auto to = doc.find(end);
  ASSERT_NE(from, std::string::npos) << "docs/security.md has no " << begin;
  ASSERT_NE(to, std::string::npos);
  const std::string section = doc.substr(from, to - from);
  std::set<std::string> documented;
  const std::regex name("`([a-z_]+)`");
  for (auto it = std::sregex_iterator(section.begin(), section.end(), name);
       it != std::sregex_iterator(); ++it) {
    documented.insert((*it)[1]);
  }
  std::set<std::string> table;
  for (const AllowedSetting& s : kAllowedSettings) {
    EXPECT_TRUE(table.insert(std::string(s.name)).second) << "listed twice: " << s.name;
    // Each is under its group's heading in the doc.
    EXPECT_NE(section.find(std::string(s.group)), std::string::npos) << s.group;
  }
  EXPECT_EQ(documented, table);
}

TEST(SettingsAllowList, LookupIgnoresCaseAndKnowsNothingElse) {
  EXPECT_TRUE(IsAllowedSetting("work_mem"));
  EXPECT_TRUE(IsAllowedSetting("WORK_MEM"));
  EXPECT_TRUE(IsAllowedSetting("Max_Wal_Size"));
  for (const char* refused :
       {"fsync", "log_directory", "session_replication_role", "shared_preload_libraries",
        "archive_command", "oauth_validator_libraries", "extension_control_path",
        "synchronous_commit", "full_page_writes", "wal_level", "search_path", "", "work_mem "}) {
    EXPECT_FALSE(IsAllowedSetting(refused)) << refused;
  }
}

}  // namespace
}  // namespace optischema::applier
