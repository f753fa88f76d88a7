#pragma once

// Advisor: the index and vacuum advisor of one database. Each Run() reads the index statistics,
// the schema and the table health, and returns the advice: index statistics with their window
// (scans and table writes since the previous run), findings (index_findings.h), the schema report
// with drift since the previous run (schema_drift.h), the table health report with its vacuum
// findings (table_health_reader.h, vacuum_findings.h), and proposals: create_index from
// HypoPG-verified candidates (index_proposer.h), drop_index for unused and redundant indexes, each
// with the digest of its table, set_table_options and analyze_table from the vacuum findings; and the plans of the top statements (statement_plans.h): each fingerprint, and the plan
// when its fingerprint changed since the last committed run or with the full schema. Read-only: it
// runs over a session opened in SessionMode::kReadOnly and writes nothing.
// No proposal repeats a change already under way: an index equal to one on the table in any state
// (valid, being built, INVALID) is no candidate (index_candidates.h), and a proposal equal to a
// change the agent's apply worker has in progress or just made (ChangesInProgress, when given) is
// left out.
//
// The next run compares with the last *committed* run: call Commit() once its advice is safely
// on its way (the daemon: written to the spool), so that a snapshot lost before that does not
// lose the full schema or a drift report (or a run of the dead tuple history that
// vacuum_not_keeping_up follows). The full schema is sent again every kFullSchemaEvery.
//
// With index watching on (LoadHistory, which the daemon calls with what it persisted), the
// advisor remembers since when it has seen each index's scan counter without a restart; an index
// it has watched for less time than the statistics' age (a new index, counters restarted by a
// crash) is judged on that shorter time.
//
// Not thread-safe: one thread drives one Advisor.

#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include "advisor/changes_in_progress.h"
#include "advisor/index_findings.h"
#include "advisor/index_proposer.h"
#include "advisor/vacuum_findings.h"
#include "advisor/statement_plans.h"
#include "core/clock.h"
#include "core/result.h"
#include "pg/pg_session.h"
#include "pg/table_digest.h"
#include "protocol/advice.h"

namespace optischema::advisor {

inline constexpr std::chrono::hours kFullSchemaEvery{24};

struct AdvisorOptions {
  FindingOptions findings;
  ProposerOptions proposer;
  bool propose_drops = true;                // drop_index proposals for unused and redundant indexes
  std::optional<pg::DigestKey> digest_key;  // none: table digests are left empty
};

// Since when (Unix seconds) the advisor has seen an index's scan counter, and its last value.
struct IndexWatch {
  int64_t since_s = 0;
  int64_t scans = 0;
  bool operator==(const IndexWatch&) const = default;
};
using IndexHistory = std::map<uint32_t, IndexWatch>;  // by index oid

class Advisor {
 public:
  // `clock` and `changes` (null: none) must outlive the advisor. `changes` is read for the
  // database named options.proposer.database.
  Advisor(AdvisorOptions options, const Clock& clock, const ChangesInProgress* changes = nullptr);

  // One run. Errors: those of PgSession reading the statistics or the schema (kConnectionLost:
  // reconnect). A failure of the proposals or of the table health reading alone is a note in the
  // advice, not an error, unless the connection was lost.
  Result<protocol::Advice> Run(pg::PgSession& session);

  // Makes the last Run() the one the next run compares with.
  void Commit();

  // Turns index watching on, starting from `history` (empty: every index is new).
  void LoadHistory(IndexHistory history);
  // The committed history, to persist (empty while watching is off).
  const IndexHistory& history() const { return committed_.history; }

 private:
  struct State {
    std::map<uint32_t, int64_t> scans;         // by index oid
    std::map<uint32_t, int64_t> writes;        // by table oid: inserts + updates + deletes
    std::map<uint32_t, int64_t> index_writes;  // by table oid: inserts + non-HOT updates
    std::optional<std::chrono::steady_clock::time_point> at;
    std::optional<std::vector<protocol::TableSchema>> schema;
    std::optional<std::chrono::steady_clock::time_point> full_schema_at;
    IndexHistory history;
    DeadTupleHistory dead_tuples;
    std::map<int64_t, std::string> plan_fingerprints;  // by queryid: the last one sent
  };

  AdvisorOptions options_;
  const Clock& clock_;
  const ChangesInProgress* changes_;
  bool watching_ = false;
  State committed_;
  std::optional<State> pending_;
};

}  // namespace optischema::advisor
