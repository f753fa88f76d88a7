// text_analysis_bench: the collector's per-text cost of analyzing a statement text
// (AnalyzeStatementText: exclusion, fingerprint, anonymized text) against one libpg_query
// pg_query_fingerprint and one pg_query_normalize of the same texts, measured in the same run. No
// PostgreSQL needed: the texts are collector_bench's workload statements (workload.h), once as
// pg_stat_statements records them (what the agent reads: constants already $n, here normalized by
// libpg_query, which numbers these statements' constants as pg_stat_statements does) and once as
// written, with their literals. Prints one table row per kind of text, and PASS or MISS against
// analysis <= --target times one fingerprint.
// Exits 0 when everything was measured, whatever the verdict; 1 on failure; 2 on a bad command
// line.

#include <pg_query.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "collector/statement_text.h"
#include "tests/bench/machine.h"
#include "tests/bench/workload.h"

namespace optischema::bench {
namespace {

struct Options {
  std::size_t texts = 2000;
  int rounds = 5;
  double target = 1.5;
};

// Statements spread over the workload's shapes (lengths and compositions), as collector_bench
// runs them.
std::vector<std::string> WorkloadTexts(std::size_t n) {
  std::vector<std::string> texts;
  texts.reserve(n);
  const std::size_t stride = std::max<std::size_t>(1, MaxStatements() / n);
  for (std::size_t i = 0; i < n; ++i) texts.push_back(Statement(i * stride % MaxStatements()));
  return texts;
}

std::string Normalized(const std::string& sql) {
  PgQueryNormalizeResult result = pg_query_normalize(sql.c_str());
  if (result.error != nullptr) {
    const std::string message = result.error->message;
    pg_query_free_normalize_result(result);
    throw std::runtime_error("workload statement does not normalize: " + message);
  }
  std::string out = result.normalized_query;
  pg_query_free_normalize_result(result);
  return out;
}

// Microseconds per text of one pass of `work` over `texts`.
double MicrosPerText(const std::vector<std::string>& texts,
                     const std::function<void(const std::string&)>& work) {
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& text : texts) work(text);
  const std::chrono::duration<double, std::micro> elapsed =
      std::chrono::steady_clock::now() - start;
  return elapsed.count() / static_cast<double>(texts.size());
}

struct Row {
  std::string kind;
  double fingerprint_us = 0;
  double normalize_us = 0;
  double analyze_us = 0;
};

// The fastest of `rounds` passes of each measurement; the three alternate within a round so that
// load from other processes falls on all of them alike.
Row Measure(const std::string& kind, const std::vector<std::string>& texts, int rounds) {
  const auto fingerprint = [](const std::string& sql) {
    pg_query_free_fingerprint_result(pg_query_fingerprint(sql.c_str()));
  };
  const auto normalize = [](const std::string& sql) {
    pg_query_free_normalize_result(pg_query_normalize(sql.c_str()));
  };
  int64_t queryid = 0;
  std::size_t with_text = 0;
  const auto analyze = [&queryid, &with_text](const std::string& sql) {
    if (collector::AnalyzeStatementText(sql, ++queryid).text) ++with_text;
  };
  // One untimed pass each: libpg_query's per-thread setup, caches.
  MicrosPerText(texts, fingerprint);
  MicrosPerText(texts, normalize);
  MicrosPerText(texts, analyze);
  if (with_text != texts.size()) {
    throw std::runtime_error(kind + ": " + std::to_string(texts.size() - with_text) +
                             " texts were left without an anonymized text");
  }
  Row row{.kind = kind, .fingerprint_us = 1e300, .normalize_us = 1e300, .analyze_us = 1e300};
  for (int round = 0; round < rounds; ++round) {
    row.fingerprint_us = std::min(row.fingerprint_us, MicrosPerText(texts, fingerprint));
    row.normalize_us = std::min(row.normalize_us, MicrosPerText(texts, normalize));
    row.analyze_us = std::min(row.analyze_us, MicrosPerText(texts, analyze));
  }
  return row;
}

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string Cell(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

int Run(const Options& options) {
  const std::vector<std::string> raw = WorkloadTexts(options.texts);
  std::vector<std::string> recorded;
  recorded.reserve(raw.size());
  std::size_t bytes = 0;
  for (const std::string& sql : raw) {
    recorded.push_back(Normalized(sql));
    bytes += recorded.back().size();
  }

  std::cerr << "measuring " << raw.size() << " texts, " << options.rounds << " rounds" << std::endl;
  const std::vector<Row> rows = {
      Measure("as pg_stat_statements records them", recorded, options.rounds),
      Measure("as written, with literals", raw, options.rounds),
  };

  std::cout << "\nStatement text analysis, per text (fastest of " << options.rounds << " rounds of "
            << raw.size() << " texts, " << bytes / raw.size()
            << " bytes on average as recorded): " << DescribeMachine() << ", load " << LoadAverage()
            << "\n\n";
  std::cout << "| texts                              | fingerprint µs | normalize µs | "
               "AnalyzeStatementText µs | analysis / fingerprint |\n"
            << "|------------------------------------|---------------:|-------------:|"
               "------------------------:|-----------------------:|\n";
  for (const Row& row : rows) {
    std::cout << "| " << row.kind << std::string(35 - row.kind.size(), ' ') << "| "
              << Cell(Fixed(row.fingerprint_us, 1), 14) << " | "
              << Cell(Fixed(row.normalize_us, 1), 12) << " | " << Cell(Fixed(row.analyze_us, 1), 23)
              << " | " << Cell(Fixed(row.analyze_us / row.fingerprint_us, 2) + "x", 22) << " |\n";
  }
  const Row& recorded_row = rows.front();
  const double ratio = recorded_row.analyze_us / recorded_row.fingerprint_us;
  std::cout << "\nTarget: analysis <= " << Fixed(options.target, 2)
            << "x one fingerprint per text, on the texts as pg_stat_statements records them: "
            << Fixed(ratio, 2) << "x " << (ratio <= options.target ? "PASS" : "MISS") << "\n";
  return 0;
}

}  // namespace
}  // namespace optischema::bench

int main(int argc, char** argv) {
  using namespace optischema::bench;
  CLI::App app{
      "text_analysis_bench: AnalyzeStatementText against pg_query_fingerprint and "
      "pg_query_normalize on collector_bench's workload texts"};
  Options options;
  app.add_option("--texts", options.texts, "number of workload texts")
      ->check(CLI::Range(std::size_t{1}, MaxStatements()))
      ->capture_default_str();
  app.add_option("--rounds", options.rounds, "timed passes per measurement; the fastest counts")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--target", options.target, "analysis cost target, in fingerprints per text")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return Run(options);
  } catch (const std::exception& e) {
    std::cerr << "text_analysis_bench: " << e.what() << "\n";
    return 1;
  }
}
