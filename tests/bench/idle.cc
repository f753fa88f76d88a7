#include "tests/bench/idle.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/bench/child_process.h"
#include "tests/bench/exporter.h"
#include "tests/support/agent_process.h"
#include "tests/support/controlplane_process.h"

namespace optischema::bench {
namespace {

namespace fs = std::filesystem;
using optischema::testing::AgentProcess;
using optischema::testing::ControlPlaneProcess;

// `value` as a TOML basic string.
std::string TomlString(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::size_t StoredSnapshots(const ControlPlaneProcess& control_plane) {
  return control_plane.ListSnapshots().size();
}

}  // namespace

IdleResult MeasureIdleDaemon(const std::string& agent_dsn, std::size_t statements,
                             std::chrono::seconds interval, std::chrono::seconds duration) {
  IdleResult out;
  out.statements = statements;
  out.interval_s = static_cast<double>(interval.count());
  const TempDir dir("optischema-idle");
  ControlPlaneProcess control_plane;
  control_plane.Start();
  const std::string key_file = dir.path() + "/api-key";
  {
    std::ofstream key(key_file, std::ios::trunc);
    key << control_plane.CreateApiKey("bench") << "\n";
    if (!key) throw std::runtime_error("cannot write " + key_file);
  }
  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
  const std::string config =
      "[agent]\nstate_dir = " + TomlString(dir.path() + "/state") + "\ninterval = \"" +
      std::to_string(interval.count()) + "s\"\n\n[control_plane]\nurl = " +
      TomlString(control_plane.base_url()) + "\napi_key_file = " + TomlString(key_file) +
      "\nca_file = " + TomlString(control_plane.ca_file()) + "\n\n[[database]]\nname = \"bench\"\n" +
      "dsn = " + TomlString(agent_dsn) + "\n";

  const auto start = std::chrono::steady_clock::now();
  AgentProcess::Options agent_options;
  agent_options.config_toml = config;
  const auto agent = AgentProcess::Start(dir.path(), agent_options);
  const auto warmup_deadline = start + 4 * interval + std::chrono::minutes(2);
  while (StoredSnapshots(control_plane) < 2) {
    if (agent->WaitExit(std::chrono::milliseconds(0))) {
      throw std::runtime_error("the agent exited; its log:\n" + agent->Log());
    }
    if (std::chrono::steady_clock::now() > warmup_deadline) {
      throw std::runtime_error("the agent delivered fewer than two snapshots; its log:\n" +
                               agent->Log());
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  const std::size_t stored_before = StoredSnapshots(control_plane);
  const auto measure_start = std::chrono::steady_clock::now();
  out.warmup_s = std::chrono::duration<double>(measure_start - start).count();
  const double cpu_before = ProcessCpuMs(agent->pid());
  std::this_thread::sleep_for(duration);
  const double cpu_after = ProcessCpuMs(agent->pid());
  out.measured_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - measure_start).count();
  out.cpu_ms = cpu_after - cpu_before;
  out.peak_rss_mib = PeakRssMibOf(agent->pid());
  out.snapshots_delivered =
      static_cast<int64_t>(StoredSnapshots(control_plane)) - static_cast<int64_t>(stored_before);
  agent->Signal(SIGTERM);
  agent->WaitExit(std::chrono::seconds(15));
  return out;
}

}  // namespace optischema::bench
