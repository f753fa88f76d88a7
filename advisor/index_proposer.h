#pragma once

// Index proposals for the statements that take most time, verified with HypoPG.
//
// The `max_statements` statements of the connected database with the largest total execution
// time (pg_stat_statements, read with their text; the text never leaves the agent) are taken in
// turn. A statement that is not a plain SELECT, or whose shape gives no candidate
// (index_candidates.h), is passed over; one that cannot be planned is listed in `skipped` with the
// reason. Each remaining statement is planned as a generic plan (its $n stay parameters;
// plan_probe.h: READ ONLY transaction, statement timeout) and kept when that costs at least
// `min_plan_cost`. Every candidate is then created as a hypothetical index and the statements
// that read its table are planned again. A single-column candidate helps a statement when it
// saves at least `min_saving_pct` of its cost; a two-column one needs `min_saving_pct_two_column`
// and a cost at least kTwoColumnGain below the best single-column candidate's for that statement.
// Each statement picks the candidate that helps it most; each picked candidate becomes one
// create_index proposal listing the statements it helps, their costs before and after, and the
// estimated index size (hypopg_relation_size). Without the hypopg extension there are no
// proposals and a note says how to enable it. Planning stops at `budget`. Nothing is written to
// the database.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "collector/index_stats_reader.h"
#include "core/result.h"
#include "pg/pg_session.h"
#include "protocol/advice.h"

namespace optischema::advisor {

// A two-column index must plan at least this much cheaper than the best single-column one.
inline constexpr double kTwoColumnGain = 0.2;

struct ProposerOptions {
  std::string database;  // configured name, for messages
  int max_statements = 20;
  double min_plan_cost = 100;
  double min_saving_pct = 50;
  double min_saving_pct_two_column = 70;
  std::chrono::milliseconds explain_timeout{5000};
  // Bound on the planning a run does, so a slow server never holds up the next reading for
  // long: past it, the statements and candidates not evaluated yet are left out of this run's
  // proposals (a note says so).
  std::chrono::milliseconds budget{30000};
};

struct ProposerResult {
  bool hypopg = false;
  std::vector<protocol::IndexProposal> proposals;  // table_digest filled from `digests`
  std::vector<protocol::SkippedStatement> skipped;
  std::vector<std::string> notes;
  // "schema.table" -> queryids of the top statements (plain SELECTs) that read it; filled only
  // when the top statements were read (HypoPG installed).
  std::map<std::string, std::vector<int64_t>> readers;
};

// `schema` and `indexes` are this run's readings; `digests` maps "schema.table" to its digest.
// Errors: a lost connection (kConnectionLost) or a failure reading pg_stat_statements; a single
// statement's failure is only `skipped`.
Result<ProposerResult> ProposeIndexes(pg::PgSession& session,
                                      const std::vector<protocol::TableSchema>& schema,
                                      const std::vector<collector::IndexReading>& indexes,
                                      const std::map<std::string, std::string>& digests,
                                      const ProposerOptions& options);

}  // namespace optischema::advisor
