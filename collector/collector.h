#pragma once

// Collector: one per configured database. Each Collect() call is one reading of
// pg_stat_statements; from the second reading on it returns the snapshot of the window since the
// previous one (windowed, filtered, sampled, scored, anonymized). Not thread-safe: one thread
// drives one Collector.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <roaring/roaring.hh>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/activity_window.h"
#include "collector/chunked_array.h"
#include "collector/change_log.h"
#include "collector/delta.h"
#include "collector/previous_readings.h"
#include "collector/kpi_reader.h"
#include "collector/stat_reader.h"
#include "collector/statement_slots.h"
#include "collector/statement_text.h"
#include "core/clock.h"
#include "core/result.h"
#include "pg/pg_session.h"
#include "protocol/snapshot.h"

namespace optischema::collector {

// A set of statement slots (CRoaring's C++ class; this Debian version declares it globally).
using SlotSet = ::Roaring;

struct CollectorOptions {
  std::string database_name;  // configured name, carried in snapshots and messages
  std::size_t max_statements_per_snapshot = 5000;
  bool send_text = true;  // false: send_query_text = "none", fingerprints only
  // The text read (pg_stat_statements(true)) reads the server's whole query-text file, so it
  // happens at most once per interval (the first one is not delayed).
  std::chrono::milliseconds text_refresh_interval = std::chrono::minutes(5);
  // Upper bound on anonymized texts held while waiting for their statement to be sent.
  std::size_t text_cache_bytes = 4u << 20;
  // Readings an entry may be absent (evicted) before its slot is recycled.
  uint32_t slot_grace_readings = 20;
  bool require_all_stats_privilege = true;  // refuse a role without pg_read_all_stats
  // How often the caller samples pg_stat_activity (SampleActivity); 0: never. Carried in the
  // snapshot's activity.
  std::chrono::milliseconds activity_sample_interval = std::chrono::seconds(1);
  // Sessions idle in a transaction for longer, holding table locks or blocking, are reported.
  std::chrono::milliseconds idle_in_transaction_warn = std::chrono::seconds(60);
};

// Opens a fresh session; called at start and after a lost connection.
using SessionFactory = std::function<Result<std::unique_ptr<pg::PgSession>>()>;

// Work counters, for tests, benchmarks and the daemon's status line.
struct CollectorCounters {
  uint64_t connects = 0;
  uint64_t readings = 0;
  uint64_t baselines = 0;
  uint64_t text_reads = 0;  // pg_stat_statements(true) calls
  uint64_t texts_analyzed = 0;
  uint64_t malformed_rows = 0;  // rows that did not parse (skipped)
  uint64_t text_read_failures = 0;
  uint64_t activity_samples = 0;
  uint32_t live_slots = 0;
};

class Collector {
 public:
  Collector(CollectorOptions options, SessionFactory connect, const Clock& clock);

  // One reading. Returns nullopt when the reading is a baseline (first after start or after a
  // reconnect), otherwise the window's snapshot. Errors: those of ConnectLibpq, DetectExtension,
  // CheckStatsPrivilege and PgSession; after kConnectionLost the next call reconnects and takes a
  // new baseline. A failed call leaves the previous baseline intact unless the connection was lost.
  Result<std::optional<protocol::Snapshot>> Collect();

  // One sample of the database's sessions (activity_reader.h), folded into the window the next
  // Collect() reports as the snapshot's `activity`. Does nothing before the first Collect()
  // connected, or when activity_sample_interval is 0. Errors: those of PgSession; after
  // kConnectionLost the next Collect() reconnects and takes a new baseline.
  Status SampleActivity();

  const CollectorCounters& counters() const { return counters_; }
  // Why the last failed text read failed (the reading itself went on), for logs and status.
  const std::optional<Error>& last_text_read_error() const { return last_text_read_error_; }

 private:
  struct InfoReading {
    int64_t dealloc = 0;
    std::optional<std::string> stats_reset;
  };

  Status Connect();
  Result<std::optional<protocol::Snapshot>> CollectOnce();
  Status ReadStats(bool all_reset);
  // Slot of `key` (trying `hint` first), creating it and its per-slot state when new.
  uint32_t InternSlot(const StatementKey& key, uint32_t hint, bool* created);
  // Classifies a wanted statement from its raw text and keeps its anonymized text when owed.
  void AnalyzeText(uint32_t slot, int64_t queryid, std::string_view raw);
  void Classify(uint32_t slot, Exclusion exclusion, std::string fingerprint);
  void RecycleAbsentSlots(const SlotSet& present_now);
  bool TextReadDue(std::chrono::steady_clock::time_point now) const;
  Status ReadTexts(const SlotSet& wanted);
  protocol::Snapshot BuildSnapshot(double window_s, const InfoReading& info,
                                   const KpiReading& kpis);
  protocol::StatementMetrics MakeStatement(const Change& change, double total_time_ms,
                                           double weight);

  CollectorOptions options_;
  SessionFactory connect_;
  const Clock& clock_;
  std::unique_ptr<pg::PgSession> session_;
  std::optional<StatReader> reader_;
  std::string server_version_;
  uint32_t own_userid_ = 0;  // the agent's role and database, to recognise its own entries
  uint32_t own_dbid_ = 0;
  CollectorCounters counters_;
  std::optional<Error> last_text_read_error_;
  std::mt19937_64 rng_;

  // Per-slot state, indexed by slot.
  StatementSlots slots_;
  PreviousReadings previous_;
  // The extra counters, kept only for entries where one is not zero (most workloads touch no
  // local blocks and run no JIT): at 100,000 entries a dense copy would cost 20 MiB.
  std::unordered_map<uint32_t, protocol::ExtraCounters> previous_extra_;
  std::vector<uint32_t> last_seen_;  // reading number
  std::vector<Exclusion> exclusion_;
  std::vector<uint64_t> fingerprint_;  // 64-bit value of the 16-hex-digit fingerprint
  // Slot sets.
  SlotSet live_;         // interned
  SlotSet present_;      // present in the previous reading
  SlotSet classified_;   // text analyzed: exclusion and fingerprint known
  SlotSet excluded_;     // filtered out of snapshots
  SlotSet text_sent_;    // text already carried by a snapshot (or not to be sent)
  SlotSet text_wanted_;  // text owed (sent without it, or dropped from pending_text_)
  SlotSet scanner_text_;  // of pending_text_: anonymized from the scanner's tokens alone
  SlotSet changed_now_;  // changed in the last reading
  // Anonymized texts read but not sent yet (their statements were sampled out), at most
  // text_cache_bytes; a text read first drops those of statements that did not change.
  std::unordered_map<uint32_t, std::optional<std::string>> pending_text_;
  std::size_t pending_text_bytes_ = 0;

  ChangeLog changes_;  // this reading's changed entries
  // Their extra counters' deltas, for those where one is not zero.
  std::unordered_map<uint32_t, protocol::ExtraCounters> extra_delta_;
  bool have_baseline_ = false;
  uint32_t reading_no_ = 0;
  ActivityQuery activity_query_;
  std::optional<ActivityWindow> activity_;  // from Connect(), when sampling is on
  InfoReading previous_info_;
  KpiReading previous_kpis_;
  std::chrono::steady_clock::time_point previous_at_{};
  std::optional<std::chrono::steady_clock::time_point> last_text_read_;
};

}  // namespace optischema::collector
