// collector_bench: the agent's cost against the floor (a plain fetch of pg_stat_statements) and
// against its peer, prometheus-postgres-exporter, on one throwaway PostgreSQL 15, for several
// numbers of distinct statements in a steady and a churning workload; then the agent daemon's
// CPU at rest. Prints the results and the target checks; with --write-doc, also writes them as
// Markdown, keeping the hand-written part of an existing file.
// Exits 0 when every size was measured, whatever the targets' verdicts; 1 on failure (including a
// workload that did not produce N distinct entries); 2 on a bad command line.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/time_format.h"
#include "tests/bench/child_process.h"
#include "tests/bench/exporter.h"
#include "tests/bench/idle.h"
#include "tests/bench/machine.h"
#include "tests/bench/measure.h"
#include "tests/bench/report.h"
#include "tests/bench/workload.h"
#include "tests/support/pg_cluster.h"

namespace optischema::bench {
namespace {

using optischema::testing::PgCluster;

constexpr std::size_t kMinPgssMax = 120000;
// Room for the entries besides the workload's (the agent's own, utilities, catalog queries).
constexpr std::size_t kPgssHeadroom = 20000;
constexpr std::size_t kManyStatements = 10000;  // above this, fewer repeats by default
constexpr int kRepeatFew = 5;
constexpr int kRepeatMany = 3;

constexpr char kAgentRole[] = "bench_agent";
constexpr char kFloorRole[] = "bench_floor";
constexpr char kExporterRole[] = "bench_exporter";

struct Options {
  std::vector<std::size_t> sizes = {1000, 10000, 100000};
  int repeat = 0;  // 0: kRepeatFew up to kManyStatements statements, kRepeatMany above
  std::string doc_path;
  bool exporter = true;
  int idle_seconds = 300;  // 0: the idle daemon is not measured
  std::size_t idle_statements = 5000;
  int idle_interval_s = 30;
};

int RepeatFor(const Options& options, std::size_t n) {
  return options.repeat > 0 ? options.repeat : (n <= kManyStatements ? kRepeatFew : kRepeatMany);
}

// Progress on stderr, with the seconds since the start.
void Progress(const std::string& message) {
  static const auto start = std::chrono::steady_clock::now();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  std::cerr << "[" << static_cast<int64_t>(elapsed.count()) << "s] " << message << std::endl;
}

// Resets pg_stat_statements, runs workload statements 0..n-1 once and reads back what was
// recorded. Throws std::runtime_error when fewer than n distinct entries resulted.
WorkloadInfo PrepareWorkload(PgCluster& cluster, std::size_t n) {
  cluster.Exec("SELECT pg_stat_statements_reset()");
  ForEachBatch(n, [&cluster](const std::string& sql) { cluster.Exec(sql); });
  const auto rows = cluster.Query(
      "SELECT count(*), coalesce(min(octet_length(query)), 0), "
      "coalesce(round(avg(octet_length(query))), 0), coalesce(max(octet_length(query)), 0) "
      "FROM pg_stat_statements WHERE query LIKE '" +
      std::string(kStatementPattern) + "'");
  WorkloadInfo info;
  info.statements = n;
  info.entries = std::stoll(rows.at(0).at(0));
  info.text_min_bytes = std::stoll(rows[0].at(1));
  info.text_avg_bytes = std::stoll(rows[0].at(2));
  info.text_max_bytes = std::stoll(rows[0].at(3));
  if (info.entries < static_cast<int64_t>(n)) {
    throw std::runtime_error("the workload of " + std::to_string(n) + " statements left only " +
                             std::to_string(info.entries) +
                             " distinct pg_stat_statements entries: statements share queryids "
                             "or entries were evicted");
  }
  return info;
}

// `arg` quoted for a POSIX shell when it holds anything but plain characters.
std::string ShellWord(const std::string& arg) {
  const bool plain = !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("_-./,=:").find(c) != std::string_view::npos;
  });
  if (plain) return arg;
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// First line of the exporter's --version output, "" when it cannot be run.
std::string ExporterVersion() {
  std::string out;
  if (FILE* pipe = popen((std::string(kExporterBinary) + " --version 2>&1").c_str(), "r")) {
    char line[256];
    if (fgets(line, sizeof line, pipe) != nullptr) out = line;
    pclose(pipe);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// The text after kHandWrittenMarker in `path`, "" when the file or the marker is missing.
std::string HandWrittenPart(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const std::size_t at = s.find(kHandWrittenMarker);
  if (at == std::string::npos) return "";
  const std::size_t end = s.find('\n', at);
  return end == std::string::npos ? "" : s.substr(end + 1);
}

int Run(const Options& options, const std::string& command) {
  std::size_t pgss_entries = options.idle_seconds > 0 ? options.idle_statements : 0;
  for (std::size_t n : options.sizes) {
    // Churn adds N/10 entries per cycle.
    pgss_entries = std::max(pgss_entries, n + static_cast<std::size_t>(RepeatFor(options, n)) *
                                                  std::max<std::size_t>(1, n / 10));
  }
  if (pgss_entries > MaxStatements()) {
    throw std::runtime_error("the churn of the largest size needs " + std::to_string(pgss_entries) +
                             " distinct statements; the workload has " +
                             std::to_string(MaxStatements()));
  }
  const std::size_t pgss_max = std::max(kMinPgssMax, pgss_entries + kPgssHeadroom);
  Progress("starting PostgreSQL 15 (pg_stat_statements.max = " + std::to_string(pgss_max) + ")");
  const auto cluster =
      PgCluster::Start({.settings = {{"pg_stat_statements.max", std::to_string(pgss_max)}}});
  cluster->Exec("CREATE EXTENSION pg_stat_statements");
  for (const char* role : {kAgentRole, kFloorRole, kExporterRole}) {
    cluster->Exec(std::string("CREATE ROLE ") + role + " LOGIN IN ROLE pg_monitor");
  }
  cluster->Exec(SetupSql());
  const std::string admin_dsn = cluster->ConnectionString();
  const TempDir scratch("optischema-bench");

  Results results;
  results.exporter_run = options.exporter;
  for (std::size_t n : options.sizes) {
    const int repeat = RepeatFor(options, n);
    SizeResult result;
    Progress(std::to_string(n) + " statements: first pass of the workload");
    result.workload = PrepareWorkload(*cluster, n);
    result.workload.repeat = repeat;
    Progress(std::to_string(n) + " statements: floor, " + std::to_string(repeat) + " runs");
    result.floor = MeasureFloor(cluster->ConnectionString("postgres", kFloorRole), admin_dsn,
                                repeat);
    Progress(std::to_string(n) + " statements: floor with texts, " + std::to_string(repeat) +
             " runs");
    result.floor_text = MeasureFloor(cluster->ConnectionString("postgres", kFloorRole), admin_dsn,
                                     repeat, kFloorTextSql);
    Endpoints endpoints;
    endpoints.agent_dsn = cluster->ConnectionString("postgres", kAgentRole);
    endpoints.admin_dsn = admin_dsn;
    endpoints.agent_role = kAgentRole;
    endpoints.exporter_role = kExporterRole;
    std::unique_ptr<ExporterProcess> exporter;
    if (options.exporter) {
      exporter = std::make_unique<ExporterProcess>(
          scratch.path(), cluster->ConnectionString("postgres", kExporterRole) + " sslmode=disable");
      endpoints.exporter_url = exporter->url();
      endpoints.exporter_pid = exporter->pid();
      // A scrape at 100,000 statements takes minutes of the exporter's time.
      endpoints.exporter_scrapes = n <= kManyStatements ? repeat : 1;
    }
    Progress(std::to_string(n) + " statements: agent" + (options.exporter ? " and exporter" : "") +
             ", " + std::to_string(repeat) + " steady, idle and churn cycles");
    result.agent = MeasureAgent(endpoints, n, repeat);
    exporter.reset();
    results.sizes.push_back(result);
  }

  if (options.idle_seconds > 0) {
    Progress("idle daemon: " + std::to_string(options.idle_statements) + " statements, " +
             std::to_string(options.idle_seconds) + " s measured");
    PrepareWorkload(*cluster, options.idle_statements);
    results.idle = MeasureIdleDaemon(cluster->ConnectionString("postgres", kAgentRole),
                                     options.idle_statements,
                                     std::chrono::seconds(options.idle_interval_s),
                                     std::chrono::seconds(options.idle_seconds));
  }

  const RunContext context{
      .command = command,
      .date = FormatRfc3339(std::chrono::system_clock::now()),
      .machine = DescribeMachine(),
      .load = LoadAverage(),
      .server_version = cluster->QueryValue("SHOW server_version"),
      .exporter_version = options.exporter ? ExporterVersion() : "",
  };
  std::cout << "\nAgent vs floor vs prometheus-postgres-exporter: PostgreSQL "
            << context.server_version << ", " << context.machine << ", load " << context.load
            << "\n\n"
            << ResultsTable(results) << "\n"
            << DetailsTable(results) << "\n";
  if (results.idle) std::cout << "Idle: " << IdleLine(*results.idle) << "\n\n";
  for (const std::string& note : FailureNotes(results)) std::cout << note << "\n";
  std::cout << "Targets:\n";
  for (const std::string& line : TargetLines(results)) std::cout << "  " << line << "\n";

  if (!options.doc_path.empty()) {
    const std::string kept = HandWrittenPart(options.doc_path);
    std::ofstream doc(options.doc_path, std::ios::trunc);
    doc << BenchmarkDocument(context, results) << kept;
    doc.close();
    if (!doc) throw std::runtime_error("cannot write " + options.doc_path);
    std::cout << "\nWrote " << options.doc_path << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace optischema::bench

int main(int argc, char** argv) {
  using namespace optischema::bench;
  CLI::App app{"collector_bench: the agent against a plain pg_stat_statements fetch and prometheus-postgres-exporter"};
  Options options;
  app.add_option("--sizes", options.sizes, "numbers of distinct statements, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(std::size_t{1}, MaxStatements()))
      ->capture_default_str();
  app.add_option("--repeat", options.repeat,
                 "measured cycles per kind (default: 5 up to 10000 statements, 3 above)")
      ->check(CLI::PositiveNumber);
  app.add_option("--write-doc", options.doc_path,
                 "also write the results as Markdown to this file (the part after its "
                 "hand-written marker is kept)");
  app.add_flag("!--no-exporter", options.exporter, "do not run prometheus-postgres-exporter");
  app.add_option("--idle-seconds", options.idle_seconds,
                 "how long to measure the idle agent daemon (0: skip it)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--idle-statements", options.idle_statements,
                 "statements in pg_stat_statements while the daemon idles")
      ->check(CLI::Range(std::size_t{1}, MaxStatements()))
      ->capture_default_str();
  app.add_option("--idle-interval", options.idle_interval_s,
                 "the idle daemon's collection interval in seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::string command = "scripts/bench";
  for (int i = 1; i < argc; ++i) command += " " + ShellWord(argv[i]);
  try {
    return Run(options, command);
  } catch (const std::exception& e) {
    std::cerr << "collector_bench: " << e.what() << "\n";
    return 1;
  }
}
