#include "advisor/index_proposer.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "advisor/index_candidates.h"
#include "advisor/query_shape.h"
#include "advisor/top_statements.h"
#include "collector/stat_reader.h"
#include "core/human_units.h"
#include "pg/plan_probe.h"
#include "pg/plan_safety.h"
#include "pg/predicate.h"
#include "pg/query_rows.h"
#include "pg/sql_identifier.h"

namespace optischema::advisor {
namespace {

constexpr char kHypopgNote[] =
    "hypopg is not installed in this database, so no index is proposed: install the server "
    "package (Debian: postgresql-<major>-hypopg) and run CREATE EXTENSION hypopg; it only adds "
    "functions, and hypothetical indexes live in the agent's session memory";

struct Planned {
  int64_t queryid = 0;
  pg::ProvenStatement statement;
  double cost = 0;
  std::vector<IndexCandidate> candidates;
};

std::string IndexSql(const IndexCandidate& c) {
  std::string columns;
  for (const std::string& column : c.columns) {
    columns += (columns.empty() ? "" : ", ") + pg::QuoteIdentifier(column);
  }
  return "CREATE INDEX ON " + pg::QuoteIdentifier(c.schema) + "." + pg::QuoteIdentifier(c.table) +
         " USING btree (" + columns + ")";
}

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, value >= 100 ? "%.0f" : "%.1f", value);
  return text;
}

// Why a statement could not be planned, with the fix when there is one. Only the SQLSTATE and
// the kind of error: PostgreSQL's message may quote the statement's text or a value.
std::string SkipReason(const Error& error) {
  std::string reason = "EXPLAIN failed: " + std::string(ErrorCodeName(error.code));
  if (!error.sqlstate.empty()) reason += " (SQLSTATE " + error.sqlstate + ")";
  if (error.sqlstate == "57014") reason += ": planning took longer than the timeout";
  if (error.code == ErrorCode::kPermissionDenied) {
    reason +=
        "; the agent's role may not read a table this statement reads, so it cannot plan it: "
        "GRANT USAGE on their schema and SELECT on those tables to the agent's role. The agent "
        "only "
        "plans statements (EXPLAIN without ANALYZE, in a read-only transaction); it never reads "
        "rows";
  }
  return reason;
}

double SavingPct(double before, double after) {
  return before > 0 ? 100.0 * (before - after) / before : 0;
}

bool UsesTable(const Planned& p, const IndexCandidate& c) {
  return std::any_of(p.candidates.begin(), p.candidates.end(), [&](const IndexCandidate& o) {
    return o.schema == c.schema && o.table == c.table;
  });
}

}  // namespace

