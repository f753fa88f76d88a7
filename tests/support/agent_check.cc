#include "tests/support/agent_check.h"

#include <fstream>

#include "tests/support/agent_command.h"

namespace optischema::testing {

CheckRun RunCheck(const CheckSetup& setup) {
  std::ofstream(setup.dir + "/api-key") << setup.api_key << "\n";
  std::ofstream(setup.dir + "/agent.toml")
      << "[agent]\nstate_dir = \"" << setup.dir << "/state\"\n[control_plane]\nurl = \""
      << setup.control_plane_url << "\"\napi_key_file = \"" << setup.dir
      << "/api-key\"\nca_file = \"" << setup.ca_file
      << "\"\n[[database]]\nname = \"shop\"\ndsn = \"" << setup.dsn
      << "\"\napply = " << (setup.apply ? "true" : "false") << "\n";
  const AgentRun agent = RunAgent("", "--config " + setup.dir + "/agent.toml check --format json");
  CheckRun run;
  run.status = agent.status;
  run.items = nlohmann::json::parse(agent.out, nullptr, /*allow_exceptions=*/false);
  return run;
}

nlohmann::json CheckItem(const CheckRun& run, const std::string& check) {
  if (!run.items.is_array()) return nlohmann::json();
  for (const nlohmann::json& item : run.items) {
    if (item["check"] == check) return item;
  }
  return nlohmann::json();
}

std::string CheckStatuses(const CheckRun& run) {
  if (!run.items.is_array()) return "(no items)\n";
  std::string out;
  for (const nlohmann::json& item : run.items) {
    out += item.value("status", "?") + " " + item.value("subject", "?") + ": " +
           item.value("message", "?") + "\n";
  }
  return out;
}

}  // namespace optischema::testing
