#include "tests/bench/report.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "tests/bench/workload.h"

namespace optischema::bench {
namespace {

constexpr double kCpuRatioTarget = 1.25;
constexpr std::size_t kCpuTargetSizes[] = {10000, 100000};
constexpr double kRssTargetMib = 50;
constexpr std::size_t kRssTargetSize = 100000;
constexpr double kBytesPerKib = 1024.0;

std::string Fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

// 100000 -> "100,000".
std::string Count(uint64_t value) {
  const std::string digits = std::to_string(value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Milliseconds with two decimals below 10, one above.
std::string Ms(double value) { return Fixed(value, value < 10 ? 2 : 1); }

std::string Ratio(double value, double floor) {
  return floor > 0 ? Fixed(value / floor, 2) + "x" : "n/a";
}

// Markdown table with every column right-aligned and padded to its widest cell.
std::string Markdown(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const std::string& cell : header) widths.push_back(std::max<std::size_t>(cell.size(), 3));
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::ostringstream out;
  const auto line = [&](const std::vector<std::string>& cells) {
    out << "|";
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out << " " << std::setw(static_cast<int>(widths[c])) << cells[c] << " |";
    }
    out << "\n";
  };
  line(header);
  out << "|";
  for (std::size_t width : widths) out << " " << std::string(width - 1, '-') << ": |";
  out << "\n";
  for (const auto& row : rows) line(row);
  return out.str();
}

const SizeResult* Find(const std::vector<SizeResult>& results, std::size_t statements) {
  for (const SizeResult& r : results) {
    if (r.workload.statements == statements) return &r;
  }
  return nullptr;
}

std::string Verdict(bool pass) { return pass ? "PASS  " : "MISS  "; }

}  // namespace

std::string ResultsTable(const std::vector<SizeResult>& results) {
  std::vector<std::vector<std::string>> rows;
  for (const SizeResult& r : results) {
    const AgentResult& a = r.agent;
    rows.push_back({
        Count(r.workload.statements),
        Ms(r.floor.read.cpu_ms),
        Ms(r.floor.read.wall_ms),
        Fixed(r.floor.peak_rss_mib, 1),
        Ms(a.changed.cpu_ms) + " (" + Ratio(a.changed.cpu_ms, r.floor.read.cpu_ms) + ")",
        Ms(a.changed_json_cpu_ms),
        Ms(a.changed.wall_ms) + " (" + Ratio(a.changed.wall_ms, r.floor.read.wall_ms) + ")",
        Ms(a.steady.cpu_ms) + " (" + Ratio(a.steady.cpu_ms, r.floor.read.cpu_ms) + ")",
        Ms(a.first.cpu_ms),
        Fixed(a.peak_rss_mib, 1),
        Fixed(static_cast<double>(a.json_bytes) / kBytesPerKib, 0) + " / " +
            Fixed(static_cast<double>(a.gzip_bytes) / kBytesPerKib, 0),
        std::to_string(a.steady_text_reads),
    });
  }
  return Markdown({"statements", "floor cpu ms", "floor wall ms", "floor rss MiB",
                   "agent changed cpu ms (x floor)", "of which json ms", "agent wall ms (x floor)",
                   "steady cpu ms (x floor)", "first-cycle cpu ms", "agent peak rss MiB",
                   "payload KiB raw/gzip", "steady text reads"},
                  rows);
}

std::string DetailsTable(const std::vector<SizeResult>& results) {
  std::vector<std::vector<std::string>> rows;
  for (const SizeResult& r : results) {
    const AgentResult& a = r.agent;
    const WorkloadInfo& w = r.workload;
    rows.push_back({
        Count(w.statements),
        std::to_string(w.repeat),
        Count(static_cast<uint64_t>(w.entries)),
        std::to_string(w.text_min_bytes) + " / " + std::to_string(w.text_avg_bytes) + " / " +
            std::to_string(w.text_max_bytes),
        Count(static_cast<uint64_t>(r.floor.rows)),
        Fixed(a.workload_pass_s, 1),
        Ms(a.baseline.cpu_ms) + " / " + Ms(a.baseline.wall_ms),
        Ms(a.first.wall_ms),
        Count(a.first_texts_analyzed),
        Ms(a.changed_collect_cpu_ms),
        Count(static_cast<uint64_t>(a.changed_statements)) + " / " +
            Count(static_cast<uint64_t>(a.sent_statements)),
        std::to_string(a.changed_text_reads),
        std::to_string(a.text_read_failures),
        Ms(a.steady.wall_ms),
        Fixed(r.floor.start_rss_mib, 1) + " / " + Fixed(a.start_rss_mib, 1),
        Fixed(a.baseline_rss_mib, 1) + " / " + Fixed(a.first_rss_mib, 1) + " / " +
            Fixed(a.changed_rss_mib, 1) + " / " + Fixed(a.peak_rss_mib, 1),
    });
  }
  return Markdown(
      {"statements", "repeat", "workload entries", "text bytes min/avg/max", "rows read",
       "workload pass s", "baseline cpu/wall ms", "first-cycle wall ms", "texts analyzed",
       "changed: collect cpu ms", "changed/sent statements", "changed text reads",
       "text read failures", "steady wall ms", "start rss MiB floor/agent",
       "agent rss MiB after baseline/first/changed/steady"},
      rows);
}

std::vector<std::string> FailureNotes(const std::vector<SizeResult>& results) {
  std::vector<std::string> notes;
  for (const SizeResult& r : results) {
    if (r.agent.text_read_failures == 0) continue;
    std::string message = r.agent.last_text_read_error;
    std::replace(message.begin(), message.end(), '\n', ' ');
    notes.push_back("At " + Count(r.workload.statements) + " statements " +
                    std::to_string(r.agent.text_read_failures) +
                    " text read(s) failed (the cycle that held one has figures for the texts "
                    "analyzed before it failed); the last with: " +
                    message);
  }
  return notes;
}

std::vector<std::string> TargetLines(const std::vector<SizeResult>& results) {
  std::vector<std::string> lines;
  for (std::size_t size : kCpuTargetSizes) {
    const std::string target = "collector CPU <= " + Fixed(kCpuRatioTarget, 2) + " x floor at " +
                               Count(size) + " statements (changed cycle)";
    const SizeResult* r = Find(results, size);
    if (r == nullptr) {
      lines.push_back("SKIP  " + target + ": size not run");
      continue;
    }
    const double agent = r->agent.changed.cpu_ms;
    const double floor = r->floor.read.cpu_ms;
    lines.push_back(Verdict(agent <= kCpuRatioTarget * floor) + target + ": " + Fixed(agent, 2) +
                    " ms vs floor " + Fixed(floor, 2) +
                    " ms = " + (floor > 0 ? Fixed(agent / floor, 3) + "x" : "n/a") + " (limit " +
                    Fixed(kCpuRatioTarget * floor, 2) + " ms)");
  }

  const std::string rss_target = "agent peak RSS <= " + Fixed(kRssTargetMib, 0) + " MiB at " +
                                 Count(kRssTargetSize) + " statements";
  if (const SizeResult* r = Find(results, kRssTargetSize); r != nullptr) {
    lines.push_back(Verdict(r->agent.peak_rss_mib <= kRssTargetMib) + rss_target + ": " +
                    Fixed(r->agent.peak_rss_mib, 1) + " MiB (floor " +
                    Fixed(r->floor.peak_rss_mib, 1) + " MiB)");
  } else {
    lines.push_back("SKIP  " + rss_target + ": size not run");
  }

  bool none = true;
  std::string counts;
  for (const SizeResult& r : results) {
    none = none && r.agent.steady_text_reads == 0;
    if (!counts.empty()) counts += ", ";
    counts += std::to_string(r.agent.steady_text_reads) + " at " + Count(r.workload.statements);
  }
  lines.push_back(Verdict(none) + "zero text reads in steady state: " + counts);
  return lines;
}

std::string BenchmarkDocument(const RunContext& context, const std::vector<SizeResult>& results) {
  std::ostringstream out;
  out << "# Collector benchmark\n\n"
      << "Generated by `" << context.command << "` on " << context.date
      << "; rerun it to refresh this file.\n\n"
      << "- Machine: " << context.machine << "\n"
      << "- PostgreSQL " << context.server_version
      << " (throwaway cluster on the same machine, Unix socket, pg_stat_statements.max raised "
         "above the largest size)\n\n"
      << "## Method\n\n"
      << "For each size N, pg_stat_statements is reset and N distinct statements are run once: "
      << WorkloadDescription()
      << ", so every one is its own entry, with normalized texts of the lengths given below. Each "
         "measurement then runs in a forked process of its own, so "
         "CPU time (CLOCK_PROCESS_CPUTIME_ID, client side only) and peak RSS (ru_maxrss) are its "
         "own; times are medians over the repeats.\n\n"
      << "- **Floor**: what a naive exporter pays for one reading: a plain libpq `PQexec` of the "
         "collector's own stats SELECT (`StatReader::StatsSql()`), whole result materialised, "
         "nothing iterated, on a connection of its own.\n"
      << "- **Agent**: a `Collector` with default options (5,000 statements per snapshot at "
         "most). A measured cycle is `Collect()` (streaming the same SELECT through COPY, deltas, "
         "filtering, sampling, scoring) plus `SnapshotToJson(snapshot)` (the JSON text sent). "
         "Sequence: a "
         "baseline; one pass of the workload and the *first cycle*, which reads and anonymizes "
         "the texts of all N entries; then, repeated, a workload pass (not measured) and a "
         "*changed cycle* in which every entry changed; then *steady cycles* with no workload in "
         "between. The workload runs on a separate connection from the same process, outside "
         "the measured sections.\n"
      << "- Payload: the JSON of the last changed cycle, raw and gzip-compressed (zlib deflate, "
         "level 6); compression is not part of the measured CPU.\n\n"
      << "## Results\n\n"
      << ResultsTable(results) << "\n"
      << "Ratios are to the floor at the same size. *Of which json* is the part of the changed "
         "cycle's CPU spent serialising; *steady text reads* counts text reads "
         "(pg_stat_statements(true)) during the steady cycles.\n\n"
      << "### Details\n\n"
      << DetailsTable(results) << "\n"
      << "*Workload entries*: entries whose text is one of the workload's statements after its "
         "first pass (at least N). *Rows read*: rows of the floor's SELECT. *Start rss*: ru_maxrss "
         "of the measuring process when it began, inherited from the benchmark process. *Agent rss "
         "after ...*: the agent process's peak RSS so far at the end of each phase.\n\n";
  for (const std::string& note : FailureNotes(results)) out << "**" << note << "**\n\n";
  out << "## Targets\n\n";
  for (const std::string& line : TargetLines(results)) out << "- " << line << "\n";
  return out.str();
}

}  // namespace optischema::bench
