#include "agent/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "applier/maintenance_window.h"
#include "pg/pg_session.h"
#include "protocol/base64.h"

namespace optischema::agent {
namespace {

using std::chrono::milliseconds;

constexpr int kMinStatements = 10;
constexpr int kMaxStatements = 1000000;
constexpr std::size_t kMaxDatabaseNameLength = 63;

// ----------------------------------------------------------------------------------------------
// Error messages

// `text` in double quotes, with quotes, backslashes and control characters escaped so that a
// value cannot break the single-line error message.
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

// "expected <expected>, got <got>", the reason of every wrong-type and invalid-value error.
std::string Expected(std::string_view expected, std::string_view got) {
  return "expected " + std::string(expected) + ", got " + std::string(got);
}

// An error "<where>: <reason>", where `where` is "FILE:LINE: KEY" or "environment VARIABLE".
Error ConfigError(std::string_view where, std::string_view reason) {
  return MakeError(ErrorCode::kConfig, std::string(where) + ": " + std::string(reason));
}

std::string EnvWhere(std::string_view variable) { return "environment " + std::string(variable); }

// ----------------------------------------------------------------------------------------------
// Values: the checks shared by the file and the environment

// A setting written as a string: what a valid value looks like (completing "expected ...") and
// how to convert it. `parse` returns nullopt for an invalid value, which the error then quotes;
// settings holding secrets (API key, DSN) use parsers that accept every string.
template <class T>
struct StringSetting {
  std::string_view expected;
  std::optional<T> (*parse)(std::string_view text);
  bool may_hold_secret = false;  // an invalid value is then not quoted in the error
};

template <class T>
std::string Shown(const StringSetting<T>& setting, std::string_view text) {
  return setting.may_hold_secret ? std::string("a value that is not shown (it may hold a password)")
                                 : Quote(text);
}

std::optional<std::string> AnyString(std::string_view text) { return std::string(text); }

std::optional<std::string> NonEmpty(std::string_view text) {
  if (text.empty()) return std::nullopt;
  return std::string(text);
}

std::optional<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::optional<LogOutput> ParseLogOutput(std::string_view text) {
  if (text == "stderr") return LogOutput::kStderr;
  if (text == "stdout") return LogOutput::kStdout;
  return std::nullopt;
}

std::optional<std::string> ParseLogLevel(std::string_view text) {
  constexpr std::array<std::string_view, 7> kLevels = {"trace", "debug",    "info", "warn",
                                                       "error", "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), text) == kLevels.end()) return std::nullopt;
  return std::string(text);
}

// Accepts "" (no control plane), https:// URLs with a host, and http:// URLs whose host is a
// loopback name, for a control plane reached through a local proxy or tunnel.
std::optional<std::string> ParseControlPlaneUrl(std::string_view url) {
  if (url.empty()) return std::string();
  constexpr std::string_view kHttps = "https://";
  constexpr std::string_view kHttp = "http://";
  const bool https = url.starts_with(kHttps);
  if (!https && !url.starts_with(kHttp)) return std::nullopt;
  std::string_view authority = url.substr(https ? kHttps.size() : kHttp.size());
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close != std::string_view::npos) host = authority.substr(0, close + 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  if (host.empty()) return std::nullopt;
  if (!https && host != "127.0.0.1" && host != "localhost" && host != "[::1]") return std::nullopt;
  return std::string(url);
}

std::optional<SendQueryText> ParseSendQueryText(std::string_view text) {
  if (text == "normalized") return SendQueryText::kNormalized;
  if (text == "none") return SendQueryText::kNone;
  return std::nullopt;
}

// A proxy URL as libcurl takes it: empty (none), or scheme://host[:port] with scheme http, https,
// socks4, socks4a, socks5 or socks5h; no line breaks.
std::optional<std::string> ParseProxyUrl(std::string_view url) {
  if (url.empty()) return std::string();
  for (std::string_view scheme :
       {"http://", "https://", "socks4://", "socks4a://", "socks5://", "socks5h://"}) {
    if (url.starts_with(scheme) && url.size() > scheme.size() &&
        url.find_first_of("\r\n\t ") == std::string_view::npos) {
      return std::string(url);
    }
  }
  return std::nullopt;
}

bool IsDatabaseNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

std::optional<std::string> ParseDatabaseName(std::string_view text) {
  if (text.empty() || text.size() > kMaxDatabaseNameLength) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), IsDatabaseNameChar)) return std::nullopt;
  return std::string(text);
}

