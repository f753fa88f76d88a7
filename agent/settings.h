#pragma once

// Every configuration setting, declared once. One table (agent/settings.cc) gives each key its
// section, environment variable, default, value type and range, and where a change lands; the TOML
// reader, the environment overrides and the reload comparison are all driven by it, and a unit test
// keeps docs/configuration.md and packaging/agent.toml equal to it. Adding a setting is one entry
// there (plus its member in Config and its line in the two documents).

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "agent/config.h"

namespace optischema::agent {

// What a configuration reload (SIGHUP) does with a changed value.
enum class Lands {
  kDatabaseWorker,  // the database's worker is restarted with it
  kLink,            // the control-plane link takes it at its next exchange
  kLogging,         // logging uses it at once
  kNextStart,       // only a restart applies it; a reload keeps the running value (agent-wide
                    // settings) or leaves it to the apply worker, which reads it at start
};

// The public description of one setting.
struct SettingInfo {
  std::string_view section;        // "agent", "control_plane", "collector", "advisor", "database"
  std::string_view key;            // as written in the file
  std::string_view env;            // OPTISCHEMA_* variable, or empty
  std::string_view default_value;  // as TOML writes it ("30s" quoted, 5000, true); "" required
  Lands lands;
};

// Every setting, [agent] first, [[database]] keys last, in the order the file documents them.
std::span<const SettingInfo> Settings();

// Whether `a` and `b` agree on every setting that lands in `lands`: the agent-wide ones compared
// between `ca` and `cb`, the [[database]] ones between `da` and `db`.
bool SameSettings(Lands lands, const Config& ca, const DatabaseConfig& da, const Config& cb,
                  const DatabaseConfig& db);

// Sets every agent-wide kNextStart setting of `fresh` (a reloaded configuration) back to its value
// in `running`; returns the qualified names of those that differed ("agent.state_dir and
// agent.spool_max_bytes"), empty when none did.
std::string KeepNextStartSettings(const Config& running, Config& fresh);

// Whether `a` and `b` hold the same value of Settings()[index] (for a [[database]] key, the value
// of their first database; false when either has none).
bool SameSetting(std::size_t index, const Config& a, const Config& b);

}  // namespace optischema::agent
