// activity_bench: what the activity sampler costs, on a throwaway PostgreSQL 15 with 200 client
// connections (--active running a pgbench TPC-B-like load, --idle connected and idle). For
// --samples samples at --pace it measures the agent's CPU per sample (the sampling thread's CPU
// clock around Collector::SampleActivity: reading, parsing and folding one sample) and the
// server's time per sample (mean_exec_time of the sampler's own statement in pg_stat_statements,
// which snapshots filter out), against a floor measured in the same run on the same sessions: a
// bare read of pg_stat_activity (pid and state of every backend). The targets are per the default
// interval of 1 s: agent CPU <= 0.2 % of a core (2 ms per sample) and server time <= 1 ms per
// sample. Prints one table and PASS or MISS per target.
// Exits 0 when everything was measured, whatever the verdict; 1 on failure; 2 on a bad command
// line.

#include <time.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "collector/collector.h"
#include "core/clock.h"
#include "pg/agent_marker.h"
#include "tests/bench/machine.h"
#include "tests/support/collector_readings.h"
#include "tests/support/pg_client.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::bench {
namespace {

using namespace std::chrono_literals;
using testing::PgClient;
using testing::PgCluster;

struct Options {
  int active = 100;
  int idle = 100;
  int samples = 60;
  int pace_ms = 500;
};

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// The mean server time of the statements pg_stat_statements keeps whose text matches `like`.
double ServerMs(PgCluster& cluster, const std::string& like) {
  return std::stod(
      cluster.QueryValue("SELECT coalesce(sum(total_exec_time) / nullif(sum(calls), 0), 0) FROM "
                         "pg_stat_statements WHERE query LIKE '" +
                         like + "'"));
}

struct Figures {
  double cpu_ms = 0;   // agent CPU per sample
  double wall_ms = 0;  // per sample, round trip included
  double server_ms = 0;
};

int Run(const Options& o) {
  std::cout << "activity_bench on " << DescribeMachine() << "; load " << LoadAverage() << "\n";
  PgCluster::Options cluster_options;
  cluster_options.settings = {{"max_connections", std::to_string(o.active + o.idle + 20)}};
  auto cluster = PgCluster::Start(cluster_options);
  cluster->Exec("CREATE EXTENSION pg_stat_statements");
  cluster->Pgbench({"-i", "-s", "10", "-q"});

  std::vector<std::unique_ptr<PgClient>> idle;
  for (int i = 0; i < o.idle; ++i) {
    idle.push_back(std::make_unique<PgClient>(cluster->ConnectionString()));
  }
  const int run_s = o.samples * o.pace_ms / 1000 + 30;
  std::atomic<bool> load_done{false};
  std::string load_output;
  std::thread load([&] {
    try {
      load_output = cluster->Pgbench(
          {"-n", "-c", std::to_string(o.active), "-j", "4", "-T", std::to_string(run_s)});
    } catch (const std::exception& e) {
      load_output = e.what();
    }
    load_done = true;
  });
  // Measure once the load's clients are all connected.
  const bool started = testing::WaitFor(
      [&] {
        return std::stoi(cluster->QueryValue(
                   "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client "
                   "backend'")) >= o.active + o.idle;
      },
      60s);

  collector::CollectorOptions options;
  options.database_name = "bench";
  options.activity_sample_interval = std::chrono::milliseconds(o.pace_ms);
  SystemClock clock;
  collector::Collector collector(options, testing::SessionFactoryFor(cluster->ConnectionString()),
                                 clock);
  auto floor_session = testing::SessionFactoryFor(cluster->ConnectionString())();
  if (!started || !collector.Collect().ok() || !floor_session.ok()) {
    load.join();
    std::cerr << "set-up failed: " << load_output << "\n";
    return 1;
  }
  const std::string floor_sql = "SELECT pid, state FROM pg_catalog.pg_stat_activity";
  Figures sampler;
  Figures floor;
  int64_t active_seen = 0;
  int64_t sessions_seen = 0;
  for (int i = 0; i < o.samples && !load_done; ++i) {
    const auto wall0 = std::chrono::steady_clock::now();
    const double cpu0 = ThreadCpuMs();
    if (Status st = collector.SampleActivity(); !st.ok()) {
      std::cerr << "sample failed: " << st.error().ToString() << "\n";
      load.join();
      return 1;
    }
    const double cpu1 = ThreadCpuMs();
    const auto wall1 = std::chrono::steady_clock::now();
    auto rows = (*floor_session)->Query(floor_sql);
    const double cpu2 = ThreadCpuMs();
    const auto wall2 = std::chrono::steady_clock::now();
    if (!rows.ok()) {
      load.join();
      return 1;
    }
    sessions_seen += static_cast<int64_t>(rows->rows.size());
    sampler.cpu_ms += cpu1 - cpu0;
    floor.cpu_ms += cpu2 - cpu1;
    sampler.wall_ms += std::chrono::duration<double, std::milli>(wall1 - wall0).count();
    floor.wall_ms += std::chrono::duration<double, std::milli>(wall2 - wall1).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(o.pace_ms));
  }
  auto snapshot = collector.Collect();
  if (snapshot.ok() && snapshot->has_value() && (*snapshot)->activity) {
    active_seen = (*snapshot)->activity->max_active;
  }
  const auto taken = static_cast<double>(collector.counters().activity_samples);
  load.join();
  if (taken == 0) return 1;
  sampler.cpu_ms /= taken;
  floor.cpu_ms /= taken;
  sampler.wall_ms /= taken;
  floor.wall_ms /= taken;
  sampler.server_ms = ServerMs(*cluster, "%pg_blocking_pids%");
  floor.server_ms = ServerMs(*cluster, "%pid, state FROM pg_catalog.pg_stat_activity");

