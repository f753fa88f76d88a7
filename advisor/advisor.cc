#include "advisor/advisor.h"

#include "advisor/schema_drift.h"
#include "advisor/table_health_reader.h"
#include "advisor/vacuum_findings.h"
#include "collector/delta.h"
#include "collector/index_stats_reader.h"
#include "collector/statement_text.h"
#include "pg/table_schema.h"

namespace optischema::advisor {
Advisor::Advisor(AdvisorOptions options, const Clock& clock, const ChangesInProgress* changes)
    : options_(std::move(options)), clock_(clock), changes_(changes) {}

void Advisor::LoadHistory(IndexHistory history) {
  watching_ = true;
  committed_.history = std::move(history);
}

void Advisor::Commit() {
  if (pending_) committed_ = std::move(*pending_);
  pending_.reset();
}

Result<protocol::Advice> Advisor::Run(pg::PgSession& session) {
  const auto now = clock_.Monotonic();
  const int64_t wall_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  auto stats = collector::ReadIndexStats(session);
  RETURN_IF_ERROR(stats);
  auto schema =
      pg::ReadSchema(session, options_.digest_key, std::nullopt, collector::AnonymizeFragment);
  RETURN_IF_ERROR(schema);

  State next;
  next.at = now;
  protocol::Advice advice;
  advice.stats = stats->stats;
  const State& previous = committed_;
  std::optional<double> window_s;
  if (previous.at) window_s = std::chrono::duration<double>(now - *previous.at).count();
  if (window_s && *window_s <= 0) window_s.reset();
  advice.stats.window_s = window_s;

  std::map<uint32_t, double> index_writes_per_s;
  std::map<uint32_t, double> watched_s;
  for (collector::IndexReading& index : stats->indexes) {
    next.scans[index.oid] = index.stat.scans;
    next.writes[index.table_oid] = index.table_writes;
    next.index_writes[index.table_oid] = index.index_writes;
    if (watching_) {
      IndexWatch watch{wall_s, index.stat.scans};
      if (auto w = previous.history.find(index.oid);
          w != previous.history.end() && index.stat.scans >= w->second.scans) {
        watch.since_s = w->second.since_s;
      }
      next.history[index.oid] = watch;
      watched_s[index.oid] = static_cast<double>(wall_s - watch.since_s);
    }
    if (!window_s) continue;
    if (auto s = previous.scans.find(index.oid); s != previous.scans.end()) {
      index.stat.scans_window = collector::CounterGrowth(s->second, index.stat.scans);
    }
    if (auto w = previous.writes.find(index.table_oid); w != previous.writes.end()) {
      index.stat.table_writes_per_s =
          static_cast<double>(collector::CounterGrowth(w->second, index.table_writes)) / *window_s;
    }
    if (auto w = previous.index_writes.find(index.table_oid); w != previous.index_writes.end()) {
      index_writes_per_s[index.table_oid] =
          static_cast<double>(collector::CounterGrowth(w->second, index.index_writes)) / *window_s;
    }
  }
  advice.findings = FindIndexProblems(stats->indexes, stats->stats, index_writes_per_s, watched_s,
                                      options_.findings);

  const bool full = !previous.schema || !previous.full_schema_at ||
                    now - *previous.full_schema_at >= kFullSchemaEvery;
  advice.schema = BuildSchemaReport(previous.schema ? &*previous.schema : nullptr, *schema);
  if (full && !advice.schema->full) {
    // Periodically the whole schema again, drift included, in case a report was lost.
    advice.schema->full = true;
    advice.schema->tables = *schema;
  }
  next.full_schema_at = full ? std::optional(now) : previous.full_schema_at;

  auto proposed =
      ProposeIndexes(session, *schema, stats->indexes, advice.schema->digests, options_.proposer);
  std::map<std::string, std::vector<int64_t>> readers;
  if (proposed.ok()) {
    readers = std::move(proposed->readers);
    advice.hypopg = proposed->hypopg;
    advice.proposals = std::move(proposed->proposals);
    advice.skipped = std::move(proposed->skipped);
    advice.notes = std::move(proposed->notes);
  } else if (proposed.error().code == ErrorCode::kConnectionLost) {
    return std::move(proposed).error();
  } else {
    const Error& e = proposed.error();
    advice.notes.push_back("no index proposals this run: " + std::string(ErrorCodeName(e.code)) +
                           (e.sqlstate.empty() ? "" : " (SQLSTATE " + e.sqlstate + ")") +
                           "; findings and schema are complete");
  }
  auto plans = AddStatementPlans(session, *schema, options_.proposer, previous.plan_fingerprints,
                                 full, advice);
  RETURN_IF_ERROR(plans);
  next.plan_fingerprints = std::move(plans).value();
  if (options_.propose_drops) {
    for (const protocol::IndexFinding& f : advice.findings) {
      if (f.kind != protocol::FindingKind::kUnused && f.kind != protocol::FindingKind::kRedundant) {
        continue;
      }
      protocol::IndexProposal drop;
      drop.kind = "drop_index";
      drop.schema = f.schema;
      drop.table = f.table;
      drop.index = f.index;
      if (auto d = advice.schema->digests.find(f.schema + "." + f.table);
          d != advice.schema->digests.end()) {
        drop.table_digest = d->second;
      }
      drop.index_size_bytes = f.bytes;
      drop.reason = f.reason;
      advice.proposals.push_back(std::move(drop));
    }
  }
  auto health = ReadTableHealth(session);
  if (health.ok()) {
    for (TableHealthReading& table : health->tables) {
      const auto r = readers.find(table.health.schema + "." + table.health.name);
      if (r != readers.end()) table.health.read_by = r->second;
    }
    advice.vacuum_findings = FindVacuumProblems(*health, previous.dead_tuples);
    advice.table_health = BuildTableHealthReport(*health, advice.vacuum_findings);
    for (protocol::IndexProposal& p : ProposeTableChanges(advice.vacuum_findings, *health)) {
      advice.proposals.push_back(std::move(p));
    }
    next.dead_tuples = NextDeadTupleHistory(previous.dead_tuples, *health);
  } else if (health.error().code == ErrorCode::kConnectionLost) {
    return std::move(health).error();
  } else {
    const Error& e = health.error();
    advice.notes.push_back("no table health this run: " + std::string(ErrorCodeName(e.code)) +
                           (e.sqlstate.empty() ? "" : " (SQLSTATE " + e.sqlstate + ")"));
    next.dead_tuples = previous.dead_tuples;
  }
  if (changes_ != nullptr) {
    // The catalog read above may predate a change the apply worker has taken or just finished.
    std::erase_if(advice.proposals, [&](const protocol::IndexProposal& p) {
      return changes_->Holds(options_.proposer.database, p);
    });
  }
  for (collector::IndexReading& index : stats->indexes) advice.indexes.push_back(index.stat);

  next.schema = std::move(schema).value();
  pending_ = std::move(next);
  return advice;
}

}  // namespace optischema::advisor
