#include "tests/support/controlplane_process.h"

// The build defines CPPHTTPLIB_OPENSSL_SUPPORT to match the compiled libcpp-httplib.
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace optischema::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kBinary[] = OPTISCHEMA_CONTROLPLANE_BINARY;
constexpr char kDirPrefix[] = "optischema-cp-";
constexpr char kLoopback[] = "127.0.0.1";
constexpr auto kStartDeadline = std::chrono::seconds(20);
constexpr auto kCommandDeadline = std::chrono::seconds(30);
constexpr auto kKillDeadline = std::chrono::seconds(10);
constexpr auto kPollInterval = std::chrono::milliseconds(10);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// The exit code of `pid` once it has ended, or nullopt if it is still running at `deadline`.
std::optional<int> WaitUntil(pid_t pid, Clock::time_point deadline) {
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return ExitCode(status);
    if (done < 0 && errno != EINTR) {
      throw std::runtime_error("waitpid: " +
                               std::error_code(errno, std::generic_category()).message());
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::string LastLine(const std::string& text) {
  std::string last;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last = line;
  }
  return last;
}

}  // namespace

ControlPlaneProcess::ControlPlaneProcess(Options options)
    : serve_args_(std::move(options.serve_args)) {
  std::string dir = (fs::temp_directory_path() / (std::string(kDirPrefix) + "XXXXXX")).string();
  if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp " + dir + " failed");
  dir_ = dir;
  data_dir_ = dir_ + "/data";
  log_file_ = dir_ + "/server.log";
  try {
    certificates_ = WriteTestCertificates(dir_, options.certificate);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    throw;
  }
}

ControlPlaneProcess::~ControlPlaneProcess() {
  if (running()) {
    try {
      Stop();
    } catch (const std::exception& e) {
      std::cerr << "ControlPlaneProcess: " << e.what() << "\n";
    }
  }
  std::error_code error;
  if (fs::remove_all(dir_, error) == static_cast<std::uintmax_t>(-1)) {
    std::cerr << "ControlPlaneProcess: cannot remove " << dir_ << ": " << error.message() << "\n";
  }
}

void ControlPlaneProcess::Fail(const std::string& what) const {
  throw std::runtime_error("optischema-controlplane: " + what + "\n--- server log ---\n" +
                           ServerLog());
}

pid_t ControlPlaneProcess::Spawn(const std::vector<std::string>& args, const std::string& out_path,
                                 const std::string& err_path) const {
  std::vector<std::string> argv_strings = {kBinary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t files;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&files);
  posix_spawnattr_init(&attributes);
  constexpr int kAppend = O_WRONLY | O_CREAT | O_APPEND;  // no O_CLOEXEC: these are for the child
  posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, out_path.c_str(), kAppend, 0600);
  posix_spawn_file_actions_addopen(&files, STDERR_FILENO, err_path.c_str(), kAppend, 0600);
  // The test process may block or ignore signals (cpp-httplib ignores SIGPIPE); the child starts
  // with none blocked and the stop signals at their defaults.
  sigset_t none;
  sigset_t defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (const int signal_number : {SIGTERM, SIGINT, SIGPIPE}) sigaddset(&defaults, signal_number);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  const int error = posix_spawn(&pid, kBinary, &files, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    Fail(std::string("cannot run ") + kBinary + ": " +
         std::error_code(error, std::generic_category()).message());
  }
  return pid;
}