// An Ed25519 public key as the control plane prints it: standard base64 of 32 bytes; empty
// (applying off) is accepted. A malformed key would make every recommendation fail to verify.
std::optional<std::string> ParsePublicKey(std::string_view text) {
  constexpr std::size_t kPublicKeyBytes = 32;
  if (text.empty()) return std::string();
  const Result<std::string> bytes = protocol::Base64Decode(text);
  if (!bytes.ok() || bytes->size() != kPublicKeyBytes) return std::nullopt;
  return std::string(text);
}

bool StatementsInRange(std::int64_t value) {
  return value >= kMinStatements && value <= kMaxStatements;
}

// The environment form of max_statements_per_snapshot: decimal digits only.
std::optional<int> ParseStatements(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end || !StatementsInRange(value)) return std::nullopt;
  return static_cast<int>(value);
}

constexpr StringSetting<std::string> kString = {"a string", AnyString};
constexpr StringSetting<std::string> kPath = {"a non-empty path", NonEmpty};
constexpr StringSetting<milliseconds> kDuration = {R"(a duration like "30s" or "5m")",
                                                   ParseDuration};
// A control-plane exchange timeout: a duration from 1 s to 2 min.
std::optional<milliseconds> ParseExchangeTimeout(std::string_view text) {
  const std::optional<milliseconds> value = ParseDuration(text);
  if (!value || *value < std::chrono::seconds(1) || *value > std::chrono::minutes(2)) {
    return std::nullopt;
  }
  return value;
}
constexpr StringSetting<milliseconds> kExchangeTimeout = {R"(a duration from "1s" to "2m")",
                                                          ParseExchangeTimeout};
constexpr StringSetting<LogFormat> kLogFormat = {R"("text" or "json")", ParseLogFormat};
constexpr StringSetting<LogOutput> kLogOutput = {R"("stderr" or "stdout")", ParseLogOutput};
constexpr StringSetting<std::string> kLogLevel = {
    "one of trace, debug, info, warn, error, critical, off", ParseLogLevel};
constexpr StringSetting<std::string> kControlPlaneUrl = {
    "an https:// URL (http:// only for 127.0.0.1, localhost or [::1])", ParseControlPlaneUrl};
constexpr StringSetting<SendQueryText> kSendQueryText = {R"("normalized" or "none")",
                                                         ParseSendQueryText};
constexpr StringSetting<std::string> kDatabaseName = {
    "a name of 1 to 63 characters from A-Z a-z 0-9 _ . -", ParseDatabaseName};
constexpr StringSetting<std::uint64_t> kByteSize = {R"(a size from 64KiB to 1024GiB like "256MiB")",
                                                    ParseByteSize};
constexpr StringSetting<std::string> kProxyUrl = {R"(a proxy URL like "http://proxy:3128")",
                                                  ParseProxyUrl, /*may_hold_secret=*/true};
constexpr StringSetting<std::string> kPublicKey = {
    "an Ed25519 public key, standard base64 of 32 bytes (44 characters) as "
    "`optischema-controlplane keys show` prints it",
    ParsePublicKey};
constexpr std::string_view kStatementsExpected = "an integer from 10 to 1000000";
constexpr StringSetting<int> kStatements = {kStatementsExpected, ParseStatements};

// The whole content of the file at `path`; on failure the error message is the system's reason
// (e.g. "No such file or directory").
Result<std::string> ReadWholeFile(const std::string& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             std::fclose);
  if (file == nullptr) {
    return MakeError(ErrorCode::kIo, std::generic_category().message(errno));
  }
  std::string content;
  std::array<char, 4096> buffer{};
  std::size_t count = 0;
  while ((count = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    content.append(buffer.data(), count);
  }
  if (std::ferror(file.get()) != 0) {
    return MakeError(ErrorCode::kIo, std::generic_category().message(errno));
  }
  return content;
}

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

struct DraftDatabase {
  DatabaseConfig config;
  std::string password_file_where;  // source of config.password_file, for the readability check
  std::string dsn_where;            // source of config.dsn, for the syntax check
};

