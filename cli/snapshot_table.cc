#include "cli/snapshot_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "cli/activity_table.h"

namespace optischema::cli {

namespace {

std::string Format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// One line, at most `width` characters, whitespace runs folded.
std::string OneLine(const std::string& text, std::size_t width) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  if (out.size() > width) out = out.substr(0, width - 3) + "...";
  return out;
}

}  // namespace

std::string FormatSnapshotTable(const protocol::Snapshot& s, std::size_t max_rows) {
  std::string out;
  out += Format("database %s  window %.1fs  collected %s\n", s.database.c_str(), s.window_s,
                s.collected_at.c_str());
  out += Format("server %s  pg_stat_statements %s  evicted in window %lld%s\n",
                s.server.server_version.c_str(), s.server.extension_version.c_str(),
                static_cast<long long>(s.server.dealloc_delta),
                s.server.stats_reset_in_window ? "  (statistics were reset)" : "");
  std::string conns;
  for (const auto& [state, n] : s.kpis.connections_by_state) {
    conns +=
        Format("%s%s=%lld", conns.empty() ? "" : " ", state.c_str(), static_cast<long long>(n));
  }
  out += Format(
      "tps %.1f  cache hit %s  connections %s (instance %lld of %lld)\n\n", s.kpis.tps,
      s.kpis.cache_hit_ratio ? Format("%.2f%%", *s.kpis.cache_hit_ratio * 100).c_str() : "n/a",
      conns.empty() ? "none" : conns.c_str(), static_cast<long long>(s.kpis.connections_total),
      static_cast<long long>(s.kpis.max_connections));

  std::vector<const protocol::StatementMetrics*> rows;
  for (const auto& st : s.statements) rows.push_back(&st);
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) {
    return a->window.total_exec_time_ms > b->window.total_exec_time_ms;
  });
  out += Format("%-3s %10s %12s %10s %7s %5s %-8s  %s\n", "#", "calls", "total ms", "mean ms",
                "time%", "score", "class", "statement");
  std::size_t rank = 0;
  for (const auto* st : rows) {
    if (rank == max_rows) break;
    std::string text = st->include_text
                           ? (st->text ? OneLine(*st->text, 70) : "(unparsable text withheld)")
                           : "(text sent earlier) fingerprint " + st->fingerprint;
    out += Format("%-3zu %10lld %12.2f %10.3f %7.2f %5.1f %-8s  %s\n", ++rank,
                  static_cast<long long>(st->window.calls), st->window.total_exec_time_ms,
                  st->mean_exec_time_ms, st->time_pct, st->score,
                  protocol::DurationClassName(st->duration_class), text.c_str());
  }
  if (rows.empty()) out += "(no statement ran in the window)\n";
  out += Format("\n%zu statements sent", s.statements.size());
  if (rows.size() > max_rows) out += Format(" (top %zu shown)", max_rows);
  out +=
      Format(", %lld in remainder (%.2f%% of time)", static_cast<long long>(s.remainder.statements),
             // The remainder is a correction: a rounding error can fall just below zero.
             std::abs(s.remainder.time_pct) < 0.005 ? 0.0 : s.remainder.time_pct);
  if (s.sampling.applied) {
    out += Format(", sampled: head %lld + %lld of %lld tail (p=%.3f)",
                  static_cast<long long>(s.sampling.head_statements),
                  static_cast<long long>(s.sampling.sampled_statements),
                  static_cast<long long>(s.sampling.tail_statements), s.sampling.tail_probability);
  }
  out += Format(", %lld filtered out (agent, utilities, catalog)\n",
                static_cast<long long>(s.excluded_statements));
  if (s.activity) out += "\n" + FormatActivityTable(*s.activity);
  return out;
}

}  // namespace optischema::cli
