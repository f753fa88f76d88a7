#pragma once

// The two measurements of one workload size, each in its own forked process: the floor (a naive
// exporter's reading of pg_stat_statements) and the agent's collector. Times are client-side: CPU
// is the measuring process's CPU time (CLOCK_PROCESS_CPUTIME_ID), wall is steady_clock; medians
// are over the repeated runs. RSS figures are ru_maxrss of the measuring process, which starts as
// a copy of the benchmark process (start_rss_mib).

#include <cstddef>
#include <cstdint>
#include <string>

namespace optischema::bench {

struct CycleTimes {
  double cpu_ms = 0;
  double wall_ms = 0;
};

struct FloorResult {
  CycleTimes read;  // median PQexec of StatReader::StatsSql(), whole result materialised
  int64_t rows = 0;
  double start_rss_mib = 0;
  double peak_rss_mib = 0;
};

// One measured agent cycle is Collector::Collect() followed by serialising the snapshot to the
// protocol JSON text (protocol::SnapshotToJson), as the agent does before sending.
struct AgentResult {
  CycleTimes baseline;  // first Collect(): connect, checks, first reading (no snapshot)
  // First cycle after the workload ran: reads and anonymizes the texts of every changed entry.
  CycleTimes first;
  uint64_t first_texts_analyzed = 0;
  // Medians over the cycles that follow a pass of the whole workload (every entry changed).
  CycleTimes changed;
  double changed_collect_cpu_ms = 0;  // of changed.cpu_ms: Collect() alone
  double changed_json_cpu_ms = 0;     // of changed.cpu_ms: SnapshotToJson
  // Of the last changed cycle: entries changed in the window, statements sent, payload sizes.
  int64_t changed_statements = 0;
  int64_t sent_statements = 0;
  int64_t json_bytes = 0;
  int64_t gzip_bytes = 0;           // gzip (deflate level 6) of the JSON
  uint64_t changed_text_reads = 0;  // text reads during the changed cycles
  // Medians over cycles with no workload in between.
  CycleTimes steady;
  uint64_t steady_text_reads = 0;  // text reads during the steady cycles
  double workload_pass_s = 0;      // median wall time of one workload pass (not measured work)
  // Text reads that failed over the whole run (the collector carries on without those texts), and
  // the last one's message, truncated, "" when none failed.
  uint64_t text_read_failures = 0;
  char last_text_read_error[256] = {};
  double start_rss_mib = 0;
  // Peak RSS so far at the end of each phase: baseline, first cycle, changed cycles, and the run.
  double baseline_rss_mib = 0;
  double first_rss_mib = 0;
  double changed_rss_mib = 0;
  double peak_rss_mib = 0;
};

// Reads pg_stat_statements `repeat` times the way a naive exporter would: a plain libpq PQexec of
// the collector's own stats SELECT on a connection of its own, materialising the whole result and
// iterating nothing. Throws std::runtime_error on failure.
FloorResult MeasureFloor(const std::string& dsn, int repeat);

// Runs a Collector with default options against `dsn` (database "postgres"): a baseline, one pass
// of workload statements 0..n-1 and the first cycle; then `repeat` times a workload pass and a
// changed cycle; then `repeat` steady cycles. The workload runs on a connection of its own, outside
// the measured sections. Throws std::runtime_error on failure.
AgentResult MeasureAgent(const std::string& dsn, std::size_t n, int repeat);

}  // namespace optischema::bench