// Remembers where the file-path settings came from, so that problems found only after the file
// and the environment are merged (unreadable key or password file) still name their source.
struct Draft {
  Config config;  // config.databases stays empty until Finish()
  std::vector<DraftDatabase> databases;
  std::string api_key_where;  // source of config.api_key or config.api_key_file
};

DraftDatabase* FindDatabase(Draft& draft, std::string_view name) {
  for (DraftDatabase& database : draft.databases) {
    if (database.config.name == name) return &database;
  }
  return nullptr;
}

// ----------------------------------------------------------------------------------------------
// The file

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

// Reads a parsed configuration file into a Draft. Every error is "FILE:LINE: KEY: reason" with
// KEY fully qualified ("agent.interval", "database[0].name"; database entries are counted from 0
// in file order).
class FileLoader {
 public:
  FileLoader(std::string_view path, Draft* draft) : path_(path), draft_(draft) {}

  Status Load(const toml::table& root) const;

 private:
  // Reads the value of one known key; `key` is its fully qualified name.
  using Handler = std::function<Status(const toml::node& node, const std::string& key)>;
  struct Field {
    std::string_view name;
    Handler read;
  };

  std::string Where(const toml::source_region& source, std::string_view key) const;
  Error Fail(const toml::node& node, std::string_view key, std::string_view reason) const;

  // Runs the handler of every key of `table` (whose qualified name is `prefix`, empty for the
  // document root); an unknown key is an error listing the known ones.
  Status ReadFields(const toml::table& table, const std::string& prefix,
                    std::span<const Field> fields) const;

  template <class T>
  Status ReadString(const toml::node& node, const std::string& key, const StringSetting<T>& setting,
                    T* out) const;
  Status ReadBool(const toml::node& node, const std::string& key, bool* out) const;
  Status ReadStatements(const toml::node& node, const std::string& key, int* out) const;
  Result<const toml::table*> AsTable(const toml::node& node, const std::string& key) const;

  Status LoadAgent(const toml::node& node, const std::string& key) const;
  Status LoadControlPlane(const toml::node& node, const std::string& key) const;
  Status LoadCollector(const toml::node& node, const std::string& key) const;
  Status LoadAdvisor(const toml::node& node, const std::string& key) const;
  Status ReadInteger(const toml::node& node, const std::string& key, int min, int max,
                     int* out) const;
  Status LoadDatabases(const toml::node& node, const std::string& key) const;

  std::string_view path_;
  Draft* draft_;
};

std::string FileLoader::Where(const toml::source_region& source, std::string_view key) const {
  return std::string(path_) + ":" + std::to_string(source.begin.line) + ": " + std::string(key);
}

Error FileLoader::Fail(const toml::node& node, std::string_view key,
                       std::string_view reason) const {
  return ConfigError(Where(node.source(), key), reason);
}

Status FileLoader::ReadFields(const toml::table& table, const std::string& prefix,
                              std::span<const Field> fields) const {
  // toml::table iterates in key order; visit in file order so the first problem is reported.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [key, node] : table) entries.emplace_back(&key, &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const toml::source_position& pa = a.first->source().begin;
    const toml::source_position& pb = b.first->source().begin;
    return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
  });
  for (const auto& [key, node] : entries) {
    const std::string name(key->str());
    const std::string qualified = prefix.empty() ? name : prefix + "." + name;
    const auto field =
        std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == name; });
    if (field != fields.end()) {
      if (Status status = field->read(*node, qualified); !status.ok()) return status;
      continue;
    }
    std::string known;
    for (const Field& f : fields) known += (known.empty() ? "" : ", ") + std::string(f.name);
    const bool is_table = node->is_table() || node->is_array_of_tables();
    const std::string reason =
        prefix.empty()
            ? std::string(is_table ? "unknown table" : "unknown key") + "; known tables: " + known
            : "unknown key; known keys: " + known;
    return ConfigError(Where(key->source(), qualified), reason);
  }
  return OkStatus();
}

