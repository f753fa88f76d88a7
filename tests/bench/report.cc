#include "tests/bench/report.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "tests/bench/exporter.h"
#include "tests/bench/workload.h"

namespace optischema::bench {
namespace {

constexpr double kCpuRatioTarget = 1.25;
constexpr double kRssTargetMib = 40;
constexpr std::size_t kRssTargetSize = 100000;
constexpr double kBytesPerChangedTarget = 64;
constexpr double kIdleCorePercentTarget = 0.05;
constexpr double kBytesPerKib = 1024.0;
// Cycles per text read with the default 5-minute text_refresh_interval and 30-s interval.
constexpr double kCyclesPerTextRead = 10;

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

std::string Ratio(double value, double base) {
  return base > 0 ? Fixed(value / base, 2) + "x" : "n/a";
}

std::string Kib(int64_t bytes) {
  const double kib = static_cast<double>(bytes) / kBytesPerKib;
  return Fixed(kib, kib < 10 ? 1 : 0);
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

std::string Verdict(bool pass) { return pass ? "PASS  " : "MISS  "; }

struct Scenario {
  const char* name;
  const ScenarioResult AgentResult::*field;
};
constexpr Scenario kScenarios[] = {{"steady", &AgentResult::steady},
                                   {"churn", &AgentResult::churn}};

double BytesPerChanged(const ScenarioResult& s) {
  return s.changed_statements > 0
             ? static_cast<double>(s.gzip_bytes) / static_cast<double>(s.changed_statements)
             : 0;
}

}  // namespace

std::string ResultsTable(const Results& results) {
  std::vector<std::vector<std::string>> rows;
  for (const SizeResult& r : results.sizes) {
    const FloorResult& f = r.floor;
    for (const Scenario& scenario : kScenarios) {
      const ScenarioResult& s = r.agent.*scenario.field;
      const bool x = results.exporter_run;
      rows.push_back({
          Count(r.workload.statements),
          scenario.name,
          Ms(f.read.cpu_ms) + " / " + Ms(f.read.wall_ms),
          Ms(r.floor_text.read.cpu_ms) + " / " + Ms(r.floor_text.read.wall_ms),
          Ms(s.agent.cpu_ms) + " (" + Ratio(s.agent.cpu_ms, f.read.cpu_ms) + ")",
          Ratio(s.agent.cpu_ms, r.floor_text.read.cpu_ms),
          Ms(s.agent.wall_ms),
          x ? Ms(s.exporter.cpu_ms) : "-",
          x ? Ms(s.exporter.wall_ms) : "-",
          x ? Ratio(s.agent.cpu_ms, s.exporter.cpu_ms) : "-",
          Ms(f.db.ms),
          Ms(s.agent_db.ms) + " (" + Ratio(s.agent_db.ms, f.db.ms) + ")",
          x ? Ms(s.exporter_db.ms) : "-",
          x ? Ratio(s.agent_db.ms, s.exporter_db.ms) : "-",
          Kib(s.gzip_bytes) + " (" + Fixed(BytesPerChanged(s), 0) + " B)",
          x ? Kib(s.exporter.bytes) : "-",
          Count(static_cast<uint64_t>(s.changed_statements)) + " / " +
              Count(static_cast<uint64_t>(s.sent_statements)) + " / " +
              Count(static_cast<uint64_t>(s.texts_sent)),
      });
    }
  }
  return Markdown({"statements", "scenario", "floor cpu/wall ms",
                   "floor with texts cpu/wall ms", "agent cpu ms (x floor)",
                   "agent cpu x floor with texts", "agent wall ms", "exporter cpu ms", "exporter wall ms",
                   "agent/exporter cpu", "floor db ms", "agent db ms (x floor)",
                   "exporter db ms", "agent/exporter db", "agent wire KiB (per changed)",
                   "exporter wire KiB", "changed / sent / texts sent"},
                  rows);
}

std::string DetailsTable(const Results& results) {
  std::vector<std::vector<std::string>> rows;
  for (const SizeResult& r : results.sizes) {
    const AgentResult& a = r.agent;
    const WorkloadInfo& w = r.workload;
    rows.push_back({
        Count(w.statements),
        std::to_string(w.repeat),
        std::to_string(w.text_min_bytes) + " / " + std::to_string(w.text_avg_bytes) + " / " +
            std::to_string(w.text_max_bytes),
        Count(static_cast<uint64_t>(r.floor.rows)),
        Fixed(r.floor.peak_rss_mib, 1) + " / " + Fixed(r.floor_text.peak_rss_mib, 1),
        Fixed(a.peak_rss_mib, 1),
        Fixed(a.baseline_rss_mib, 1) + " / " + Fixed(a.first_rss_mib, 1) + " / " +
            Fixed(a.steady_rss_mib, 1),
        results.exporter_run ? Fixed(a.exporter_peak_rss_mib, 1) : "-",
        Ms(a.baseline.cpu_ms),
        Ms(a.first.cpu_ms) + " / " + Count(a.first_texts_analyzed),
        Ms(a.steady.agent_collect_cpu_ms) + " + " + Ms(a.steady.agent_json_cpu_ms),
        Ms(a.churn.agent_collect_cpu_ms) + " + " + Ms(a.churn.agent_json_cpu_ms),
        Count(a.churn.texts_analyzed) + " / " + std::to_string(a.churn.text_reads),
        Ms(a.idle.cpu_ms) + " (" + Ratio(a.idle.cpu_ms, r.floor.read.cpu_ms) + ")",
        results.exporter_run ? Count(static_cast<uint64_t>(a.exporter_samples)) : "-",
        Fixed(a.workload_pass_s, 1),
    });
  }
  return Markdown({"statements", "repeat", "text bytes min/avg/max", "floor rows",
                   "floor rss MiB (without / with texts)", "agent peak rss MiB",
                   "agent rss after baseline/first/steady",
                   "exporter peak rss MiB", "baseline cpu ms", "first cycle cpu ms / texts",
                   "steady cpu: collect + json/gzip", "churn cpu: collect + json/gzip",
                   "churn texts analyzed / reads", "idle cycle cpu ms (x floor)",
                   "exporter samples of calls", "workload pass s"},
                  rows);
}

std::string IdleLine(const IdleResult& idle) {
  return "agent daemon, " + Count(idle.statements) + " statements, interval " +
         Fixed(idle.interval_s, 0) + " s, nothing running: " + Fixed(idle.cpu_ms, 0) +
         " ms CPU over " + Fixed(idle.measured_s, 0) + " s = " + Fixed(idle.CorePercent(), 4) +
         " % of a core; " + std::to_string(idle.snapshots_delivered) +
         " snapshots delivered; peak RSS " + Fixed(idle.peak_rss_mib, 1) + " MiB (measured after " +
         Fixed(idle.warmup_s, 0) + " s of warm-up)";
}

std::vector<std::string> FailureNotes(const Results& results) {
  std::vector<std::string> notes;
  for (const SizeResult& r : results.sizes) {
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

std::vector<std::string> TargetLines(const Results& results) {
  std::vector<std::string> lines;
  for (const SizeResult& r : results.sizes) {
    const std::string at = " at " + Count(r.workload.statements) + " statements, ";
    for (const Scenario& scenario : kScenarios) {
      const ScenarioResult& s = r.agent.*scenario.field;
      const std::string where = at + scenario.name + ": ";
      const double floor = r.floor.read.cpu_ms;
      lines.push_back(Verdict(s.agent.cpu_ms <= kCpuRatioTarget * floor) + "agent CPU <= " +
                      Fixed(kCpuRatioTarget, 2) + " x floor" + where + Ms(s.agent.cpu_ms) +
                      " ms vs " + Ms(floor) + " ms = " + Ratio(s.agent.cpu_ms, floor));
      if (scenario.field == &AgentResult::churn) {
        // A churn cycle reads texts: compared with the plain fetch of every entry with its text.
        const double text_floor = r.floor_text.read.cpu_ms;
        lines.push_back(Verdict(s.agent.cpu_ms <= kCpuRatioTarget * text_floor) +
                        "agent CPU <= " + Fixed(kCpuRatioTarget, 2) + " x floor with texts" +
                        where + Ms(s.agent.cpu_ms) + " ms vs " + Ms(text_floor) + " ms = " +
                        Ratio(s.agent.cpu_ms, text_floor));
      }
      if (results.exporter_run) {
        lines.push_back(Verdict(s.agent.cpu_ms < s.exporter.cpu_ms) +
                        "agent CPU < exporter" + where + Ms(s.agent.cpu_ms) + " ms vs " +
                        Ms(s.exporter.cpu_ms) + " ms");
        lines.push_back(Verdict(s.agent_db.ms < s.exporter_db.ms) +
                        "agent database time < exporter" + where + "as measured: " +
                        Ms(s.agent_db.ms) +
                        " ms vs " + Ms(s.exporter_db.ms) + " ms");
      }
      if (results.exporter_run && scenario.field == &AgentResult::churn) {
        // Each churn cycle here reads texts; by default the agent reads them every 5 minutes,
        // i.e. once per 10 cycles at a 30-s interval, for 10 cycles' worth of new statements.
        const double text_read_ms = std::max(0.0, s.agent_db.ms - r.agent.steady.agent_db.ms);
        const double amortized = r.agent.steady.agent_db.ms + text_read_ms / kCyclesPerTextRead;
        lines.push_back(Verdict(amortized < s.exporter_db.ms) +
                        "agent database time < exporter" + where + "texts read every 5 min "
                        "(derived: steady cycle + 1/" + Fixed(kCyclesPerTextRead, 0) +
                        " of the churn cycle's text read): " + Ms(amortized) + " ms vs " +
                        Ms(s.exporter_db.ms) + " ms");
      }
      lines.push_back(Verdict(BytesPerChanged(s) <= kBytesPerChangedTarget) +
                      "payload <= " + Fixed(kBytesPerChangedTarget, 0) +
                      " bytes per changed statement" + where + Count(s.gzip_bytes) + " B / " +
                      Count(static_cast<uint64_t>(s.changed_statements)) + " = " +
                      Fixed(BytesPerChanged(s), 1) + " B");
    }
    if (!results.exporter_run) {
      lines.push_back("SKIP  agent CPU and database time < exporter" + at +
                      "exporter not run");
    }
  }

  const std::string rss_target = "agent peak RSS <= " + Fixed(kRssTargetMib, 0) + " MiB at " +
                                 Count(kRssTargetSize) + " statements";
  const auto it = std::find_if(results.sizes.begin(), results.sizes.end(), [](const SizeResult& r) {
    return r.workload.statements == kRssTargetSize;
  });
  if (it != results.sizes.end()) {
    lines.push_back(Verdict(it->agent.peak_rss_mib <= kRssTargetMib) + rss_target + ": " +
                    Fixed(it->agent.peak_rss_mib, 1) + " MiB");
  } else {
    lines.push_back("SKIP  " + rss_target + ": size not run");
  }

  const std::string idle_target = "idle CPU < " + Fixed(kIdleCorePercentTarget, 2) +
                                  " % of a core (agent daemon, 5,000 statements, 30 s interval)";
  if (results.idle) {
    lines.push_back(Verdict(results.idle->CorePercent() < kIdleCorePercentTarget) + idle_target +
                    ": " + Fixed(results.idle->CorePercent(), 4) + " % (" +
                    Fixed(results.idle->cpu_ms, 0) + " ms over " +
                    Fixed(results.idle->measured_s, 0) + " s, " +
                    Fixed(results.idle->interval_s, 0) + " s interval, " +
                    Count(results.idle->statements) + " statements)");
  } else {
    lines.push_back("SKIP  " + idle_target + ": not run");
  }
  return lines;
}

std::string BenchmarkDocument(const RunContext& context, const Results& results) {
  std::ostringstream out;
  out << "# Benchmark: the agent, the floor and prometheus-postgres-exporter\n\n"
      << "Generated by `" << context.command << "` on " << context.date
      << "; rerun it to refresh everything above the hand-written section at the end.\n\n"
      << "- Machine: " << context.machine << "; load average at the end of the run: "
      << context.load
      << " (the machine was shared with other work: CPU time per process is what counts, wall "
         "times move with the load)\n"
      << "- PostgreSQL " << context.server_version
      << " (throwaway cluster on the same machine, Unix socket, pg_stat_statements.max raised "
         "above the largest size, track_utility on, track_planning off as by default)\n";
  if (!context.exporter_version.empty()) {
    out << "- " << context.exporter_version << " (" << kExporterBinary << ", Debian package)\n";
  }
  out << "\n## Method\n\n"
      << "For each size N, pg_stat_statements is reset and N distinct statements are run once: "
      << WorkloadDescription()
      << ", so every one is its own entry, with normalized texts of the lengths given below. The "
         "floor, the agent and the exporter each connect as a role of their own (member of "
         "pg_monitor), so the database time of each one's statements is read from "
         "pg_stat_statements itself: the growth of sum(total_exec_time + total_plan_time) over "
         "that role's entries, read by a superuser before and after each cycle or scrape. "
         "Times are medians over the repeats unless said otherwise.\n\n"
      << "- **Floor**: a plain libpq `PQexec` of `" << kFloorSql
      << "` (every column, no query text), whole result materialised, nothing iterated, on a "
         "connection of its own, in a forked process of its own: client CPU time "
         "(CLOCK_PROCESS_CPUTIME_ID) and wall time.\n"
      << "- **Floor with texts**: the same, measured the same way in the same run, of `"
      << kFloorTextSql
      << "` (every column and every entry's query text, which the server reads from its "
         "query-text file): what a plain fetch of the texts costs. The churn cycle, which reads "
         "texts, is compared with it as well (*x floor with texts*).\n"
      << "- **Agent**: a `Collector` with default options (5,000 statements per snapshot at "
         "most, texts read at most every 5 minutes), in a forked process of its own, on a clock "
         "the benchmark advances by 30 s per cycle. A measured cycle is `Collect()` (reading "
         "`pg_stat_statements(false)` through binary COPY, deltas, filtering, sampling, scoring, "
         "and reading and anonymizing the texts of new statements), `SnapshotToJson` and gzip "
         "(level 3, as the agent spools and sends it): client CPU time, wall time, and the "
         "gzip size (*agent wire*; HTTP and TLS framing not counted). Sequence: a baseline; a "
         "pass of the workload and the *first cycle* (reads and anonymizes all N texts, once "
         "per statement for the agent's lifetime); then the scenarios.\n"
      << "- **Exporter**: " << kExporterBinary
      << " on 127.0.0.1, connected over the Unix socket, with one custom query (--extend.query-path): "
      << ExporterQueryDescription()
      << ". A first, unmeasured and uncompressed scrape counts its pg_stat_statements_calls "
         "samples (*exporter samples*: one per entry shows the query works). A measured scrape "
         "is one HTTP GET of /metrics with "
         "`Accept-Encoding: gzip`: the exporter process's utime + stime from /proc/<pid>/stat "
         "before and 0.3 s after the response (clock ticks of 10 ms, so the mean over the "
         "scrapes is reported; above 10,000 statements, where one scrape takes minutes, only the "
         "last cycle of each scenario is followed by a scrape), the request's wall time, and the compressed body size "
         "(*exporter wire*). Peak RSS is its VmHWM.\n"
      << "- **Scenarios**, each run `repeat` times, the agent's cycle and the exporter's scrape "
         "both after the same workload pass: *steady*: a pass of the same N statements (every "
         "entry's counters change, none is new); *churn*: cycle k runs statements "
         "[k·N/10, N + k·N/10), so N/10 are new each cycle. The agent reads texts at most every "
         "5 minutes, so the benchmark advances its clock by 5 minutes before each churn cycle: "
         "each churn cycle then reads and anonymizes its N/10 new texts, which is what a 30-s "
         "interval costs on average when 5 minutes of new statements are read at once; the "
         "database time of that text read is paid every churn cycle here, ten times as often as "
         "in production. *Idle cycles* (nothing ran) are in the details.\n"
      << "- **Idle daemon**: the real `optischema-agent run` (default settings, 30-s interval) "
         "delivering over HTTPS to the reference control plane (`optischema-controlplane`, "
         "certificates from a throwaway CA), 5,000 statements in pg_stat_statements and nothing "
         "running; after two snapshots were delivered, its utime + stime from /proc over the "
         "measured period.\n\n"
      << "## Results\n\n"
      << ResultsTable(results) << "\n"
      << "Per cycle (agent) or scrape (exporter). *x floor* ratios are to the floor at the same "
         "size, *x floor with texts* to the floor with texts; *agent/exporter* below 1 means the agent is cheaper. *changed / sent / texts "
         "sent*: entries that changed in the window, statements in the snapshot, and of those "
         "the ones carrying their anonymized text (sent once per statement).\n\n"
      << "### Details\n\n"
      << DetailsTable(results) << "\n"
      << "*Floor rows*: rows of the floor's SELECT. RSS figures are peaks (ru_maxrss of the "
         "measuring process, VmHWM of the exporter); the agent's *after baseline/first/steady* "
         "are its peak so far at the end of each phase. *Churn texts analyzed / reads*: texts "
         "anonymized over all churn cycles and the number of text reads.\n\n";
  if (results.idle) out << "**Idle daemon**: " << IdleLine(*results.idle) << ".\n\n";
  for (const std::string& note : FailureNotes(results)) out << "**" << note << "**\n\n";
  out << "## Targets\n\n";
  for (const std::string& line : TargetLines(results)) out << "- " << line << "\n";
  out << "\n" << kHandWrittenMarker << "\n";
  return out.str();
}

}  // namespace optischema::bench
