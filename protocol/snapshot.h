#pragma once

// Protocol v1 snapshot: what the agent sends about one database for one window. Plain data; the
// JSON mapping (and every field name) lives in snapshot_json.cc.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/activity.h"
#include "protocol/advice.h"
#include "protocol/extra_counters.h"

namespace optischema::protocol {

inline constexpr int kProtocolMajor = 1;
inline constexpr int kProtocolMinor = 0;
// "1.0": carried in every message as `protocol`.
std::string ProtocolVersionString();

enum class DurationClass { kStandard, kLong, kHeavy };
const char* DurationClassName(DurationClass c);

// How a statement's text was anonymized: from the parse tree, or, for a text the parser does not
// read (newer syntax than its grammar), from the scanner's tokens alone.
enum class TextSource { kParser, kScanner };
const char* TextSourceName(TextSource s);  // "parser", "scanner": the wire values

// Counters summed over the window. Integer counts per statement; fractional in the remainder,
// which corrects weighted sums.
template <class Count>
struct BasicWindowCounters {
  Count calls = 0;
  double total_exec_time_ms = 0;
  double total_plan_time_ms = 0;
  Count rows = 0;
  Count shared_blks_hit = 0;
  Count shared_blks_read = 0;
  Count shared_blks_dirtied = 0;
  Count shared_blks_written = 0;
  Count temp_blks_read = 0;
  Count temp_blks_written = 0;
  double blk_read_time_ms = 0;
  double blk_write_time_ms = 0;
  Count wal_records = 0;
  double wal_bytes = 0;
};
using WindowCounters = BasicWindowCounters<int64_t>;
using WeightedCounters = BasicWindowCounters<double>;

// Calls f(name, objs.field...) for every counter field, in wire order: the one list of counter
// fields, used for JSON and arithmetic alike. Works across BasicWindowCounters instantiations.
template <class F, class... Counters>
void ForEachCounter(F&& f, Counters&... objs) {
  f("calls", objs.calls...);
  f("total_exec_time_ms", objs.total_exec_time_ms...);
  f("total_plan_time_ms", objs.total_plan_time_ms...);
  f("rows", objs.rows...);
  f("shared_blks_hit", objs.shared_blks_hit...);
  f("shared_blks_read", objs.shared_blks_read...);
  f("shared_blks_dirtied", objs.shared_blks_dirtied...);
  f("shared_blks_written", objs.shared_blks_written...);
  f("temp_blks_read", objs.temp_blks_read...);
  f("temp_blks_written", objs.temp_blks_written...);
  f("blk_read_time_ms", objs.blk_read_time_ms...);
  f("blk_write_time_ms", objs.blk_write_time_ms...);
  f("wal_records", objs.wal_records...);
  f("wal_bytes", objs.wal_bytes...);
}

// out += weight × in, field by field.
inline void AddWeighted(WeightedCounters& out, const WindowCounters& in, double weight) {
  ForEachCounter([weight](const char*, double& o, auto v) { o += weight * static_cast<double>(v); },
                 out, in);
}

struct StatementMetrics {
  int64_t queryid = 0;  // sent as a decimal string: JSON numbers lose 64-bit precision
  uint32_t userid = 0;
  bool toplevel = true;
  std::string fingerprint;          // hex; never empty for a sent statement
  bool include_text = false;        // text is sent only the first time; absent otherwise
  std::optional<std::string> text;  // anonymized; nullopt with include_text = unparsable
  TextSource text_source = TextSource::kParser;  // sent beside a text that is not null
  WindowCounters window;
  ExtraCounters extra{};  // the window's extra counters; only those of ServerInfo::extra_counters
  double mean_exec_time_ms = 0;  // window mean = Δtotal / Δcalls
  // Cumulative since the entry was created (pg_stat_statements cannot window these).
  double cumulative_min_exec_time_ms = 0;
  double cumulative_max_exec_time_ms = 0;
  double cumulative_stddev_exec_time_ms = 0;
  double time_pct = 0;
  double score = 0;
  DurationClass duration_class = DurationClass::kStandard;
  double sample_weight = 1.0;
};

// Exact correction so that Σ(sent × sample_weight) + remainder = the true window totals.
struct Remainder {
  int64_t statements = 0;               // changed statements not sent
  int64_t unclassified_statements = 0;  // of those: text not read yet, so not filterable yet
  WeightedCounters window;              // may be negative for a counter: it is a correction
  ExtraCounters extra{};                // the same correction for the extra counters
  double time_pct = 0;
};

struct Sampling {
  bool applied = false;
  int64_t max_statements = 0;
  int64_t changed_statements = 0;  // after filtering
  int64_t sent_statements = 0;
  int64_t head_statements = 0;     // top by time, weight 1
  int64_t tail_statements = 0;     // candidates for uniform sampling
  int64_t sampled_statements = 0;  // drawn from the tail, weight 1/p
  double tail_probability = 1.0;
};

struct ServerInfo {
  int server_version_num = 0;
  std::string server_version;
  std::string extension_version;
  std::optional<std::string> stats_reset;  // pg_stat_statements_info.stats_reset (RFC 3339)
  int64_t dealloc_delta = 0;               // entries evicted during the window
  bool stats_reset_in_window = false;
  // The extra counters the extension version has, and so the snapshot carries (not itself a wire
  // field: the counters' presence says it).
  ExtraCounterMask extra_counters = 0;
};

struct Kpis {
  std::map<std::string, int64_t> connections_by_state;  // database's client backends
  int64_t connections_total = 0;                        // whole instance
  int64_t max_connections = 0;
  std::optional<double> cache_hit_ratio;  // over the window; nullopt when no block was touched
  double tps = 0;                         // commits + rollbacks per second over the window
};

struct Snapshot {
  std::string snapshot_id;   // UUID v4
  std::string agent_id;      // empty until registration exists
  std::string database;      // configured name
  std::string collected_at;  // RFC 3339 UTC
  double window_s = 0;
  ServerInfo server;
  Kpis kpis;
  std::vector<StatementMetrics> statements;
  Remainder remainder;
  Sampling sampling;
  int64_t excluded_statements = 0;   // changed but filtered (agent's own, utilities, catalog)
  std::optional<Activity> activity;  // the sessions sampler's window; none when it is off
  std::optional<Advice> advice;      // in the snapshot taken when the index advisor ran
};

}  // namespace optischema::protocol