Result<ProposerResult> ProposeIndexes(pg::PgSession& session,
                                      const std::vector<protocol::TableSchema>& schema,
                                      const std::vector<collector::IndexReading>& indexes,
                                      const std::map<std::string, std::string>& digests,
                                      const ProposerOptions& options) {
  ProposerResult result;
  auto hypopg = pg::HypopgSchema(session);
  RETURN_IF_ERROR(hypopg);
  result.hypopg = hypopg->has_value();
  if (!result.hypopg) {
    result.notes.push_back(kHypopgNote);
    return result;
  }
  auto top = ReadTopStatements(session, options.database, options.max_statements);
  RETURN_IF_ERROR(top);
  const auto deadline = std::chrono::steady_clock::now() + options.budget;
  bool out_of_time = false;
  const auto time_left = [&] {
    if (!out_of_time && std::chrono::steady_clock::now() >= deadline) {
      out_of_time = true;
      result.notes.push_back(
          "planning stopped at the advisor's time budget: the remaining statements and "
          "candidates were not evaluated in this run (a server this slow to plan may need a "
          "smaller advisor.max_statements)");
    }
    return !out_of_time;
  };

  std::vector<Planned> planned;
  std::vector<IndexCandidate> candidates;
  for (TopStatement& statement : *top) {
    if (!time_left()) break;
    if (!pg::CheckPlainSelect(statement.text).ok()) continue;  // only plain SELECTs
    auto shape = ParseQueryShape(statement.text);
    if (!shape.ok()) continue;
    for (const std::string& table : TablesRead(*shape, schema)) {
      result.readers[table].push_back(statement.queryid);
    }
    if (!ReadsOnlyKnownTables(*shape, schema)) continue;
    std::vector<IndexCandidate> mine = CandidatesFor(*shape, schema, indexes);
    if (mine.empty()) continue;
    auto proven = pg::ProveSafeToPlan(session, statement.text, pg::PlanPurpose::kAdvice);
    if (!proven.ok()) {
      if (proven.error().code != ErrorCode::kInvalidArgument) return std::move(proven).error();
      result.skipped.push_back({statement.queryid, proven.error().message});
      continue;
    }
    auto cost = pg::GenericPlanCost(session, *proven, options.explain_timeout);
    if (!cost.ok()) {
      if (cost.error().code == ErrorCode::kConnectionLost) return std::move(cost).error();
      result.skipped.push_back({statement.queryid, SkipReason(cost.error())});
      continue;
    }
    if (*cost < options.min_plan_cost) continue;
    for (const IndexCandidate& c : mine) {
      if (std::find(candidates.begin(), candidates.end(), c) == candidates.end()) {
        candidates.push_back(c);
      }
    }
    planned.push_back({statement.queryid, *std::move(proven), *cost, std::move(mine)});
  }

  // trials[c][p]: the cost of statement p with candidate c in place.
  std::vector<std::map<std::size_t, double>> trials(candidates.size());
  std::vector<int64_t> sizes(candidates.size(), 0);
  for (std::size_t c = 0; c < candidates.size() && time_left(); ++c) {
    auto size = pg::CreateHypotheticalIndex(session, **hypopg, IndexSql(candidates[c]));
    if (!size.ok()) {
      if (size.error().code == ErrorCode::kConnectionLost) return std::move(size).error();
      result.notes.push_back("hypothetical index on " + candidates[c].schema + "." +
                             candidates[c].table +
                             " failed: " + std::string(ErrorCodeName(size.error().code)) +
                             " (SQLSTATE " + size.error().sqlstate + ")");
      (void)pg::ResetHypotheticalIndexes(session, **hypopg);
      continue;
    }
    sizes[c] = *size;
    for (std::size_t p = 0; p < planned.size() && time_left(); ++p) {
      if (!UsesTable(planned[p], candidates[c])) continue;
      auto cost = pg::GenericPlanCost(session, planned[p].statement, options.explain_timeout);
      if (cost.ok()) trials[c][p] = *cost;
    }
    if (Status reset = pg::ResetHypotheticalIndexes(session, **hypopg); !reset.ok()) {
      return std::move(reset).error();
    }
  }

  // Each statement's best candidate.
  std::map<std::size_t, std::vector<std::size_t>> helped;  // candidate -> statements
  for (std::size_t p = 0; p < planned.size(); ++p) {
    const double before = planned[p].cost;
    std::optional<std::size_t> best_single;
    for (std::size_t c = 0; c < candidates.size(); ++c) {
      auto t = trials[c].find(p);
      if (t == trials[c].end() || candidates[c].columns.size() != 1) continue;
      if (SavingPct(before, t->second) < options.min_saving_pct) continue;
      if (!best_single || t->second < trials[*best_single][p]) {
        best_single = c;
      }
    }
    std::optional<std::size_t> best = best_single;
    for (std::size_t c = 0; c < candidates.size(); ++c) {
      auto t = trials[c].find(p);
      if (t == trials[c].end() || candidates[c].columns.size() != 2) continue;
      if (SavingPct(before, t->second) < options.min_saving_pct_two_column) continue;
      const double bar = best_single ? trials[*best_single][p] * (1 - kTwoColumnGain) : before;
      const double current = best ? trials[*best].at(p) : before;
      if (t->second <= bar && t->second < current) best = c;
    }
    if (best) helped[*best].push_back(p);
  }

  for (const auto& [c, statements] : helped) {
    const IndexCandidate& candidate = candidates[c];
    protocol::IndexProposal proposal;
    proposal.kind = "create_index";
    proposal.schema = candidate.schema;
    proposal.table = candidate.table;
    proposal.columns = candidate.columns;
    if (auto d = digests.find(candidate.schema + "." + candidate.table); d != digests.end()) {
      proposal.table_digest = d->second;
    }
    for (std::size_t p : statements) {
      const double after = trials[c].at(p);
      proposal.statements.push_back({planned[p].queryid, planned[p].cost, after});
      proposal.cost_before += planned[p].cost;
      proposal.cost_after += after;
    }
    proposal.saving_pct = SavingPct(proposal.cost_before, proposal.cost_after);
    proposal.index_size_bytes = sizes[c];
    std::string columns;
    for (const std::string& column : candidate.columns) {
      columns += (columns.empty() ? "" : ", ") + column;
    }
    proposal.reason = std::to_string(statements.size()) + " of the top statements read " +
                      candidate.schema + "." + candidate.table + " by " + columns +
                      "; a btree index on (" + columns + "), about " +
                      HumanBytes(proposal.index_size_bytes) + ", cuts their estimated cost from " +
                      Number(proposal.cost_before) + " to " + Number(proposal.cost_after) + " (-" +
                      Number(proposal.saving_pct) + "%, HypoPG, generic plans)";
    result.proposals.push_back(std::move(proposal));
  }
  return result;
}

}  // namespace optischema::advisor