template <class T>
Status FileLoader::ReadString(const toml::node& node, const std::string& key,
                              const StringSetting<T>& setting, T* out) const {
  const toml::value<std::string>* text = node.as_string();
  if (text == nullptr) return Fail(node, key, Expected(setting.expected, TypeName(node.type())));
  std::optional<T> value = setting.parse(text->get());
  if (!value) return Fail(node, key, Expected(setting.expected, Shown(setting, text->get())));
  *out = *std::move(value);
  return OkStatus();
}

Status FileLoader::ReadBool(const toml::node& node, const std::string& key, bool* out) const {
  const toml::value<bool>* value = node.as_boolean();
  if (value == nullptr) return Fail(node, key, Expected("true or false", TypeName(node.type())));
  *out = value->get();
  return OkStatus();
}

Status FileLoader::ReadStatements(const toml::node& node, const std::string& key, int* out) const {
  const toml::value<std::int64_t>* value = node.as_integer();
  if (value == nullptr) {
    return Fail(node, key, Expected(kStatementsExpected, TypeName(node.type())));
  }
  if (!StatementsInRange(value->get())) {
    return Fail(node, key, Expected(kStatementsExpected, std::to_string(value->get())));
  }
  *out = static_cast<int>(value->get());
  return OkStatus();
}

Result<const toml::table*> FileLoader::AsTable(const toml::node& node,
                                               const std::string& key) const {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return Fail(node, key, Expected("a table ([" + key + "])", TypeName(node.type())));
  }
  return table;
}

Status FileLoader::Load(const toml::table& root) const {
  const Field fields[] = {
      {"agent", [this](const auto& node, const auto& key) { return LoadAgent(node, key); }},
      {"control_plane",
       [this](const auto& node, const auto& key) { return LoadControlPlane(node, key); }},
      {"collector", [this](const auto& node, const auto& key) { return LoadCollector(node, key); }},
      {"advisor", [this](const auto& node, const auto& key) { return LoadAdvisor(node, key); }},
      {"database", [this](const auto& node, const auto& key) { return LoadDatabases(node, key); }},
  };
  return ReadFields(root, "", fields);
}

Status FileLoader::LoadAgent(const toml::node& node, const std::string& key) const {
  Result<const toml::table*> table = AsTable(node, key);
  if (!table.ok()) return std::move(table).error();
  Config& config = draft_->config;
  const Field fields[] = {
      {"state_dir",
       [&](const auto& n, const auto& k) { return ReadString(n, k, kPath, &config.state_dir); }},
      {"interval",
       [&](const auto& n, const auto& k) { return ReadString(n, k, kDuration, &config.interval); }},
      {"heartbeat_interval",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kDuration, &config.heartbeat_interval);
       }},
      {"spool_max_bytes",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kByteSize, &config.spool_max_bytes);
       }},
      {"log_format",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kLogFormat, &config.log_format);
       }},
      {"log_level", [&](const auto& n,
                        const auto& k) { return ReadString(n, k, kLogLevel, &config.log_level); }},
      {"log_output",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kLogOutput, &config.log_output);
       }},
  };
  return ReadFields(**table, key, fields);
}

Status FileLoader::LoadControlPlane(const toml::node& node, const std::string& key) const {
  Result<const toml::table*> table = AsTable(node, key);
  if (!table.ok()) return std::move(table).error();
  Config& config = draft_->config;
  // Reads api_key or api_key_file; a non-empty one is the key source ResolveApiKey reports.
  const auto read_key_source = [&](const toml::node& n, const std::string& k, std::string* out) {
    Status status = ReadString(n, k, kString, out);
    if (status.ok() && !out->empty()) draft_->api_key_where = Where(n.source(), k);
    return status;
  };
  const Field fields[] = {
      {"url",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kControlPlaneUrl, &config.control_plane_url);
       }},
      {"api_key",
       [&](const auto& n, const auto& k) { return read_key_source(n, k, &config.api_key); }},
      {"api_key_file",
       [&](const auto& n, const auto& k) { return read_key_source(n, k, &config.api_key_file); }},
      {"ca_file",
       [&](const auto& n, const auto& k) { return ReadString(n, k, kString, &config.ca_file); }},
      {"proxy",
       [&](const auto& n, const auto& k) { return ReadString(n, k, kProxyUrl, &config.proxy); }},
      {"recommendation_public_key",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kPublicKey, &config.recommendation_public_key);
       }},
      {"recommendations_interval",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kDuration, &config.recommendations_interval);
       }},
      {"timeout",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kExchangeTimeout, &config.control_plane_timeout);
       }},
  };
  if (Status status = ReadFields(**table, key, fields); !status.ok()) return status;
  if (!config.api_key.empty() && !config.api_key_file.empty()) {
    const toml::node& api_key = *(*table)->get("api_key");
    return Fail(*(*table)->get("api_key_file"), key + ".api_key_file",
                "cannot be combined with " + key + ".api_key (line " +
                    std::to_string(api_key.source().begin.line) + "); set only one");
  }
  return OkStatus();
}