void ControlPlaneProcess::Start() {
  if (running()) Fail("Start() while running");
  std::error_code ignored;
  const std::size_t log_offset =
      fs::exists(log_file_, ignored) ? fs::file_size(log_file_, ignored) : 0;
  std::vector<std::string> args = {"serve",
                                   "--listen",
                                   std::string(kLoopback) + ":" + std::to_string(port_),
                                   "--data",
                                   data_dir_,
                                   "--tls-cert",
                                   certificates_.cert_file,
                                   "--tls-key",
                                   certificates_.key_file};
  args.insert(args.end(), serve_args_.begin(), serve_args_.end());
  pid_ = Spawn(args, log_file_, log_file_);

  const auto deadline = Clock::now() + kStartDeadline;
  bool listening = false;
  for (;;) {
    if (const std::optional<int> code = WaitUntil(pid_, Clock::now()); code) {
      pid_ = -1;
      Fail("serve exited with status " + std::to_string(*code) + " while starting");
    }
    if (!listening) {
      const int port = ListeningPort(log_offset);
      if (port != 0 && port_ != 0 && port != port_) {
        Fail("serve listens on port " + std::to_string(port) + ", expected " +
             std::to_string(port_));
      }
      listening = port != 0;
      if (listening) port_ = port;
    }
    if (listening && AcceptsTls()) return;
    if (Clock::now() >= deadline) {
      Stop();
      Fail("serve did not accept TLS connections within the deadline");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

int ControlPlaneProcess::Stop(std::chrono::milliseconds deadline) {
  if (!running()) Fail("Stop() while not running");
  const pid_t pid = pid_;
  pid_ = -1;
  kill(pid, SIGTERM);
  if (const std::optional<int> code = WaitUntil(pid, Clock::now() + deadline); code) return *code;
  kill(pid, SIGKILL);
  if (const std::optional<int> code = WaitUntil(pid, Clock::now() + kKillDeadline); code) {
    return *code;
  }
  Fail("serve (pid " + std::to_string(pid) + ") survived SIGKILL");
}

std::string ControlPlaneProcess::base_url() const {
  return "https://" + std::string(kLoopback) + ":" + std::to_string(port_);
}

ControlPlaneProcess::CommandResult ControlPlaneProcess::Run(
    const std::vector<std::string>& args) const {
  const std::string prefix = dir_ + "/command-" + std::to_string(++commands_run_);
  const pid_t pid = Spawn(args, prefix + ".out", prefix + ".err");
  const std::optional<int> code = WaitUntil(pid, Clock::now() + kCommandDeadline);
  if (!code) {
    kill(pid, SIGKILL);
    WaitUntil(pid, Clock::now() + kKillDeadline);
    Fail("command did not finish within the deadline");
  }
  return CommandResult{*code, ReadFile(prefix + ".out"), ReadFile(prefix + ".err")};
}

std::string ControlPlaneProcess::LastLineOf(const std::vector<std::string>& args) const {
  const CommandResult result = Run(args);
  if (result.exit_code != 0) {
    Fail(args[0] + " exited with status " + std::to_string(result.exit_code) + ": " + result.err);
  }
  const std::string last = LastLine(result.out);
  if (last.empty()) Fail(args[0] + " printed nothing on stdout");
  return last;
}

std::string ControlPlaneProcess::CreateApiKey(const std::string& name) const {
  return LastLineOf({"api-keys", "create", "--data", data_dir_, "--name", name});
}

std::string ControlPlaneProcess::InitKeys() const {
  return LastLineOf({"keys", "init", "--data", data_dir_});
}

ControlPlaneProcess::CommandResult ControlPlaneProcess::RunRecommend(
    const std::string& file_text) const {
  const std::string file = dir_ + "/proposal-" + std::to_string(commands_run_ + 1) + ".json";
  std::ofstream out(file, std::ios::binary);
  out << file_text;
  out.close();
  if (!out) Fail("cannot write " + file);
  return Run({"recommend", "--data", data_dir_, "--file", file});
}

std::string ControlPlaneProcess::Recommend(const nlohmann::json& proposal) const {
  const CommandResult result = RunRecommend(proposal.dump());
  if (result.exit_code != 0) {
    Fail("recommend exited with status " + std::to_string(result.exit_code) + ": " + result.err);
  }
  const std::string id = LastLine(result.out);
  if (id.empty()) Fail("recommend printed no id");
  return id;
}

void ControlPlaneProcess::Approve(const std::string& id) const {
  const CommandResult result = Run({"approve", "--data", data_dir_, id, "--by", "tester"});
  if (result.exit_code != 0) {
    Fail("approve exited with status " + std::to_string(result.exit_code) + ": " + result.err);
  }
}

nlohmann::json ControlPlaneProcess::RunJson(const std::vector<std::string>& args) const {
  const CommandResult result = Run(args);
  if (result.exit_code != 0) {
    Fail(args[0] + " list exited with status " + std::to_string(result.exit_code) + ": " +
         result.err);
  }
  nlohmann::json json = nlohmann::json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) Fail(args[0] + " list --json printed no JSON: " + result.out);
  return json;
}

nlohmann::json ControlPlaneProcess::ListSnapshots(const std::vector<std::string>& filters) const {
  std::vector<std::string> args = {"snapshots", "list", "--data", data_dir_, "--json"};
  args.insert(args.end(), filters.begin(), filters.end());
  return RunJson(args);
}

nlohmann::json ControlPlaneProcess::ListAgents() const {
  return RunJson({"agents", "list", "--data", data_dir_, "--json"});
}

nlohmann::json ControlPlaneProcess::ListRecommendations(
    const std::vector<std::string>& filters) const {
  std::vector<std::string> args = {"recommendations", "list", "--data", data_dir_, "--json"};
  args.insert(args.end(), filters.begin(), filters.end());
  return RunJson(args);
}

std::string ControlPlaneProcess::RecommendApproved(const std::string& agent_id,
                                                   const std::string& database,
                                                   const std::string& kind,
                                                   const nlohmann::json& spec,
                                                   const nlohmann::json& affected_queryids) const {
  const nlohmann::json rec = {
      {"agent_id", agent_id},
      {"database", database},
      {"kind", kind},
      {"spec", spec},
      {"affected_queryids", affected_queryids},
      {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 10}, {"auto_rollback", false}}}};
  const std::string id = Recommend(rec);
  Approve(id);
  return id;
}

nlohmann::json ControlPlaneProcess::FindRecommendation(const std::string& id) const {
  for (const nlohmann::json& rec : ListRecommendations()) {
    if (rec.is_object() && rec.value("id", "") == id) return rec;
  }
  return nlohmann::json();
}

std::string ControlPlaneProcess::LastEventDetail(const std::string& id) const {
  const nlohmann::json rec = FindRecommendation(id);
  return rec.is_object() && rec.contains("last_event") && rec["last_event"].is_object()
             ? rec["last_event"].value("detail", "")
             : "";
}

nlohmann::json ControlPlaneProcess::ListAudit(const std::vector<std::string>& filters) const {
  std::vector<std::string> args = {"audit", "list", "--data", data_dir_, "--json"};
  args.insert(args.end(), filters.begin(), filters.end());
  return RunJson(args);
}

std::string ControlPlaneProcess::ServerLog() const { return ReadFile(log_file_); }

int ControlPlaneProcess::ListeningPort(std::size_t log_offset) const {
  const std::string log = ServerLog();
  if (log.size() <= log_offset) return 0;
  static const std::regex kListening(R"(listening on https://127\.0\.0\.1:(\d+))");
  std::smatch match;
  const std::string fresh = log.substr(log_offset);
  if (!std::regex_search(fresh, match, kListening)) return 0;
  return std::stoi(match[1].str());
}

bool ControlPlaneProcess::AcceptsTls() const {
  httplib::SSLClient client(kLoopback, port_);
  client.enable_server_certificate_verification(false);
  client.set_connection_timeout(std::chrono::seconds(1));
  client.set_read_timeout(std::chrono::seconds(2));
  return static_cast<bool>(client.Get("/"));
}

}  // namespace optischema::testing
