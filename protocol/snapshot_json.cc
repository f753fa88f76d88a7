#include "protocol/snapshot_json.h"

#include <charconv>
#include <cmath>
#include <string>

#include "protocol/activity_json.h"
#include "protocol/advice_json.h"
#include "protocol/json_writer.h"

namespace optischema::protocol {

std::string ProtocolVersionString() {
  return std::to_string(kProtocolMajor) + "." + std::to_string(kProtocolMinor);
}

const char* DurationClassName(DurationClass c) {
  switch (c) {
    case DurationClass::kStandard:
      return "standard";
    case DurationClass::kLong:
      return "long";
    case DurationClass::kHeavy:
      return "heavy";
  }
  return "standard";
}

const char* TextSourceName(TextSource s) {
  return s == TextSource::kScanner ? "scanner" : "parser";
}

namespace {

// Measured values (milliseconds, blocks, shares) are written to 6 decimals: a nanosecond for
// times, below what PostgreSQL measures. Differences of cumulative doubles otherwise carry 17
// significant digits of rounding noise, which costs bytes and compresses badly.
constexpr double kMeasuredScale = 1e6;
constexpr double kMeasuredMaxRounded = 1e9;  // above, scaling would lose precision: written as is

void PutMeasured(JsonWriter& w, double v) {
  w.Double(std::abs(v) < kMeasuredMaxRounded ? std::round(v * kMeasuredScale) / kMeasuredScale : v);
}

void Put(JsonWriter& w, int64_t v) { w.Int(v); }
void Put(JsonWriter& w, double v) { PutMeasured(w, v); }

template <class Count>
void PutCounters(JsonWriter& w, const BasicWindowCounters<Count>& counters) {
  ForEachCounter(
      [&w](const char* name, const auto& v) {
        w.PlainKey(name);
        Put(w, v);
      },
      counters);
}

// The extra counters `mask` has, in kExtraCounters order: counts as integers when `whole` (a
// statement's own figures), otherwise as measured values (the remainder's weighted corrections).
void PutExtraCounters(JsonWriter& w, const ExtraCounters& values, ExtraCounterMask mask,
                      bool whole) {
  for (std::size_t i = 0; i < kExtraCounterCount; ++i) {
    if (!HasExtraCounter(mask, i)) continue;
    w.PlainKey(kExtraCounters[i].name);
    if (whole && kExtraCounters[i].integer) {
      w.Int(static_cast<int64_t>(values[i]));
    } else {
      PutMeasured(w, values[i]);
    }
  }
}

void PutStatement(JsonWriter& w, const StatementMetrics& s, ExtraCounterMask extra) {
  w.BeginObject();
  w.PlainKey("queryid");
  char queryid[24];
  const auto queryid_end = std::to_chars(queryid, queryid + sizeof queryid, s.queryid).ptr;
  w.String(std::string_view(queryid, static_cast<std::size_t>(queryid_end - queryid)));
  w.PlainKey("userid");
  w.Uint(s.userid);
  w.PlainKey("toplevel");
  w.Bool(s.toplevel);
  w.PlainKey("fingerprint");
  w.String(s.fingerprint);
  if (s.include_text) {
    w.PlainKey("text");
    w.StringOrNull(s.text);
    if (s.text) {
      w.PlainKey("text_source");
      w.String(TextSourceName(s.text_source));
    }
  }
  PutCounters(w, s.window);
  PutExtraCounters(w, s.extra, extra, /*whole=*/true);
  w.PlainKey("mean_exec_time_ms");
  PutMeasured(w, s.mean_exec_time_ms);
  w.PlainKey("cumulative_min_exec_time_ms");
  PutMeasured(w, s.cumulative_min_exec_time_ms);
  w.PlainKey("cumulative_max_exec_time_ms");
  PutMeasured(w, s.cumulative_max_exec_time_ms);
  w.PlainKey("cumulative_stddev_exec_time_ms");
  PutMeasured(w, s.cumulative_stddev_exec_time_ms);
  w.PlainKey("time_pct");
  PutMeasured(w, s.time_pct);
  w.PlainKey("score");
  w.Double(s.score);
  w.PlainKey("duration_class");
  w.String(DurationClassName(s.duration_class));
  w.PlainKey("sample_weight");
  w.Double(s.sample_weight);
  w.EndObject();
}

void PutServer(JsonWriter& w, const ServerInfo& s) {
  w.BeginObject();
  w.PlainKey("version_num");
  w.Int(s.server_version_num);
  w.PlainKey("version");
  w.String(s.server_version);
  w.PlainKey("pg_stat_statements_version");
  w.String(s.extension_version);
  w.PlainKey("stats_reset");
  w.StringOrNull(s.stats_reset);
  w.PlainKey("stats_reset_in_window");
  w.Bool(s.stats_reset_in_window);
  w.PlainKey("dealloc_delta");
  w.Int(s.dealloc_delta);
  w.EndObject();
}

void PutKpis(JsonWriter& w, const Kpis& k) {
  w.BeginObject();
  w.PlainKey("connections_by_state");
  w.BeginObject();
  for (const auto& [state, n] : k.connections_by_state) {
    w.Key(state);
    w.Int(n);
  }
  w.EndObject();
  w.PlainKey("connections_total");
  w.Int(k.connections_total);
  w.PlainKey("max_connections");
  w.Int(k.max_connections);
  w.PlainKey("cache_hit_ratio");
  w.DoubleOrNull(k.cache_hit_ratio);
  w.PlainKey("tps");
  w.Double(k.tps);
  w.EndObject();
}

void PutRemainder(JsonWriter& w, const Remainder& r, ExtraCounterMask extra) {
  w.BeginObject();
  w.PlainKey("statements");
  w.Int(r.statements);
  w.PlainKey("unclassified_statements");
  w.Int(r.unclassified_statements);
  PutCounters(w, r.window);
  PutExtraCounters(w, r.extra, extra, /*whole=*/false);
  w.PlainKey("time_pct");
  w.Double(r.time_pct);
  w.EndObject();
}

void PutSampling(JsonWriter& w, const Sampling& s) {
  w.BeginObject();
  w.PlainKey("applied");
  w.Bool(s.applied);
  w.PlainKey("max_statements");
  w.Int(s.max_statements);
  w.PlainKey("changed_statements");
  w.Int(s.changed_statements);
  w.PlainKey("sent_statements");
  w.Int(s.sent_statements);
  w.PlainKey("head_statements");
  w.Int(s.head_statements);
  w.PlainKey("tail_statements");
  w.Int(s.tail_statements);
  w.PlainKey("sampled_statements");
  w.Int(s.sampled_statements);
  w.PlainKey("tail_probability");
  w.Double(s.tail_probability);
  w.EndObject();
}

}  // namespace

std::string SnapshotToJson(const Snapshot& snap) {
  std::string out;
  std::size_t text_bytes = 0;
  for (const auto& s : snap.statements) text_bytes += s.text ? s.text->size() : 0;
  // An upper estimate, so the buffer is never copied into a larger one: a statement takes ~650
  // bytes plus its extra counters; pages reserved but never written are not resident.
  std::size_t per_statement = 900;
  for (std::size_t i = 0; i < kExtraCounterCount; ++i) {
    if (HasExtraCounter(snap.server.extra_counters, i)) {
      per_statement += std::char_traits<char>::length(kExtraCounters[i].name) + 24;
    }
  }
  out.reserve(4096 + snap.statements.size() * per_statement + text_bytes + text_bytes / 8);
  JsonWriter w(out);
  w.BeginObject();
  w.PlainKey("protocol");
  w.String(ProtocolVersionString());
  w.PlainKey("snapshot_id");
  w.String(snap.snapshot_id);
  if (!snap.agent_id.empty()) {
    w.PlainKey("agent_id");
    w.String(snap.agent_id);
  }
  w.PlainKey("database");
  w.String(snap.database);
  w.PlainKey("collected_at");
  w.String(snap.collected_at);
  w.PlainKey("window_s");
  w.Double(snap.window_s);
  w.PlainKey("server");
  PutServer(w, snap.server);
  w.PlainKey("kpis");
  PutKpis(w, snap.kpis);
  w.PlainKey("statements");
  w.BeginArray();
  for (const auto& s : snap.statements) PutStatement(w, s, snap.server.extra_counters);
  w.EndArray();
  w.PlainKey("remainder");
  PutRemainder(w, snap.remainder, snap.server.extra_counters);
  w.PlainKey("sampling");
  PutSampling(w, snap.sampling);
  w.PlainKey("excluded_statements");
  w.Int(snap.excluded_statements);
  if (snap.activity) {
    w.PlainKey("activity");
    WriteActivity(w, *snap.activity);
  }
  if (snap.advice) WriteAdviceMembers(w, *snap.advice);
  w.EndObject();
  return out;
}

}  // namespace optischema::protocol