Status FileLoader::LoadCollector(const toml::node& node, const std::string& key) const {
  Result<const toml::table*> table = AsTable(node, key);
  if (!table.ok()) return std::move(table).error();
  Config& config = draft_->config;
  const Field fields[] = {
      {"max_statements_per_snapshot",
       [&](const auto& n, const auto& k) {
         return ReadStatements(n, k, &config.max_statements_per_snapshot);
       }},
      {"send_query_text",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kSendQueryText, &config.send_query_text);
       }},
      {"text_refresh_interval",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kDuration, &config.text_refresh_interval);
       }},
  };
  return ReadFields(**table, key, fields);
}

Status FileLoader::ReadInteger(const toml::node& node, const std::string& key, int min, int max,
                               int* out) const {
  const toml::value<std::int64_t>* value = node.as_integer();
  if (value == nullptr || value->get() < min || value->get() > max) {
    return Fail(node, key,
                Expected("an integer from " + std::to_string(min) + " to " + std::to_string(max),
                         value == nullptr ? TypeName(node.type()) : std::to_string(value->get())));
  }
  *out = static_cast<int>(value->get());
  return OkStatus();
}

Status FileLoader::LoadAdvisor(const toml::node& node, const std::string& key) const {
  Result<const toml::table*> table = AsTable(node, key);
  if (!table.ok()) return std::move(table).error();
  AdvisorConfig& advisor = draft_->config.advisor;
  const Field fields[] = {
      {"enabled", [&](const auto& n, const auto& k) { return ReadBool(n, k, &advisor.enabled); }},
      {"interval", [&](const auto& n,
                       const auto& k) { return ReadString(n, k, kDuration, &advisor.interval); }},
      {"unused_min_size",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kByteSize, &advisor.unused_min_size);
       }},
      {"unused_min_stats_age",
       [&](const auto& n, const auto& k) {
         return ReadString(n, k, kDuration, &advisor.unused_min_stats_age);
       }},
      {"max_statements",
       [&](const auto& n, const auto& k) {
         return ReadInteger(n, k, 1, 1000, &advisor.max_statements);
       }},
      {"min_plan_cost",
       [&](const auto& n, const auto& k) {
         return ReadInteger(n, k, 0, 1000000000, &advisor.min_plan_cost);
       }},
      {"min_saving_pct",
       [&](const auto& n, const auto& k) {
         return ReadInteger(n, k, 1, 100, &advisor.min_saving_pct);
       }},
      {"min_saving_pct_two_column",
       [&](const auto& n, const auto& k) {
         return ReadInteger(n, k, 1, 100, &advisor.min_saving_pct_two_column);
       }},
      {"propose_drops",
       [&](const auto& n, const auto& k) { return ReadBool(n, k, &advisor.propose_drops); }},
  };
  return ReadFields(**table, key, fields);
}

