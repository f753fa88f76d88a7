#include "agent/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "agent/setting_types.h"
#include "agent/settings.h"
#include "core/file_io.h"
#include "pg/pg_session.h"

namespace optischema::agent {
namespace {

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// ----------------------------------------------------------------------------------------------
// The configuration while its sources are merged

// Where each setting of one owner came from ("FILE:LINE: KEY" or "environment VARIABLE"), so that
// problems found only after the file and the environment are merged (unreadable key or password
// file, a DSN libpq cannot parse) still name their source.
// Keyed by the setting's row in the settings table (keys repeat across sections: agent.interval,
// advisor.interval).
using Sources = std::map<const SettingInfo*, std::string>;

struct DraftDatabase {
  DatabaseConfig config;
  Sources where;
};

struct Draft {
  Config config;  // config.databases stays empty until Finish()
  std::vector<DraftDatabase> databases;
  Sources where;
};

DraftDatabase* FindDatabase(Draft& draft, std::string_view name) {
  for (DraftDatabase& database : draft.databases) {
    if (database.config.name == name) return &database;
  }
  return nullptr;
}

std::string SourceOf(const Sources& where, const SettingInfo& setting) {
  const auto found = where.find(&setting);
  return found == where.end() ? std::string() : found->second;
}

// The row of the [[database]] setting `key`.
const SettingEntry<DatabaseConfig>& DatabaseSetting(std::string_view key) {
  const auto& rows = DatabaseSettings();
  return *std::find_if(rows.begin(), rows.end(),
                       [&](const auto& row) { return row.info.key == key; });
}

// ----------------------------------------------------------------------------------------------
// The file

// Reads a parsed configuration file into a Draft, key by key through the settings table. Every
// error is "FILE:LINE: KEY: reason" with KEY fully qualified ("agent.interval",
// "database[0].name"; database entries are counted from 0 in file order).
class FileLoader {
 public:
  FileLoader(std::string_view path, Draft* draft) : path_(path), draft_(draft) {}

  Status Load(const toml::table& root) const;

 private:
  std::string Where(const toml::source_region& source, std::string_view key) const {
    return std::string(path_) + ":" + std::to_string(source.begin.line) + ": " + std::string(key);
  }

  // The keys of `table` (qualified name `prefix`) in file order, so the first problem is the
  // one reported.
  static std::vector<std::pair<const toml::key*, const toml::node*>> InFileOrder(
      const toml::table& table);

  // Reads every key of `table` into `owner` through the table rows of `section`; an unknown key
  // is an error listing the known ones.
  template <class Owner>
  Status ReadSection(const toml::table& table, const std::string& prefix, std::string_view section,
                     const std::vector<SettingEntry<Owner>>& rows, Owner& owner,
                     Sources& where) const;
  Result<const toml::table*> AsTable(const toml::node& node, const std::string& key) const;
  // At most one of the kApiKeySource settings of `section` holds a value.
  Status CheckApiKeySources(const toml::table& table, const std::string& section) const;
  Status LoadDatabases(const toml::node& node, const std::string& key) const;

  std::string_view path_;
  Draft* draft_;
};

std::vector<std::pair<const toml::key*, const toml::node*>> FileLoader::InFileOrder(
    const toml::table& table) {
  // toml::table iterates in key order.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [key, node] : table) entries.emplace_back(&key, &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const toml::source_position& pa = a.first->source().begin;
    const toml::source_position& pb = b.first->source().begin;
    return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
  });
  return entries;
}

