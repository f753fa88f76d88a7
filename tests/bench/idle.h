#pragma once

// The agent daemon at rest: the real `optischema-agent run` delivering to the reference control
// plane over HTTPS, with a fixed set of statements in pg_stat_statements and nothing running.

#include <chrono>
#include <cstdint>
#include <string>

namespace optischema::bench {

struct IdleResult {
  std::size_t statements = 0;
  double interval_s = 0;
  double warmup_s = 0;    // from start until the measurement began
  double measured_s = 0;  // wall time of the measurement
  double cpu_ms = 0;      // utime + stime of the daemon over the measurement
  int64_t snapshots_delivered = 0;  // stored by the control plane during the measurement
  double peak_rss_mib = 0;          // VmHWM of the daemon at the end
  // cpu_ms as a share of one core over measured_s, in percent.
  double CorePercent() const { return measured_s > 0 ? cpu_ms / (measured_s * 10.0) : 0; }
};

// Starts the reference control plane (certificates from a throwaway CA) and the agent daemon with
// default settings but `interval`, connecting with `agent_dsn`; waits until the control plane
// holds two snapshots from it (the first carries the statements' texts), then reads the daemon's
// CPU time from /proc over `duration`. Temporary files live in a directory under TMPDIR, removed
// at the end. Throws std::runtime_error on failure.
IdleResult MeasureIdleDaemon(const std::string& agent_dsn, std::size_t statements,
                             std::chrono::seconds interval, std::chrono::seconds duration);

}  // namespace optischema::bench