  std::printf(
      "\n%d active (pgbench) + %d idle connections; %.0f samples, %.0f sessions per "
      "sample, at most %lld active\n\n",
      o.active, o.idle, taken, static_cast<double>(sessions_seen) / taken,
      static_cast<long long>(active_seen));
  std::printf("| Per sample | Sampler | Floor (bare pg_stat_activity read) | Ratio |\n");
  std::printf("|---|---|---|---|\n");
  std::printf("| Agent CPU | %.3f ms | %.3f ms | %.2fx |\n", sampler.cpu_ms, floor.cpu_ms,
              floor.cpu_ms > 0 ? sampler.cpu_ms / floor.cpu_ms : 0);
  std::printf("| Server time (pg_stat_statements mean) | %.3f ms | %.3f ms | %.2fx |\n",
              sampler.server_ms, floor.server_ms,
              floor.server_ms > 0 ? sampler.server_ms / floor.server_ms : 0);
  std::printf("| Wall, round trip included | %.3f ms | %.3f ms | %.2fx |\n\n", sampler.wall_ms,
              floor.wall_ms, floor.wall_ms > 0 ? sampler.wall_ms / floor.wall_ms : 0);
  const double core_pct = sampler.cpu_ms / 1000 * 100;  // at one sample per second
  std::printf("Agent CPU at 1 sample/s: %.3f %% of a core (target <= 0.2 %%): %s\n", core_pct,
              core_pct <= 0.2 ? "PASS" : "MISS");
  std::printf("Server time per sample: %.3f ms (target <= 1 ms): %s\n", sampler.server_ms,
              sampler.server_ms <= 1.0 ? "PASS" : "MISS");
  return 0;
}

}  // namespace
}  // namespace optischema::bench

int main(int argc, char** argv) {
  optischema::bench::Options o;
  CLI::App app{"activity_bench: the activity sampler's cost against a bare pg_stat_activity read"};
  app.add_option("--active", o.active, "connections running pgbench")->check(CLI::Range(1, 500));
  app.add_option("--idle", o.idle, "idle connections")->check(CLI::Range(0, 500));
  app.add_option("--samples", o.samples, "samples measured")->check(CLI::Range(5, 10000));
  app.add_option("--pace-ms", o.pace_ms, "pause between samples")->check(CLI::Range(10, 10000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return optischema::bench::Run(o);
  } catch (const std::exception& e) {
    std::cerr << "activity_bench: " << e.what() << "\n";
    return 1;
  }
}
