#pragma once

// Agent configuration: a TOML file (--config FILE or OPTISCHEMA_CONFIG) and/or OPTISCHEMA_*
// environment variables. Environment values override the file. Every error names the source
// (file and line where there is one, or the environment variable), the key, and what is wrong.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace optischema::agent {

enum class SendQueryText { kNormalized, kNone };
enum class LogFormat { kText, kJson };

struct DatabaseConfig {
  std::string name;           // unique, [A-Za-z0-9_.-]+
  std::string dsn;            // libpq connection string or URI; may omit everything (PG* env vars)
  std::string password_file;  // read at connect time; empty: libpq's usual sources (pgpass, env)
  bool apply = false;
  std::string maintenance_window;
};

struct Config {
  // [agent]
  std::string state_dir = "/var/lib/optischema-agent";
  std::chrono::milliseconds interval = std::chrono::seconds(30);
  LogFormat log_format = LogFormat::kText;
  std::string log_level = "info";  // trace, debug, info, warn, error, critical, off
  // [control_plane]
  std::string control_plane_url;
  std::string api_key;       // never logged
  std::string api_key_file;  // read by LoadConfig into api_key
  std::string ca_file;
  std::string recommendation_public_key;
  // [collector]
  int max_statements_per_snapshot = 5000;
  SendQueryText send_query_text = SendQueryText::kNormalized;
  std::chrono::milliseconds text_refresh_interval = std::chrono::minutes(5);
  // [[database]]
  std::vector<DatabaseConfig> databases;
};

// Looks up an environment variable; injected so tests need not touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

// Loads the configuration. `path` empty: OPTISCHEMA_CONFIG if set, else environment only.
// Errors (all kConfig): unreadable file, TOML syntax, unknown key, wrong type, out-of-range
// value, duplicate database name, no database at all.
Result<Config> LoadConfig(const std::string& path, const EnvLookup& env);

// Parses "500ms", "30s", "5m", "1h" (a positive integer and a unit). nullopt when malformed.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace optischema::agent
