// The settings table (agent/settings.h) against the two documents that list every key:
// docs/configuration.md and packaging/agent.toml; and the table's own facts (defaults, what a
// reload restarts).

#include "agent/settings.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>

namespace optischema::agent {
namespace {

namespace fs = std::filesystem;

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(OPTISCHEMA_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

using SectionKey = std::pair<std::string, std::string>;

struct DocumentedRow {
  std::string default_value;  // the Default column without backticks and quotes
  std::string environment;    // the Environment column
};

std::string Unquoted(std::string text) {
  for (const char c : {'`', '"'}) std::erase(text, c);
  return text;
}

// (section, key) → row, for the tables under "## [section]" and "## [[database]]".
std::map<SectionKey, DocumentedRow> ReferenceRows() {
  std::istringstream lines(ReadSource("docs/configuration.md"));
  const std::regex heading(R"(^## \[\[?([a-z_]+)\]\]?\s*$)");
  const std::regex row(R"(^\| `([a-z_]+)` \| [^|]* \| ([^|]*) \| ([^|]*) \|)");
  std::map<SectionKey, DocumentedRow> rows;
  std::string section;
  for (std::string line; std::getline(lines, line);) {
    line = std::regex_replace(line, std::regex(R"(\\\|)"), "or");  // an escaped | inside a cell
    std::smatch m;
    if (line.starts_with("## ")) {
      section = std::regex_match(line, m, heading) ? std::string(m[1]) : std::string();
      continue;
    }
    if (!section.empty() && std::regex_search(line, m, row)) {
      rows[{section, m[1]}] = {Unquoted(std::string(m[2])), std::string(m[3])};
    }
  }
  return rows;
}

// (section, key) of every key written in packaging/agent.toml, commented out or not.
std::set<SectionKey> PackagedKeys() {
  std::istringstream lines(ReadSource("packaging/agent.toml"));
  const std::regex table(R"(^#?\[\[?([a-z_]+)\]\]?)");
  const std::regex key(R"(^#?([a-z_]+) = )");
  std::set<SectionKey> keys;
  std::string section;
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, table)) {
      section = m[1];
    } else if (!section.empty() && std::regex_search(line, m, key)) {
      keys.insert({section, m[1]});
    }
  }
  return keys;
}

TEST(SettingsTable, EveryKeyIsInTheReferenceWithItsEnvironmentVariableAndDefault) {
  const auto rows = ReferenceRows();
  for (const SettingInfo& setting : Settings()) {
    const SectionKey key{std::string(setting.section), std::string(setting.key)};
    const auto row = rows.find(key);
    ASSERT_NE(row, rows.end()) << "docs/configuration.md has no row for " << setting.section << "."
                               << setting.key;
    if (setting.env.empty()) {
      EXPECT_EQ(row->second.environment, "—") << setting.section << "." << setting.key;
    } else {
      EXPECT_NE(row->second.environment.find("`" + std::string(setting.env) + "`"),
                std::string::npos)
          << setting.section << "." << setting.key << " should name " << setting.env;
    }
    const std::string documented_default =
        setting.default_value.empty() ? "required" : Unquoted(std::string(setting.default_value));
    EXPECT_EQ(row->second.default_value, documented_default)
        << setting.section << "." << setting.key;
  }
}

TEST(SettingsTable, TheReferenceNamesNoKeyTheTableLacks) {
  std::set<SectionKey> known;
  for (const SettingInfo& s : Settings())
    known.insert({std::string(s.section), std::string(s.key)});
  const auto rows = ReferenceRows();
  EXPECT_GE(rows.size(), known.size());
  for (const auto& [key, row] : rows) {
    EXPECT_TRUE(known.contains(key)) << "docs/configuration.md documents " << key.first << "."
                                     << key.second << ", which the settings table does not have";
  }
}

