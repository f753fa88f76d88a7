#pragma once

// `optischema-agent check --format json` as a user runs it, with a configuration of one database
// ("shop") and a control plane, and reading its items back.

#include <nlohmann/json.hpp>
#include <string>

namespace optischema::testing {

struct CheckRun {
  int status = -1;       // the exit status
  nlohmann::json items;  // the array of items; discarded (not an array) when stdout was not JSON
};

struct CheckSetup {
  std::string dir;  // holds agent.toml, api-key and the state directory
  std::string dsn;
  std::string control_plane_url;
  std::string api_key;
  std::string ca_file;
  bool apply = false;
};

// Writes `setup.dir`/agent.toml and `setup.dir`/api-key and runs `check --format json` on them.
CheckRun RunCheck(const CheckSetup& setup);

// The item whose "check" is `check`, or null.
nlohmann::json CheckItem(const CheckRun& run, const std::string& check);

// Every item as "STATUS subject: message", one per line, for failure messages.
std::string CheckStatuses(const CheckRun& run);

}  // namespace optischema::testing
