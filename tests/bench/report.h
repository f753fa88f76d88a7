#pragma once

// Presentation of the benchmark's results: the tables, the target checks and the Markdown document.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/bench/idle.h"
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
  FloorResult floor;       // kFloorSql: no texts
  FloorResult floor_text;  // kFloorTextSql: with every entry's text
  AgentResult agent;
};

struct Results {
  std::vector<SizeResult> sizes;
  bool exporter_run = false;
  std::optional<IdleResult> idle;  // nullopt: not run
};

// Per size and scenario: CPU, wall, database time and bytes of the floor, the agent and the
// exporter, as Markdown with columns padded for reading in a terminal.
std::string ResultsTable(const Results& results);

// Per size: memory, first cycle, workload and text figures.
std::string DetailsTable(const Results& results);

// The idle daemon's figures, one line.
std::string IdleLine(const IdleResult& idle);

// One line per size at which a text read failed, with the collector's error message.
std::vector<std::string> FailureNotes(const Results& results);

// One line per target, starting with PASS, MISS or SKIP (what it needs was not run), with the
// numbers it was decided on.
std::vector<std::string> TargetLines(const Results& results);

// Where and how the results were obtained.
struct RunContext {
  std::string command;           // command line that reproduces the run
  std::string date;              // RFC 3339 UTC
  std::string machine;           // CPUs, model, memory
  std::string load;              // /proc/loadavg at the end of the run
  std::string server_version;    // PostgreSQL's server_version
  std::string exporter_version;  // first line of the exporter's --version, "" when not run
};

// The generated part of docs/BENCHMARKS.md: method, context, tables and the target lines.
std::string BenchmarkDocument(const RunContext& context, const Results& results);

// Marks the end of the generated part of docs/BENCHMARKS.md; what follows it in an existing file
// is written by hand and kept when the file is regenerated.
inline constexpr char kHandWrittenMarker[] =
    "<!-- Everything below this line is written by hand and kept by --write-doc. -->";

}  // namespace optischema::bench