TEST(SettingsTable, PackagedConfigurationWritesEveryKeyAndNoOther) {
  std::set<SectionKey> known;
  for (const SettingInfo& s : Settings())
    known.insert({std::string(s.section), std::string(s.key)});
  const std::set<SectionKey> packaged = PackagedKeys();
  for (const SectionKey& key : known) {
    EXPECT_TRUE(packaged.contains(key))
        << "packaging/agent.toml does not mention " << key.first << "." << key.second;
  }
  for (const SectionKey& key : packaged) {
    EXPECT_TRUE(known.contains(key)) << "packaging/agent.toml names " << key.first << "."
                                     << key.second << ", which the settings table does not have";
  }
}

TEST(SettingsTable, EveryDocumentedDefaultIsTheDefaultInEffect) {
  const fs::path dir = fs::temp_directory_path() / ("settings_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::map<std::string, std::string> sections;
  for (const SettingInfo& s : Settings()) {
    if (s.default_value.empty()) continue;  // required: no default
    sections[std::string(s.section)] +=
        std::string(s.key) + " = " + std::string(s.default_value) + "\n";
  }
  std::string written;
  for (const auto& [section, keys] : sections) {
    written += section == "database" ? "[[database]]\nname = \"x\"\n" + keys
                                     : "[" + section + "]\n" + keys;
  }
  std::ofstream(dir / "defaults.toml") << written;
  std::ofstream(dir / "minimal.toml") << "[[database]]\nname = \"x\"\n";
  const EnvLookup no_env = [](const std::string&) { return std::optional<std::string>(); };
  const Result<Config> spelled = LoadConfig((dir / "defaults.toml").string(), no_env);
  const Result<Config> implied = LoadConfig((dir / "minimal.toml").string(), no_env);
  fs::remove_all(dir);
  ASSERT_TRUE(spelled.ok()) << spelled.error().message;
  ASSERT_TRUE(implied.ok()) << implied.error().message;
  for (std::size_t i = 0; i < Settings().size(); ++i) {
    EXPECT_TRUE(SameSetting(i, *spelled, *implied))
        << Settings()[i].section << "." << Settings()[i].key << " defaults to something else than "
        << Settings()[i].default_value;
  }
}

TEST(SettingsTable, AReloadRestartsAWorkerOnlyForTheSettingsItReads) {
  const Config base;
  DatabaseConfig db;
  db.name = "x";
  db.dsn = "dbname=x";
  {
    DatabaseConfig changed = db;
    changed.dsn = "dbname=y";
    EXPECT_FALSE(SameSettings(Lands::kDatabaseWorker, base, db, base, changed));
  }
  {
    Config changed = base;
    changed.advisor.interval = std::chrono::minutes(1);
    EXPECT_FALSE(SameSettings(Lands::kDatabaseWorker, base, db, changed, db));
  }
  {
    Config changed = base;
    changed.heartbeat_interval = std::chrono::seconds(5);
    changed.log_level = "debug";
    DatabaseConfig apply = db;
    apply.apply = true;
    EXPECT_TRUE(SameSettings(Lands::kDatabaseWorker, base, db, changed, apply));
    EXPECT_FALSE(SameSettings(Lands::kLink, base, db, changed, apply));
  }
}

TEST(SettingsTable, AReloadKeepsTheRunningValueOfWhatOnlyARestartApplies) {
  Config running;
  running.state_dir = "/var/lib/a";
  Config fresh = running;
  fresh.state_dir = "/var/lib/b";
  fresh.spool_max_bytes = running.spool_max_bytes * 2;
  fresh.interval = std::chrono::seconds(5);
  EXPECT_EQ(KeepNextStartSettings(running, fresh), "agent.state_dir and agent.spool_max_bytes");
  EXPECT_EQ(fresh.state_dir, "/var/lib/a");
  EXPECT_EQ(fresh.spool_max_bytes, running.spool_max_bytes);
  EXPECT_EQ(fresh.interval, std::chrono::seconds(5));
  EXPECT_EQ(KeepNextStartSettings(running, fresh), "");
}

}  // namespace
}  // namespace optischema::agent
