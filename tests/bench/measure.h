#pragma once

// The measurements of one workload size, each in its own forked process: the floor (a plain
// fetch of pg_stat_statements) and the agent's collector, whose process also scrapes the exporter
// after each of the agent's cycles. The agent's and the floor's times are client-side: CPU is the
// measuring process's CPU time (CLOCK_PROCESS_CPUTIME_ID), wall is steady_clock; medians are over
// the repeated runs. RSS figures are ru_maxrss of the measuring process, which starts as a copy
// of the benchmark process (start_rss_mib). The exporter's figures come from /proc (exporter.h).

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/bench/exporter.h"

namespace optischema::bench {

struct CycleTimes {
  double cpu_ms = 0;
  double wall_ms = 0;
};

// Database time of one role's statements, from pg_stat_statements itself: the growth of
// sum(total_exec_time + total_plan_time) and sum(calls) over that role's entries, per cycle.
struct DbTime {
  double ms = 0;
  double calls = 0;
};

struct FloorResult {
  CycleTimes read;  // median PQexec of kFloorSql, whole result materialised
  DbTime db;        // per read
  int64_t rows = 0;
  double start_rss_mib = 0;
  double peak_rss_mib = 0;
};

// One scenario's cycles: medians of the agent's cycle and of the exporter's scrape that followed
// the same workload pass, with both sides' database time per cycle.
struct ScenarioResult {
  CycleTimes agent;
  double agent_collect_cpu_ms = 0;  // of agent.cpu_ms: Collect() alone
  double agent_json_cpu_ms = 0;     // of agent.cpu_ms: SnapshotToJson and gzip
  DbTime agent_db;
  // Of the last cycle: entries changed in the window, statements sent, new texts analyzed,
  // payload sizes.
  int64_t changed_statements = 0;
  int64_t sent_statements = 0;
  int64_t texts_sent = 0;
  uint64_t texts_analyzed = 0;  // over all of the scenario's cycles
  uint64_t text_reads = 0;      // over all of the scenario's cycles
  int64_t json_bytes = 0;
  int64_t gzip_bytes = 0;  // gzip of the JSON, as the agent spools and sends it
  // The exporter (all zero when it was not run).
  ScrapeTimes exporter;
  DbTime exporter_db;
};

// One measured agent cycle is Collector::Collect(), serialising the snapshot to the protocol JSON
// text (protocol::SnapshotToJson) and compressing it with gzip, as the agent does before sending.
struct AgentResult {
  CycleTimes baseline;  // first Collect(): connect, checks, first reading (no snapshot)
  // First cycle after the workload ran: reads and anonymizes the texts of every changed entry.
  CycleTimes first;
  uint64_t first_texts_analyzed = 0;
  // Steady state: every cycle follows a pass of the same N statements (every entry changed, none
  // new).
  ScenarioResult steady;
  // Churn: cycle k follows a pass of statements [k*N/10, N + k*N/10): N statements of which N/10
  // were never run before.
  ScenarioResult churn;
  // Idle: cycles with nothing run in between.
  CycleTimes idle;
  uint64_t idle_text_reads = 0;
  double workload_pass_s = 0;  // median wall time of one steady workload pass (not measured work)
  int64_t exporter_samples = 0;  // pg_stat_statements_calls samples in one exporter scrape
  double exporter_peak_rss_mib = 0;
  // Text reads that failed over the whole run (the collector carries on without those texts), and
  // the last one's message, truncated, "" when none failed.
  uint64_t text_read_failures = 0;
  char last_text_read_error[256] = {};
  double start_rss_mib = 0;
  // Peak RSS so far at the end of each phase: baseline, first cycle, steady cycles, and the run.
  double baseline_rss_mib = 0;
  double first_rss_mib = 0;
  double steady_rss_mib = 0;
  double peak_rss_mib = 0;
};

// The floor's statement: a plain fetch of every pg_stat_statements entry without its text.
inline constexpr char kFloorSql[] = "SELECT * FROM pg_stat_statements(false)";
// The second floor's statement: the same with every entry's text, as a reader of texts would
// fetch them.
inline constexpr char kFloorTextSql[] = "SELECT * FROM pg_stat_statements(true)";

// Reads pg_stat_statements `repeat` times the way the plainest exporter would: a libpq PQexec of
// `sql` (kFloorSql or kFloorTextSql) on a connection of its own as `dsn`'s role, materialising the
// whole result and iterating nothing. `admin_dsn` (a superuser) reads the database time of that
// role's statements. Throws std::runtime_error on failure.
FloorResult MeasureFloor(const std::string& dsn, const std::string& admin_dsn, int repeat,
                         const char* sql = kFloorSql);

// Where the agent and its peer connect, each as a role of its own whose entries in
// pg_stat_statements give its database time; `admin` runs the workload and reads those entries.
struct Endpoints {
  std::string agent_dsn;
  std::string admin_dsn;
  std::string agent_role;
  std::string exporter_role;
  std::string exporter_url;  // empty: no exporter
  pid_t exporter_pid = -1;
  int exporter_scrapes = 0;  // scraped after the last this many cycles of each scenario
};

// Runs a Collector with default options, except that texts are read at every cycle that needs one
// (text_refresh_interval 0), against the agent's endpoint (database "postgres"): a baseline, one
// pass of workload statements 0..n-1 and the first cycle; `repeat` steady cycles, `repeat` idle
// cycles and `repeat` churn cycles, the last exporter_scrapes of each scenario's cycles followed
// by a scrape of the exporter. The
// workload runs on a connection of its own, outside the measured sections.
// Throws std::runtime_error on failure.
AgentResult MeasureAgent(const Endpoints& endpoints, std::size_t n, int repeat);

}  // namespace optischema::bench
