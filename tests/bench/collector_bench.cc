// collector_bench: the collector's cost against the floor (a naive exporter's reading of
// pg_stat_statements) on a throwaway PostgreSQL 15, for several numbers of distinct statements.
// Prints the results and the target checks; with --write-doc, also writes them as Markdown.
// Exits 0 when every size was measured, whatever the targets' verdicts; 1 on failure (including a
// workload that did not produce N distinct entries); 2 on a bad command line.

#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/time_format.h"
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

struct Options {
  std::vector<std::size_t> sizes = {1000, 10000, 100000};
  int repeat = 0;  // 0: kRepeatFew up to kManyStatements statements, kRepeatMany above
  std::string doc_path;
};

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

// "<n> CPUs, <model>, <memory> GiB RAM, Linux <release>".
std::string DescribeMachine() {
  std::string model = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      if (const auto colon = line.find(':'); colon != std::string::npos) {
        model = line.substr(std::min(line.size(), colon + 2));
      }
      break;
    }
  }
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  const double gib = static_cast<double>(pages) * static_cast<double>(page_size) / (1 << 30);
  utsname uts{};
  uname(&uts);
  return std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " CPUs, " + model + ", " +
         std::to_string(static_cast<int>(gib + 0.5)) + " GiB RAM, Linux " + uts.release;
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

int Run(const Options& options, const std::string& command) {
  const std::size_t largest = *std::max_element(options.sizes.begin(), options.sizes.end());
  const std::size_t pgss_max = std::max(kMinPgssMax, largest + kPgssHeadroom);
  Progress("starting PostgreSQL 15 (pg_stat_statements.max = " + std::to_string(pgss_max) + ")");
  const auto cluster =
      PgCluster::Start({.settings = {{"pg_stat_statements.max", std::to_string(pgss_max)}}});
  cluster->Exec("CREATE EXTENSION pg_stat_statements");
  cluster->Exec(SetupSql());
  const std::string dsn = cluster->ConnectionString();

  std::vector<SizeResult> results;
  for (std::size_t n : options.sizes) {
    const int repeat =
        options.repeat > 0 ? options.repeat : (n <= kManyStatements ? kRepeatFew : kRepeatMany);
    SizeResult result;
    Progress(std::to_string(n) + " statements: first pass of the workload");
    result.workload = PrepareWorkload(*cluster, n);
    result.workload.repeat = repeat;
    Progress(std::to_string(n) + " statements: floor, " + std::to_string(repeat) + " runs");
    result.floor = MeasureFloor(dsn, repeat);
    Progress(std::to_string(n) + " statements: agent, " + std::to_string(repeat) +
             " changed and steady cycles");
    result.agent = MeasureAgent(dsn, n, repeat);
    results.push_back(result);
  }

  const RunContext context{
      .command = command,
      .date = FormatRfc3339(std::chrono::system_clock::now()),
      .machine = DescribeMachine(),
      .server_version = cluster->QueryValue("SHOW server_version"),
  };
  std::cout << "\nCollector vs floor: PostgreSQL " << context.server_version << ", "
            << context.machine << "\n\n"
            << ResultsTable(results) << "\n"
            << DetailsTable(results) << "\n";
  for (const std::string& note : FailureNotes(results)) std::cout << note << "\n";
  std::cout << "\nTargets:\n";
  for (const std::string& line : TargetLines(results)) std::cout << "  " << line << "\n";

  if (!options.doc_path.empty()) {
    std::ofstream doc(options.doc_path, std::ios::trunc);
    doc << BenchmarkDocument(context, results);
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
  CLI::App app{"collector_bench: the collector against a naive pg_stat_statements exporter"};
  Options options;
  app.add_option("--sizes", options.sizes, "numbers of distinct statements, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(std::size_t{1}, MaxStatements()))
      ->capture_default_str();
  app.add_option("--repeat", options.repeat,
                 "measured cycles per kind (default: 5 up to 10000 statements, 3 above)")
      ->check(CLI::PositiveNumber);
  app.add_option("--write-doc", options.doc_path,
                 "also write the results as Markdown to this file");
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
