#pragma once

// FakePgSession: a scripted pg_stat_statements server behind the PgSession seam, for unit tests
// of the collector's logic. The test owns a FakeServer and mutates it between readings; sessions
// made by its factory answer from it.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/collector.h"
#include "pg/pg_session.h"
#include "protocol/extra_counters.h"

namespace optischema::testing {

struct FakeEntry {
  uint32_t userid = 10;
  uint32_t dbid = 5;
  int64_t queryid = 0;
  bool toplevel = true;
  int64_t calls = 0;
  double total_exec_time_ms = 0;
  int64_t rows = 0;
  int64_t shared_blks_hit = 0;
  int64_t shared_blks_read = 0;
  int64_t temp_blks_written = 0;
  double stats_since = 0;
  // Extra counters, in protocol::kExtraCounters order; the fake sends those of its version.
  protocol::ExtraCounters extra{};
  std::string text;
};

// queryid the fake reports for the text read itself (pg_stat_activity.query_id).
inline constexpr int64_t kTextReadQueryId = 777000777;

struct FakeServer {
  std::string extension_version = "1.10";
  bool extension_installed = true;
  bool can_read_all_stats = true;
  std::vector<FakeEntry> entries;
  int64_t dealloc = 0;
  std::optional<std::string> stats_reset = "2026-01-01T00:00:00.000Z";
  int64_t xacts = 0;
  // Observations.
  int text_reads = 0;
  int stats_reads = 0;
  int connects = 0;
  std::vector<std::string> statements;  // every SQL text received
  // Failure injection: the next Stream/Query fails with this error once.
  std::optional<Error> fail_next;
  // The next statistics stream fails with this error once.
  std::optional<Error> fail_stream;
  // The next text read fails with this error once.
  std::optional<Error> fail_text_read;

  FakeEntry* Find(int64_t queryid);
  collector::SessionFactory Factory();
};

}  // namespace optischema::testing
