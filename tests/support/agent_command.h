#pragma once

// The optischema-agent executable run to completion, as a user runs a command of it.

#include <string>

namespace optischema::testing {

struct AgentRun {
  int status = -1;  // exit status, or -1 when it did not exit normally
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `optischema-agent ARGS` through the shell with the `env` assignments ("NAME='value' ...")
// in front, OPTISCHEMA_CONFIG and OPTISCHEMA_DATABASE_URL removed from the inherited environment,
// and waits for it. Safe to call from tests running in parallel processes.
AgentRun RunAgent(const std::string& env, const std::string& args);

}  // namespace optischema::testing
