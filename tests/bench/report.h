#pragma once

// Presentation of the benchmark's results: the tables, the target checks and the Markdown document.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/bench/measure.h"

namespace optischema::bench {

// The workload of one size as pg_stat_statements recorded it after its first pass.
struct WorkloadInfo {
  std::size_t statements = 0;  // N
  int repeat = 0;
  int64_t entries = 0;  // entries whose text matches the workload's statements (>= N)
  int64_t text_min_bytes = 0;
  int64_t text_avg_bytes = 0;
  int64_t text_max_bytes = 0;
};

struct SizeResult {
  WorkloadInfo workload;
  FloorResult floor;
  AgentResult agent;
};

// Main table, one row per size, as Markdown with columns padded for reading in a terminal.
std::string ResultsTable(const std::vector<SizeResult>& results);

// Secondary figures (baseline, first-cycle wall, text lengths, ...), in the same form.
std::string DetailsTable(const std::vector<SizeResult>& results);

// One line per size at which a text read failed, with the collector's error message.
std::vector<std::string> FailureNotes(const std::vector<SizeResult>& results);

// One line per target, starting with PASS, MISS or SKIP (the size it needs was not run), with the
// numbers it was decided on.
std::vector<std::string> TargetLines(const std::vector<SizeResult>& results);

// Where and how the results were obtained.
struct RunContext {
  std::string command;         // command line that reproduces the run
  std::string date;            // RFC 3339 UTC
  std::string machine;         // CPUs, model, memory
  std::string server_version;  // PostgreSQL's server_version
};

// The whole of docs/BENCHMARKS.md: method, context, both tables and the target lines.
std::string BenchmarkDocument(const RunContext& context, const std::vector<SizeResult>& results);

}  // namespace optischema::bench
