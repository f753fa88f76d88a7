// Fuzz target: the agent's configuration, a TOML file plus OPTISCHEMA_* environment values,
// through LoadConfig as `optischema-agent --config FILE` runs it.
//
// Input: the file's text, optionally followed by a line "#%env" and then environment values, one
// NAME=VALUE per line (the fake environment LoadConfig is given; nothing else is set). The marker
// is a TOML comment, so the whole input is still the file as far as TOML goes. Inputs naming
// /dev, /proc or /sys are skipped: api_key_file and password_file are read, and a device there
// could block the run or never end.
//
// Invariants (a failure aborts): a configuration that loads has at least one database, and every
// maintenance_window in it parses, with a normalized form that parses back to itself.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "agent/config.h"
#include "applier/maintenance_window.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace optischema;

constexpr std::string_view kEnvMarker = "\n#%env\n";

std::map<std::string, std::string> ParseEnvironment(std::string_view text) {
  std::map<std::string, std::string> env;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const std::size_t equals = line.find('=');
    if (equals != std::string_view::npos) {
      env[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
    }
  }
  return env;
}

void CheckLoaded(const agent::Config& config) {
  if (config.databases.empty()) fuzz::Fail("a configuration without databases loaded");
  for (const agent::DatabaseConfig& database : config.databases) {
    const auto window = applier::ParseMaintenanceWindow(database.maintenance_window);
    if (!window.ok()) fuzz::Fail("a loaded maintenance_window does not parse");
    const std::string normalized = window->ToString();
    const auto again = applier::ParseMaintenanceWindow(normalized);
    if (!again.ok() || again->ToString() != normalized) {
      fuzz::Fail("a normalized maintenance_window does not parse back to itself: " + normalized);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const std::string_view device : {"/dev", "/proc", "/sys"}) {
    if (input.find(device) != std::string_view::npos) return -1;
  }
  const std::size_t marker = input.find(kEnvMarker);
  const std::string_view file_text = input.substr(0, marker);
  const std::map<std::string, std::string> variables =
      marker == std::string_view::npos ? std::map<std::string, std::string>()
                                       : ParseEnvironment(input.substr(marker + kEnvMarker.size()));

  static const std::string path = fuzz::ScratchDir() + "/agent.toml";
  fuzz::WriteFileOrDie(path, file_text);
  const agent::EnvLookup env = [&variables](const std::string& name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
  const Result<agent::Config> config = agent::LoadConfig(path, env);
  if (config.ok()) CheckLoaded(*config);
  return 0;
}
