#pragma once

// The optischema-agent executable running as a daemon, for end-to-end tests.
//
// Start() writes the given configuration to "<dir>/agent.toml" and runs
// `optischema-agent --config <dir>/agent.toml run` with stdout and stderr appended to
// "<dir>/agent.log". The child's environment is the test's, without any OPTISCHEMA_*,
// NOTIFY_SOCKET or WATCHDOG_* variable, plus Options::env. The destructor kills a child that is
// still running (SIGKILL) and reaps it. One object per child; not thread-safe.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace optischema::testing {

class AgentProcess {
 public:
  struct Options {
    std::string config_toml;
    std::vector<std::pair<std::string, std::string>> env;
  };

  // Throws std::runtime_error when the configuration cannot be written or fork fails.
  static std::unique_ptr<AgentProcess> Start(const std::string& dir, const Options& options);
  ~AgentProcess();

  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  void Signal(int signal_number) const;
  // The exit status once the child ended within `timeout`: its exit code, or 128 + the signal
  // that killed it. nullopt while it still runs.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  // Resident set size of the running child, from /proc/<pid>/status (VmRSS), in KiB.
  long RssKiB() const;

  std::string Log() const;
  // The log lines that parse as JSON objects (log_format = "json"), oldest first.
  std::vector<nlohmann::json> JsonLog() const;
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }

 private:
  AgentProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_;
  std::string log_path_;
  std::optional<int> exit_status_;
};

}  // namespace optischema::testing
