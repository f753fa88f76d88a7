#include "tests/support/agent_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace optischema::testing {
namespace {

bool Dropped(std::string_view entry) {
  return entry.starts_with("OPTISCHEMA_") || entry.starts_with("NOTIFY_SOCKET=") ||
         entry.starts_with("WATCHDOG_");
}

}  // namespace

std::unique_ptr<AgentProcess> AgentProcess::Start(const std::string& dir, const Options& options) {
  const std::string config_path = dir + "/agent.toml";
  {
    std::ofstream config(config_path, std::ios::trunc);
    config << options.config_toml;
    if (!config) throw std::runtime_error("cannot write " + config_path);
  }
  const std::string log_path = dir + "/agent.log";
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!Dropped(*entry)) env_strings.emplace_back(*entry);
  }
  for (const auto& [name, value] : options.env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::string binary = OPTISCHEMA_AGENT_BINARY;
  std::string config_flag = "--config";
  std::string run = "run";
  std::vector<char*> argv = {binary.data(), config_flag.data(),
                             const_cast<char*>(config_path.c_str()), run.data(), nullptr};
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path + ": " + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    // The agent starts with SIGPIPE as a service manager gives it, whatever the test process
    // ignores.
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  return std::unique_ptr<AgentProcess>(new AgentProcess(pid, log_path));
}

AgentProcess::~AgentProcess() {
  if (exit_status_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

void AgentProcess::Signal(int signal_number) const {
  if (!exit_status_) ::kill(pid_, signal_number);
}

std::optional<int> AgentProcess::WaitExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_status_) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling waitpid
  }
  return exit_status_;
}

long AgentProcess::RssKiB() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

std::string AgentProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::vector<nlohmann::json> AgentProcess::JsonLog() const {
  std::vector<nlohmann::json> lines;
  std::istringstream in(Log());
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) lines.push_back(std::move(parsed));
  }
  return lines;
}

}  // namespace optischema::testing
