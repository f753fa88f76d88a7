#pragma once

// Vacuum and analyze findings from one table health reading (table_health_reader.h), and the
// table changes they lead to. A table's own reloption (autovacuum_*) overrides the server's
// setting; "rows" is pg_class.reltuples, or n_live_tup while reltuples is unknown (-1).
//
//   dead_tuples      n_dead_tup > vacuum threshold (autovacuum_vacuum_threshold +
//                    autovacuum_vacuum_scale_factor x rows, as autovacuum computes it) and either
//                    autovacuum is disabled for the table (autovacuum_enabled=false) or it was
//                    not vacuumed (by hand or by autovacuum) for more than kVacuumLimitS, or never.
//                    Critical when the dead tuples outnumber the live ones.
//   wraparound       age(relfrozenxid) >= kWraparoundFraction x the effective
//                    autovacuum_freeze_max_age (the lower of the table's and the server's, as
//                    PostgreSQL uses it); likewise mxid_age(relminmxid) against
//                    autovacuum_multixact_freeze_max_age (a finding of its own). Critical from
//                    kWraparoundCriticalAge, PostgreSQL's default vacuum failsafe age (2^31 is
//                    where the server stops assigning ids).
//   stale_statistics n_mod_since_analyze > analyze threshold (autovacuum_analyze_threshold +
//                    autovacuum_analyze_scale_factor x rows) and no analyze (by hand or by
//                    autovacuum) for more than kAnalyzeLimitS, or never. Carries the top
//                    statements reading the table when they are known.
//   vacuum_not_keeping_up  over the last kGrowthRuns advisor runs (this one included) the dead
//                    tuples grew at every run while autovacuum vacuumed the table at least once,
//                    and they are past the vacuum threshold now.
// Findings are ordered by kind as above, then by how far past the threshold (value/threshold).
//
// Proposals (ProposeTableChanges), at most kMaxTableProposals of each kind:
//   set_table_options for a dead_tuples finding: autovacuum_enabled=true when it is false, and
//                    autovacuum_vacuum_scale_factor lowered to kTargetScaleFactor (or
//                    kBigTableScaleFactor for tables of kBigTableRows rows or more) when the
//                    effective one is higher; none when both are in place already.
//   analyze_table    for a stale_statistics finding; tables read by top statements first.
// Pure functions; thread-safe.

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "advisor/table_health_reader.h"
#include "protocol/advice.h"

namespace optischema::advisor {

inline constexpr double kVacuumLimitS = 3600;
inline constexpr double kAnalyzeLimitS = 3600;
inline constexpr double kWraparoundFraction = 0.8;
inline constexpr int64_t kWraparoundCriticalAge = 1'600'000'000;
inline constexpr std::size_t kGrowthRuns = 3;
inline constexpr double kTargetScaleFactor = 0.05;
inline constexpr double kBigTableScaleFactor = 0.01;
inline constexpr double kBigTableRows = 10'000'000;
inline constexpr std::size_t kMaxTableProposals = 20;

// A table's dead tuples and autovacuum runs (pg_stat autovacuum_count) at one advisor run.
struct DeadTupleSample {
  int64_t dead_tuples = 0;
  int64_t autovacuum_count = 0;
  bool operator==(const DeadTupleSample&) const = default;
};
// By table oid: the samples of the latest runs, oldest first, at most kGrowthRuns - 1.
using DeadTupleHistory = std::map<uint32_t, std::vector<DeadTupleSample>>;

// `history` holds the committed previous runs (this reading not included). Tables' read_by must
// be filled before, so that stale_statistics findings carry the statements.
std::vector<protocol::VacuumFinding> FindVacuumProblems(const TableHealthReadings& readings,
                                                        const DeadTupleHistory& history);

// The history after this reading: each table read now with its latest samples, this one last;
// tables not read now are forgotten.
DeadTupleHistory NextDeadTupleHistory(const DeadTupleHistory& previous,
                                      const TableHealthReadings& readings);

// set_table_options and analyze_table proposals for `findings` (see above).
std::vector<protocol::IndexProposal> ProposeTableChanges(
    const std::vector<protocol::VacuumFinding>& findings, const TableHealthReadings& readings);

// The report as advice carries it: tables with findings first (in the findings' order), then the
// others by dead tuples, most first.
protocol::TableHealthReport BuildTableHealthReport(
    const TableHealthReadings& readings, const std::vector<protocol::VacuumFinding>& findings);

}  // namespace optischema::advisor
