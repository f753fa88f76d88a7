#pragma once

// The real optischema-controlplane binary, run for a test.
//
// The constructor creates a private directory with mkdtemp ("$TMPDIR/optischema-cp-XXXXXX",
// /tmp when TMPDIR is unset) holding the certificates of test_certificates.h (by default for
// "localhost" and IP 127.0.0.1), the data directory `data/` and the server's log `server.log`
// (stdout and stderr of every `serve` run, appended). Nothing runs until Start().
//
// Start() runs `serve` on 127.0.0.1: the first time on a port the system picks (read back from
// the "listening on" line), later on that same port with the same data, so a test can stop the
// server for an outage and bring it back where agents expect it. Start() returns once the server
// completes TLS handshakes, checking with a deadline and without trusting the certificate, so a
// server with an expired or wrong-host certificate starts too. The destructor stops the server
// (SIGTERM, then SIGKILL after a deadline) and removes the directory.
//
// Failures throw std::runtime_error with what went wrong and the server's log. Not thread-safe:
// one test thread drives the fixture.

#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/test_certificates.h"

namespace optischema::testing {

class ControlPlaneProcess {
 public:
  struct Options {
    // The server certificate: e.g. expired = true, or dns_names = {"elsewhere.example"} with
    // loopback_ip = false, for tests that expect the agent to refuse the server.
    TestCertificateOptions certificate;
    // Appended to `serve`, e.g. {"--max-body-bytes", "4096"}.
    std::vector<std::string> serve_args;
  };

  // Output of a command run to completion.
  struct CommandResult {
    int exit_code = -1;  // the exit status, or 128 + the signal that ended the process
    std::string out;
    std::string err;
  };

  ControlPlaneProcess() : ControlPlaneProcess(Options{}) {}
  explicit ControlPlaneProcess(Options options);
  ~ControlPlaneProcess();
  ControlPlaneProcess(const ControlPlaneProcess&) = delete;
  ControlPlaneProcess& operator=(const ControlPlaneProcess&) = delete;

  // Starts `serve` and waits until it accepts TLS connections. Throws if it is running already,
  // exits, or is not ready within the deadline.
  void Start();
  // SIGTERM, waits for the exit (SIGKILL after `deadline`), returns the exit code as in
  // CommandResult. Throws if it is not running.
  int Stop(std::chrono::milliseconds deadline = std::chrono::seconds(15));
  bool running() const { return pid_ > 0; }
  // The pid of the running `serve` (e.g. to read /proc/<pid>/status); -1 when not running.
  pid_t pid() const { return pid_; }

  int port() const { return port_; }  // 0 before the first Start()
  std::string base_url() const;       // "https://127.0.0.1:<port>"
  const std::string& ca_file() const { return certificates_.ca_file; }
  const std::string& cert_file() const { return certificates_.cert_file; }
  const std::string& wrong_ca_file() const { return certificates_.wrong_ca_file; }
  const std::string& data_dir() const { return data_dir_; }

  // Runs the binary with `args` (not `serve`) to completion.
  CommandResult Run(const std::vector<std::string>& args) const;
  // `api-keys create`; returns the key (the last line of stdout).
  std::string CreateApiKey(const std::string& name = "test") const;
  // `snapshots list --json` with `filters` (e.g. {"--agent", id}) and `agents list --json`.
  nlohmann::json ListSnapshots(const std::vector<std::string>& filters = {}) const;
  nlohmann::json ListAgents() const;
  // `keys init`; returns the public key (the last line of stdout).
  std::string InitKeys() const;
  // `recommend` with a file holding `file_text`, run to completion whatever its outcome.
  CommandResult RunRecommend(const std::string& file_text) const;
  // `recommend` with `proposal`; returns the id (the last line of stdout).
  std::string Recommend(const nlohmann::json& proposal) const;
  // `approve` (as `approve --by tester`); throws when it fails.
  void Approve(const std::string& id) const;
  // Stores a recommendation of `kind` with `spec` for database `database` of `agent_id` (guard:
  // 60 s window, 10 % regression, no automatic rollback) and approves it, so that it is signed and
  // served to the agent. Returns its id.
  std::string RecommendApproved(
      const std::string& agent_id, const std::string& database, const std::string& kind,
      const nlohmann::json& spec,
      const nlohmann::json& affected_queryids = nlohmann::json::array()) const;
  // The listed recommendation `id` (`recommendations list --json`), null when there is none.
  nlohmann::json FindRecommendation(const std::string& id) const;
  // The detail of the last event of recommendation `id`, "" when it has none.
  std::string LastEventDetail(const std::string& id) const;
  // `recommendations list --json` and `audit list --json` with `filters` (e.g. {"--agent", id}).
  nlohmann::json ListRecommendations(const std::vector<std::string>& filters = {}) const;
  nlohmann::json ListAudit(const std::vector<std::string>& filters = {}) const;
  // Everything `serve` wrote so far, over all runs.
  std::string ServerLog() const;

 private:
  [[noreturn]] void Fail(const std::string& what) const;
  // The last line of stdout of `args`, run to completion; throws when it fails or prints none.
  std::string LastLineOf(const std::vector<std::string>& args) const;
  // Runs `args` with stdout and stderr appended to `out_path` and `err_path`; returns the pid.
  pid_t Spawn(const std::vector<std::string>& args, const std::string& out_path,
              const std::string& err_path) const;
  // The port of the "listening on" line `serve` printed after `log_offset`, or 0 if none yet.
  int ListeningPort(std::size_t log_offset) const;
  // Whether a TLS handshake with 127.0.0.1:port_ and an HTTP exchange succeed.
  bool AcceptsTls() const;
  nlohmann::json RunJson(const std::vector<std::string>& args) const;

  std::string dir_;
  std::string data_dir_;
  std::string log_file_;
  TestCertificateFiles certificates_;
  std::vector<std::string> serve_args_;
  pid_t pid_ = -1;
  int port_ = 0;
  mutable int commands_run_ = 0;  // names each command's output and input files
};

}  // namespace optischema::testing