template <class Owner>
Status FileLoader::ReadSection(const toml::table& table, const std::string& prefix,
                               std::string_view section,
                               const std::vector<SettingEntry<Owner>>& rows, Owner& owner,
                               Sources& where) const {
  for (const auto& [key, node] : InFileOrder(table)) {
    const std::string name(key->str());
    const std::string qualified = prefix + "." + name;
    const auto row = std::find_if(rows.begin(), rows.end(), [&](const SettingEntry<Owner>& r) {
      return r.info.section == section && r.info.key == name;
    });
    if (row != rows.end()) {
      RawValue value{node, {}, Where(node->source(), qualified)};
      if (Status status = row->read(value, owner); !status.ok()) return status;
      where[&row->info] = std::move(value.where);
      continue;
    }
    std::string known;
    for (const SettingEntry<Owner>& r : rows) {
      if (r.info.section == section) known += (known.empty() ? "" : ", ") + std::string(r.info.key);
    }
    return ConfigError(Where(key->source(), qualified), "unknown key; known keys: " + known);
  }
  return OkStatus();
}

Result<const toml::table*> FileLoader::AsTable(const toml::node& node,
                                               const std::string& key) const {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return ConfigError(Where(node.source(), key),
                       Expected("a table ([" + key + "])", TypeName(node.type())));
  }
  return table;
}

Status FileLoader::CheckApiKeySources(const toml::table& table, const std::string& section) const {
  const Config defaults;
  const toml::node* first = nullptr;
  std::string first_name;
  for (const SettingEntry<Config>& row : AgentSettings()) {
    if (row.special != Special::kApiKeySource || row.info.section != section ||
        row.same(draft_->config, defaults)) {
      continue;
    }
    const toml::node* node = table.get(row.info.key);
    const std::string name = section + "." + std::string(row.info.key);
    if (first != nullptr) {
      return ConfigError(Where(node->source(), name),
                         "cannot be combined with " + first_name + " (line " +
                             std::to_string(first->source().begin.line) + "); set only one");
    }
    first = node;
    first_name = name;
  }
  return OkStatus();
}

Status FileLoader::Load(const toml::table& root) const {
  // The root holds the tables: the sections of the settings table, in its order.
  std::vector<std::string_view> sections;
  for (const SettingInfo& info : Settings()) {
    if (std::find(sections.begin(), sections.end(), info.section) == sections.end()) {
      sections.push_back(info.section);
    }
  }
  for (const auto& [key, node] : InFileOrder(root)) {
    const std::string name(key->str());
    if (std::find(sections.begin(), sections.end(), name) == sections.end()) {
      std::string known;
      for (std::string_view s : sections) known += (known.empty() ? "" : ", ") + std::string(s);
      const bool is_table = node->is_table() || node->is_array_of_tables();
      return ConfigError(
          Where(key->source(), name),
          std::string(is_table ? "unknown table" : "unknown key") + "; known tables: " + known);
    }
    if (name == "database") {
      if (Status status = LoadDatabases(*node, name); !status.ok()) return status;
      continue;
    }
    Result<const toml::table*> table = AsTable(*node, name);
    RETURN_IF_ERROR(table);
    if (Status status =
            ReadSection(**table, name, name, AgentSettings(), draft_->config, draft_->where);
        !status.ok()) {
      return status;
    }
    if (Status status = CheckApiKeySources(**table, name); !status.ok()) return status;
  }
  return OkStatus();
}

Status FileLoader::LoadDatabases(const toml::node& node, const std::string& key) const {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    return ConfigError(Where(node.source(), key),
                       Expected("[[database]] tables", TypeName(node.type())));
  }
  std::map<std::string, toml::source_index> name_lines;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string prefix = key + "[" + std::to_string(i) + "]";
    const toml::table* table = element.as_table();
    if (table == nullptr) {
      return ConfigError(Where(element.source(), prefix),
                         Expected("a table", TypeName(element.type())));
    }
    DraftDatabase database;
    if (Status status = ReadSection(*table, prefix, "database", DatabaseSettings(), database.config,
                                    database.where);
        !status.ok()) {
      return status;
    }
    const toml::node* name = table->get("name");
    if (name == nullptr) {
      return ConfigError(Where(table->source(), prefix + ".name"),
                         "missing; every [[database]] entry needs a unique name");
    }
    const toml::source_index line = name->source().begin.line;
    if (const auto [first, inserted] = name_lines.emplace(database.config.name, line); !inserted) {
      return ConfigError(Where(name->source(), prefix + ".name"),
                         "duplicate database name " + Quote(database.config.name) +
                             ", first used at line " + std::to_string(first->second));
    }
    draft_->databases.push_back(std::move(database));
  }
  return OkStatus();
}