Status FileLoader::LoadDatabases(const toml::node& node, const std::string& key) const {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    return Fail(node, key, Expected("[[database]] tables", TypeName(node.type())));
  }
  std::map<std::string, toml::source_index> name_lines;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string prefix = key + "[" + std::to_string(i) + "]";
    const toml::table* table = element.as_table();
    if (table == nullptr) {
      return Fail(element, prefix, Expected("a table", TypeName(element.type())));
    }
    DraftDatabase database;
    DatabaseConfig& config = database.config;
    const Field fields[] = {
        {"name", [&](const auto& n,
                     const auto& k) { return ReadString(n, k, kDatabaseName, &config.name); }},
        {"dsn",
         [&](const auto& n, const auto& k) {
           database.dsn_where = Where(n.source(), k);
           return ReadString(n, k, kString, &config.dsn);
         }},
        {"password_file",
         [&](const auto& n, const auto& k) {
           database.password_file_where = Where(n.source(), k);
           return ReadString(n, k, kString, &config.password_file);
         }},
        {"apply", [&](const auto& n, const auto& k) { return ReadBool(n, k, &config.apply); }},
        {"maintenance_window",
         [&](const auto& n, const auto& k) -> Status {
           Status status = ReadString(n, k, kString, &config.maintenance_window);
           if (!status.ok()) return status;
           const Result<applier::MaintenanceWindow> window =
               applier::ParseMaintenanceWindow(config.maintenance_window);
           if (!window.ok()) return Fail(n, k, window.error().message);
           return OkStatus();
         }},
        {"apply_statement_timeout",
         [&](const auto& n, const auto& k) {
           return ReadString(n, k, kDuration, &config.apply_statement_timeout);
         }},
        {"min_index_saving_pct",
         [&](const auto& n, const auto& k) {
           return ReadInteger(n, k, 0, 100, &config.min_index_saving_pct);
         }},
    };
    if (Status status = ReadFields(*table, prefix, fields); !status.ok()) return status;
    const toml::node* name = table->get("name");
    if (name == nullptr) {
      return Fail(*table, prefix + ".name",
                  "missing; every [[database]] entry needs a unique name");
    }
    const toml::source_index line = name->source().begin.line;
    if (const auto [first, inserted] = name_lines.emplace(config.name, line); !inserted) {
      return Fail(*name, prefix + ".name",
                  "duplicate database name " + Quote(config.name) + ", first used at line " +
                      std::to_string(first->second));
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

// Replaces `*out` with the value of `variable` when it is set.
template <class T>
Status Override(const EnvLookup& env, const std::string& variable, const StringSetting<T>& setting,
                T* out) {
  const std::optional<std::string> text = Lookup(env, variable);
  if (!text) return OkStatus();
  std::optional<T> value = setting.parse(*text);
  if (!value)
    return ConfigError(EnvWhere(variable), Expected(setting.expected, Shown(setting, *text)));
  *out = *std::move(value);
  return OkStatus();
}

// The API key source: OPTISCHEMA_API_KEY or OPTISCHEMA_API_KEY_FILE (not both) replaces whichever
// source the file set.
Status OverrideApiKey(const EnvLookup& env, Draft* draft) {
  const std::optional<std::string> key = Lookup(env, "OPTISCHEMA_API_KEY");
  const std::optional<std::string> key_file = Lookup(env, "OPTISCHEMA_API_KEY_FILE");
  if (key && key_file) {
    return ConfigError(EnvWhere("OPTISCHEMA_API_KEY_FILE"),
                       "cannot be combined with OPTISCHEMA_API_KEY; set only one");
  }
  Config& config = draft->config;
  if (key) {
    config.api_key = *key;
    config.api_key_file.clear();
    draft->api_key_where = EnvWhere("OPTISCHEMA_API_KEY");
  } else if (key_file) {
    config.api_key.clear();
    config.api_key_file = *key_file;
    draft->api_key_where = EnvWhere("OPTISCHEMA_API_KEY_FILE");
  }
  return OkStatus();
}

// OPTISCHEMA_DATABASE_URL sets the dsn of the database named "default", adding it when the file
// has none; OPTISCHEMA_DATABASE_PASSWORD_FILE sets that database's password_file.
Status OverrideDefaultDatabase(const EnvLookup& env, Draft* draft) {
  constexpr std::string_view kDefault = "default";
  if (const std::optional<std::string> url = Lookup(env, "OPTISCHEMA_DATABASE_URL")) {
    DraftDatabase* database = FindDatabase(*draft, kDefault);
    if (database == nullptr) {
      database = &draft->databases.emplace_back();
      database->config.name = kDefault;
    }
    database->config.dsn = *url;
    database->dsn_where = EnvWhere("OPTISCHEMA_DATABASE_URL");
  }
  if (const std::optional<std::string> password_file =
          Lookup(env, "OPTISCHEMA_DATABASE_PASSWORD_FILE")) {
    DraftDatabase* database = FindDatabase(*draft, kDefault);
    if (database == nullptr) {
      return ConfigError(EnvWhere("OPTISCHEMA_DATABASE_PASSWORD_FILE"),
                         "applies to the database named \"default\", which is not configured; "
                         "set OPTISCHEMA_DATABASE_URL as well");
    }
    database->config.password_file = *password_file;
    database->password_file_where = EnvWhere("OPTISCHEMA_DATABASE_PASSWORD_FILE");
  }
  return OkStatus();
}

Status ApplyEnvironment(const EnvLookup& env, Draft* draft) {
  Config& config = draft->config;
  Status status = Override(env, "OPTISCHEMA_STATE_DIR", kPath, &config.state_dir);
  if (status.ok()) status = Override(env, "OPTISCHEMA_INTERVAL", kDuration, &config.interval);
  if (status.ok()) {
    status = Override(env, "OPTISCHEMA_HEARTBEAT_INTERVAL", kDuration, &config.heartbeat_interval);
  }
  if (status.ok()) {
    status = Override(env, "OPTISCHEMA_SPOOL_MAX_BYTES", kByteSize, &config.spool_max_bytes);
  }
  if (status.ok()) status = Override(env, "OPTISCHEMA_LOG_FORMAT", kLogFormat, &config.log_format);
  if (status.ok()) status = Override(env, "OPTISCHEMA_LOG_LEVEL", kLogLevel, &config.log_level);
  if (status.ok()) {
    status = Override(env, "OPTISCHEMA_LOG_OUTPUT", kLogOutput, &config.log_output);
  }
  if (status.ok()) {
    status =
        Override(env, "OPTISCHEMA_CONTROL_PLANE_URL", kControlPlaneUrl, &config.control_plane_url);
  }
  if (status.ok()) status = OverrideApiKey(env, draft);
  if (status.ok()) status = Override(env, "OPTISCHEMA_CA_FILE", kString, &config.ca_file);
  if (status.ok()) status = Override(env, "OPTISCHEMA_PROXY", kProxyUrl, &config.proxy);
  if (status.ok()) {
    status = Override(env, "OPTISCHEMA_RECOMMENDATIONS_INTERVAL", kDuration,
                      &config.recommendations_interval);
  }
  if (status.ok()) {
    status = Override(env, "OPTISCHEMA_CONTROL_PLANE_TIMEOUT", kExchangeTimeout,
                      &config.control_plane_timeout);
  }
  if (status.ok()) {
    status = Override(env, "OPTISCHEMA_MAX_STATEMENTS", kStatements,
                      &config.max_statements_per_snapshot);
  }
  if (status.ok()) {
    status = Override(env, "OPTISCHEMA_SEND_QUERY_TEXT", kSendQueryText, &config.send_query_text);
  }
  if (status.ok()) {
    status = Override(env, "OPTISCHEMA_ADVISOR_INTERVAL", kDuration, &config.advisor.interval);
  }
  if (status.ok()) status = OverrideDefaultDatabase(env, draft);
  return status;
}

// ----------------------------------------------------------------------------------------------
// Checks on the merged configuration

// Reads api_key_file into api_key, and rejects a key that cannot go into an HTTP header. The key
// itself never appears in a message.
Status ResolveApiKey(Draft* draft) {
  Config& config = draft->config;
  if (!config.api_key_file.empty()) {
    Result<std::string> content = ReadWholeFile(config.api_key_file);
    if (!content.ok()) {
      return ConfigError(draft->api_key_where, "cannot read " + Quote(config.api_key_file) + ": " +
                                                   content.error().message);
    }
    config.api_key = Trim(*content);
    if (config.api_key.empty()) {
      return ConfigError(draft->api_key_where, "file " + Quote(config.api_key_file) + " is empty");
    }
  }
  if (HasControlCharacter(config.api_key)) {
    return ConfigError(draft->api_key_where,
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
      return ConfigError(database.dsn_where,
                         "not a libpq connection string or URI (value not shown: it may hold a "
                         "password); check quoting of values with spaces and %-escapes in URIs");
    }
    const std::string& password_file = database.config.password_file;
    if (password_file.empty()) continue;
    if (Result<std::string> content = ReadWholeFile(password_file); !content.ok()) {
      return ConfigError(database.password_file_where,
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
  if (!status.ok()) return std::move(status).error();
  return std::move(draft.config);
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
