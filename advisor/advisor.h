#pragma once

// Advisor: the index advisor of one database. Each Run() reads the index statistics and the
// schema, and returns the advice: index statistics with their window (scans and table writes since
// the previous run), findings (index_findings.h), the schema report with drift since the previous
// run (schema_drift.h), and proposals: create_index from HypoPG-verified candidates
// (index_proposer.h) and drop_index for unused and redundant indexes, each with the digest of its
// table. Read-only: it runs over a session opened in SessionMode::kReadOnly and writes nothing.
// Not thread-safe: one thread drives one Advisor.

#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include "advisor/index_findings.h"
#include "advisor/index_proposer.h"
#include "collector/pg_session.h"
#include "core/clock.h"
#include "core/result.h"
#include "protocol/advice.h"

namespace optischema::advisor {

struct AdvisorOptions {
  FindingOptions findings;
  ProposerOptions proposer;
  bool propose_drops = true;  // drop_index proposals for unused and redundant indexes
};

class Advisor {
 public:
  // `clock` must outlive the advisor.
  Advisor(AdvisorOptions options, const Clock& clock);

  // One run. Errors: those of PgSession (kConnectionLost: reconnect; the next run still compares
  // with the last good one).
  Result<protocol::Advice> Run(collector::PgSession& session);

 private:
  AdvisorOptions options_;
  const Clock& clock_;
  // From the last good run: scans per index oid, writes per table oid, when, and the schema.
  std::map<uint32_t, int64_t> previous_scans_;
  std::map<uint32_t, int64_t> previous_writes_;
  std::optional<std::chrono::steady_clock::time_point> previous_at_;
  std::optional<std::vector<protocol::TableSchema>> previous_schema_;
};

}  // namespace optischema::advisor
