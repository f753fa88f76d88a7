#include "protocol/snapshot_json.h"

#include <cmath>
#include <string>

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
        w.Key(name);
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
    w.Key(kExtraCounters[i].name);
    if (whole && kExtraCounters[i].integer) {
      w.Int(static_cast<int64_t>(values[i]));
    } else {
      PutMeasured(w, values[i]);
    }
  }
}

void PutStatement(JsonWriter& w, const StatementMetrics& s, ExtraCounterMask extra) {
  w.BeginObject();
  w.Key("queryid");
  w.String(std::to_string(s.queryid));
  w.Key("userid");
  w.Uint(s.userid);
  w.Key("toplevel");
  w.Bool(s.toplevel);
  w.Key("fingerprint");
  w.String(s.fingerprint);
  if (s.include_text) {
    w.Key("text");
    w.StringOrNull(s.text);
    if (s.text) {
      w.Key("text_source");
      w.String(TextSourceName(s.text_source));
    }
  }
  PutCounters(w, s.window);
  PutExtraCounters(w, s.extra, extra, /*whole=*/true);
  w.Key("mean_exec_time_ms");
  PutMeasured(w, s.mean_exec_time_ms);
  w.Key("cumulative_min_exec_time_ms");
  PutMeasured(w, s.cumulative_min_exec_time_ms);
  w.Key("cumulative_max_exec_time_ms");
  PutMeasured(w, s.cumulative_max_exec_time_ms);
  w.Key("cumulative_stddev_exec_time_ms");
  PutMeasured(w, s.cumulative_stddev_exec_time_ms);
  w.Key("time_pct");
  PutMeasured(w, s.time_pct);
  w.Key("score");
  w.Double(s.score);
  w.Key("duration_class");
  w.String(DurationClassName(s.duration_class));
  w.Key("sample_weight");
  w.Double(s.sample_weight);
  w.EndObject();
}

void PutServer(JsonWriter& w, const ServerInfo& s) {
  w.BeginObject();
  w.Key("version_num");
  w.Int(s.server_version_num);
  w.Key("version");
  w.String(s.server_version);
  w.Key("pg_stat_statements_version");
  w.String(s.extension_version);
  w.Key("stats_reset");
  w.StringOrNull(s.stats_reset);
  w.Key("stats_reset_in_window");
  w.Bool(s.stats_reset_in_window);
  w.Key("dealloc_delta");
  w.Int(s.dealloc_delta);
  w.EndObject();
}

void PutKpis(JsonWriter& w, const Kpis& k) {
  w.BeginObject();
  w.Key("connections_by_state");
  w.BeginObject();
  for (const auto& [state, n] : k.connections_by_state) {
    w.Key(state);
    w.Int(n);
  }
  w.EndObject();
  w.Key("connections_total");
  w.Int(k.connections_total);
  w.Key("max_connections");
  w.Int(k.max_connections);
  w.Key("cache_hit_ratio");
  w.DoubleOrNull(k.cache_hit_ratio);
  w.Key("tps");
  w.Double(k.tps);
  w.EndObject();
}

void PutRemainder(JsonWriter& w, const Remainder& r, ExtraCounterMask extra) {
  w.BeginObject();
  w.Key("statements");
  w.Int(r.statements);
  w.Key("unclassified_statements");
  w.Int(r.unclassified_statements);
  PutCounters(w, r.window);
  PutExtraCounters(w, r.extra, extra, /*whole=*/false);
  w.Key("time_pct");
  w.Double(r.time_pct);
  w.EndObject();
}

void PutSampling(JsonWriter& w, const Sampling& s) {
  w.BeginObject();
  w.Key("applied");
  w.Bool(s.applied);
  w.Key("max_statements");
  w.Int(s.max_statements);
  w.Key("changed_statements");
  w.Int(s.changed_statements);
  w.Key("sent_statements");
  w.Int(s.sent_statements);
  w.Key("head_statements");
  w.Int(s.head_statements);
  w.Key("tail_statements");
  w.Int(s.tail_statements);
  w.Key("sampled_statements");
  w.Int(s.sampled_statements);
  w.Key("tail_probability");
  w.Double(s.tail_probability);
  w.EndObject();
}

}  // namespace

std::string SnapshotToJson(const Snapshot& snap) {
  std::string out;
  std::size_t text_bytes = 0;
  for (const auto& s : snap.statements) text_bytes += s.text ? s.text->size() : 0;
  out.reserve(1024 + snap.statements.size() * 900 + text_bytes);
  JsonWriter w(out);
  w.BeginObject();
  w.Key("protocol");
  w.String(ProtocolVersionString());
  w.Key("snapshot_id");
  w.String(snap.snapshot_id);
  if (!snap.agent_id.empty()) {
    w.Key("agent_id");
    w.String(snap.agent_id);
  }
  w.Key("database");
  w.String(snap.database);
  w.Key("collected_at");
  w.String(snap.collected_at);
  w.Key("window_s");
  w.Double(snap.window_s);
  w.Key("server");
  PutServer(w, snap.server);
  w.Key("kpis");
  PutKpis(w, snap.kpis);
  w.Key("statements");
  w.BeginArray();
  for (const auto& s : snap.statements) PutStatement(w, s, snap.server.extra_counters);
  w.EndArray();
  w.Key("remainder");
  PutRemainder(w, snap.remainder, snap.server.extra_counters);
  w.Key("sampling");
  PutSampling(w, snap.sampling);
  w.Key("excluded_statements");
  w.Int(snap.excluded_statements);
  if (snap.advice) WriteAdviceMembers(w, *snap.advice);
  w.EndObject();
  return out;
}

}  // namespace optischema::protocol