// Reads and parses the configuration file at `path` into `draft`. `from_env`: the path came from
// OPTISCHEMA_CONFIG, which an unreadable file's message then names.
Status LoadFile(const std::string& path, bool from_env, Draft* draft) {
  Result<std::string> text = ReadWholeFile(path);
  if (!text.ok()) {
    const std::string where = from_env ? EnvWhere("OPTISCHEMA_CONFIG") + ": " + path : path;
    return ConfigError(where, "cannot read configuration: " + text.error().message);
  }
  toml::table root;
  try {
    root = toml::parse(*text, std::string_view(path));
  } catch (const toml::parse_error& error) {
    const toml::source_position& at = error.source().begin;
    return MakeError(ErrorCode::kConfig,
                     path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                         ": TOML syntax error: " + std::string(error.description()));
  }
  return FileLoader(path, draft).Load(root);
}

// ----------------------------------------------------------------------------------------------
// The environment

// The value of environment variable `name`; an empty value counts as unset.
std::optional<std::string> Lookup(const EnvLookup& env, const std::string& name) {
  std::optional<std::string> value = env(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

// The API key source: the environment form of api_key or api_key_file (not both) replaces
// whichever source the file set.
Status OverrideApiKey(const EnvLookup& env, Draft* draft) {
  const SettingEntry<Config>* set = nullptr;
  std::optional<std::string> value;
  for (const SettingEntry<Config>& row : AgentSettings()) {
    if (row.special != Special::kApiKeySource) continue;
    std::optional<std::string> text = Lookup(env, std::string(row.info.env));
    if (!text) continue;
    if (set != nullptr) {
      return ConfigError(EnvWhere(row.info.env), "cannot be combined with " +
                                                     std::string(set->info.env) + "; set only one");
    }
    set = &row;
    value = std::move(text);
  }
  if (set == nullptr) return OkStatus();
  for (const SettingEntry<Config>& row : AgentSettings()) {
    if (row.special != Special::kApiKeySource) continue;
    const RawValue raw{nullptr, &row == set ? std::string_view(*value) : std::string_view(),
                       EnvWhere(row.info.env)};
    if (Status status = row.read(raw, draft->config); !status.ok()) return status;
    if (&row == set) draft->where[&row.info] = raw.where;
  }
  return OkStatus();
}

// The environment forms of [[database]] keys set that key of the database named "default"; the
// first of them (the DSN) adds that entry when the file has none, the others require it.
Status OverrideDefaultDatabase(const EnvLookup& env, Draft* draft) {
  constexpr std::string_view kDefault = "default";
  const SettingEntry<DatabaseConfig>* first = nullptr;
  for (const SettingEntry<DatabaseConfig>& row : DatabaseSettings()) {
    if (row.special != Special::kDefaultDatabase) continue;
    if (first == nullptr) first = &row;
    const std::optional<std::string> text = Lookup(env, std::string(row.info.env));
    if (!text) continue;
    DraftDatabase* database = FindDatabase(*draft, kDefault);
    if (database == nullptr && &row != first) {
      return ConfigError(EnvWhere(row.info.env),
                         "applies to the database named \"default\", which is not configured; "
                         "set " +
                             std::string(first->info.env) + " as well");
    }
    if (database == nullptr) {
      database = &draft->databases.emplace_back();
      database->config.name = kDefault;
    }
    const RawValue raw{nullptr, *text, EnvWhere(row.info.env)};
    if (Status status = row.read(raw, database->config); !status.ok()) return status;
    database->where[&row.info] = raw.where;
  }
  return OkStatus();
}

// Every environment variable of the settings table, in the table's order.
Status ApplyEnvironment(const EnvLookup& env, Draft* draft) {
  bool api_key_done = false;
  for (const SettingEntry<Config>& row : AgentSettings()) {
    if (row.info.env.empty()) continue;
    if (row.special == Special::kApiKeySource) {
      if (api_key_done) continue;
      api_key_done = true;
      if (Status status = OverrideApiKey(env, draft); !status.ok()) return status;
      continue;
    }
    const std::optional<std::string> text = Lookup(env, std::string(row.info.env));
    if (!text) continue;
    const RawValue raw{nullptr, *text, EnvWhere(row.info.env)};
    if (Status status = row.read(raw, draft->config); !status.ok()) return status;
    draft->where[&row.info] = raw.where;
  }
  return OverrideDefaultDatabase(env, draft);
}

// ----------------------------------------------------------------------------------------------
// Checks on the merged configuration

// Reads api_key_file into api_key, and rejects a key that cannot go into an HTTP header. The key
// itself never appears in a message.
Status ResolveApiKey(Draft* draft) {
  Config& config = draft->config;
  // At most one API key source holds a value now: its source names every problem below.
  const Config defaults;
  std::string api_key_where;
  for (const SettingEntry<Config>& row : AgentSettings()) {
    if (row.special == Special::kApiKeySource && !row.same(config, defaults)) {
      api_key_where = SourceOf(draft->where, row.info);
    }
  }
  if (!config.api_key_file.empty()) {
    Result<std::string> content = ReadWholeFile(config.api_key_file);
    if (!content.ok()) {
      return ConfigError(api_key_where, "cannot read " + Quote(config.api_key_file) + ": " +
                                            content.error().message);
    }
    config.api_key = Trim(*content);
    if (config.api_key.empty()) {
      return ConfigError(api_key_where, "file " + Quote(config.api_key_file) + " is empty");
    }
  }
  if (HasControlCharacter(config.api_key)) {
    return ConfigError(api_key_where,
                       "the API key contains a line break or other control character (key not "
                       "shown)");
  }
  return OkStatus();
}

// Moves the databases into the configuration, requiring at least one and readable password
// files. `file` is the configuration file, empty in environment-only mode.
Status FinishDatabases(const std::string& file, Draft* draft) {
  if (draft->databases.empty()) {
    const std::string where =
        file.empty() ? "a configuration file (--config or OPTISCHEMA_CONFIG)" : file;
    return MakeError(ErrorCode::kConfig, "no database configured: add a [[database]] entry to " +
                                             where + " or set OPTISCHEMA_DATABASE_URL");
  }
  for (const DraftDatabase& database : draft->databases) {
    if (!pg::DsnParses(database.config.dsn)) {
      return ConfigError(SourceOf(database.where, DatabaseSetting("dsn").info),
                         "not a libpq connection string or URI (value not shown: it may hold a "
                         "password); check quoting of values with spaces and %-escapes in URIs");
    }
    const std::string& password_file = database.config.password_file;
    if (password_file.empty()) continue;
    if (Result<std::string> content = ReadWholeFile(password_file); !content.ok()) {
      return ConfigError(SourceOf(database.where, DatabaseSetting("password_file").info),
                         "cannot read " + Quote(password_file) + ": " + content.error().message);
    }
  }
  for (DraftDatabase& database : draft->databases) {
    draft->config.databases.push_back(std::move(database.config));
  }
  return OkStatus();
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<Config> LoadConfig(const std::string& path, const EnvLookup& env) {
  const std::string file = path.empty() ? Lookup(env, "OPTISCHEMA_CONFIG").value_or("") : path;
  Draft draft;
  Status status = OkStatus();
  if (!file.empty()) status = LoadFile(file, /*from_env=*/path.empty(), &draft);
  if (status.ok()) status = ApplyEnvironment(env, &draft);
  if (status.ok()) status = ResolveApiKey(&draft);
  if (status.ok()) status = FinishDatabases(file, &draft);
  RETURN_IF_ERROR(status);
  return std::move(draft.config);
}

}  // namespace optischema::agent
