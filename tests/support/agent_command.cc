#include "tests/support/agent_command.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace optischema::testing {

AgentRun RunAgent(const std::string& env, const std::string& args) {
  std::string err_path = (std::filesystem::temp_directory_path() / "agent-stderr-XXXXXX").string();
  const int fd = mkstemp(err_path.data());
  if (fd >= 0) close(fd);
  const std::string command = "env -u OPTISCHEMA_CONFIG -u OPTISCHEMA_DATABASE_URL " + env + " " +
                              OPTISCHEMA_AGENT_BINARY + " " + args + " 2>" + err_path;
  AgentRun run;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    std::size_t n = 0;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, n);
    const int raw = pclose(pipe);
    run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  }
  std::ifstream err(err_path);
  std::stringstream text;
  text << err.rdbuf();
  run.err = text.str();
  std::filesystem::remove(err_path);
  return run;
}

}  // namespace optischema::testing
