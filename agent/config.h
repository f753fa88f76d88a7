#pragma once

// Agent configuration: a TOML file (--config FILE or OPTISCHEMA_CONFIG) and/or OPTISCHEMA_*
// environment variables. Environment values override the file. Every error names the source
// (file and line where there is one, or the environment variable), the key, and what is wrong.
// Error messages never quote the API key or a DSN.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/logging.h"
#include "core/result.h"

namespace optischema::agent {

enum class SendQueryText { kNormalized, kNone };

struct DatabaseConfig {
  std::string name;           // unique, [A-Za-z0-9_.-]{1,63}
  std::string dsn;            // libpq connection string or URI; may omit everything (PG* env vars)
  std::string password_file;  // read at connect time (LoadConfig checks it is readable); empty:
                              // libpq's usual sources (pgpass, env)
  bool apply = false;
  std::string maintenance_window;
  // Statement timeout of the sessions that apply changes (an index build needs long).
  std::chrono::milliseconds apply_statement_timeout = std::chrono::hours(6);
  // Minimum HypoPG-estimated saving, in percent, for a create_index with affected statements;
  // 0 turns the check off.
  int min_index_saving_pct = 10;
};

// The index advisor (advisor/advisor.h): findings, schema snapshots and index proposals.
struct AdvisorConfig {
  bool enabled = true;
  // How often it runs; its advice rides on the next snapshot. The first run follows the first
  // snapshot after start.
  std::chrono::milliseconds interval = std::chrono::minutes(15);
  std::uint64_t unused_min_size = std::uint64_t{10} << 20;  // smaller indexes are never "unused"
  // Statistics younger than this: "not enough history" instead of "unused".
  std::chrono::milliseconds unused_min_stats_age = std::chrono::hours(24 * 7);
  int max_statements = 20;             // top statements by total time considered, 1..1000
  int min_plan_cost = 100;             // cheaper generic plans get no proposal
  int min_saving_pct = 50;             // single-column proposals, 1..100
  int min_saving_pct_two_column = 70;  // two-column proposals, 1..100
  bool propose_drops = true;           // drop_index proposals for unused and redundant indexes

  bool operator==(const AdvisorConfig&) const = default;
};

struct Config {
  // [agent]
  std::string state_dir = "/var/lib/optischema-agent";
  std::chrono::milliseconds interval = std::chrono::seconds(30);
  LogFormat log_format = LogFormat::kText;
  std::string log_level = "info";             // trace, debug, info, warn, error, critical, off
  LogOutput log_output = LogOutput::kStderr;  // a change takes effect at the next start
  std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(60);
  // Bound on the compressed size of the spool; above it the oldest snapshots are dropped (and
  // the drops reported in the next heartbeat).
  std::uint64_t spool_max_bytes = std::uint64_t{256} * 1024 * 1024;
  // [control_plane]
  std::string control_plane_url;  // https://, or http:// to a loopback host; empty: none
  std::string api_key;            // never logged
  std::string api_key_file;       // read by LoadConfig into api_key, trimmed of whitespace
  std::string ca_file;
  // Proxy URL for the control plane; empty: the https_proxy / no_proxy environment variables.
  std::string proxy;
  std::string recommendation_public_key;
  std::chrono::milliseconds recommendations_interval = std::chrono::minutes(5);
  // Longest one exchange with the control plane may take (connecting, sending, waiting for and
  // reading the reply), 1 s to 2 min: a server that accepts and never answers is given up on
  // after this and retried with backoff. Below the watchdog's stall limit for the link thread.
  std::chrono::milliseconds control_plane_timeout = std::chrono::seconds(60);
  // [collector]
  int max_statements_per_snapshot = 5000;  // 10 to 1000000
  SendQueryText send_query_text = SendQueryText::kNormalized;
  std::chrono::milliseconds text_refresh_interval = std::chrono::minutes(5);
  // pg_stat_activity is sampled this often between readings; 0: not at all.
  std::chrono::milliseconds activity_sample_interval = std::chrono::seconds(1);
  // Sessions idle in a transaction for longer, holding locks or blocking, are reported.
  std::chrono::milliseconds idle_in_transaction_warn = std::chrono::seconds(60);
  // [advisor]
  AdvisorConfig advisor;
  // [[database]]
  std::vector<DatabaseConfig> databases;
};

// Looks up an environment variable; injected so tests need not touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment (getenv).
EnvLookup ProcessEnv();

// Loads the configuration. `path` empty: OPTISCHEMA_CONFIG if set, else environment only.
// Every key, its environment variable and its default are in the settings table
// (agent/settings.h). An empty environment value counts as unset; a set one replaces the one
// setting it names. The environment form of api_key or api_key_file (not both) replaces the
// file's api_key / api_key_file; OPTISCHEMA_DATABASE_URL sets the dsn of the database named
// "default" (added when the file has none), OPTISCHEMA_DATABASE_PASSWORD_FILE its password_file.
// Files named by api_key_file and password_file are read after merging. Errors (all kConfig), as
// "FILE:LINE: KEY: what is wrong" (KEY like "agent.interval" or "database[0].name", entries
// counted from 0), "environment VARIABLE: what is wrong", "FILE:LINE:COL: TOML syntax error: ..."
// or "FILE: cannot read configuration: ...": unreadable file, TOML syntax, unknown key or table,
// wrong type, out-of-range value, api_key together with api_key_file, unreadable key or password
// file, duplicate database name, no database at all.
Result<Config> LoadConfig(const std::string& path, const EnvLookup& env);

// Parses "500ms", "30s", "5m", "1h", "7d" (a positive integer and a unit). nullopt when malformed:
// zero, a sign, no or another unit, surrounding text, or more than milliseconds can hold.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Parses a size: a positive integer with a unit "KiB", "MiB" or "GiB" ("256MiB"), or bytes
// without a unit. nullopt when malformed, below 64 KiB or above 1 TiB.
std::optional<std::uint64_t> ParseByteSize(std::string_view text);

}  // namespace optischema::agent
