#include "advisor/advisor.h"

#include "advisor/schema_drift.h"
#include "collector/index_stats_reader.h"
#include "collector/schema_reader.h"

namespace optischema::advisor {

Advisor::Advisor(AdvisorOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

Result<protocol::Advice> Advisor::Run(collector::PgSession& session) {
  const auto now = clock_.Monotonic();
  auto stats = collector::ReadIndexStats(session);
  if (!stats.ok()) return std::move(stats).error();
  auto schema = collector::ReadSchema(session);
  if (!schema.ok()) return std::move(schema).error();

  protocol::Advice advice;
  advice.stats = stats->stats;
  std::map<uint32_t, double> writes_per_s;
  std::map<uint32_t, int64_t> scans;
  std::map<uint32_t, int64_t> writes;
  const std::optional<double> window_s =
      previous_at_
          ? std::optional<double>(std::chrono::duration<double>(now - *previous_at_).count())
          : std::nullopt;
  advice.stats.window_s = window_s;
  for (collector::IndexReading& index : stats->indexes) {
    scans[index.oid] = index.stat.scans;
    writes[index.table_oid] = index.table_writes;
    if (!window_s || *window_s <= 0) continue;
    if (auto s = previous_scans_.find(index.oid); s != previous_scans_.end()) {
      // A reset in between restarts the counters: the current value is then the window's.
      index.stat.scans_window =
          index.stat.scans >= s->second ? index.stat.scans - s->second : index.stat.scans;
    }
    if (auto w = previous_writes_.find(index.table_oid); w != previous_writes_.end()) {
      const int64_t delta =
          index.table_writes >= w->second ? index.table_writes - w->second : index.table_writes;
      index.stat.table_writes_per_s = static_cast<double>(delta) / *window_s;
      writes_per_s[index.table_oid] = *index.stat.table_writes_per_s;
    }
  }
  advice.findings =
      FindIndexProblems(stats->indexes, stats->stats, writes_per_s, options_.findings);
  advice.schema = BuildSchemaReport(previous_schema_ ? &*previous_schema_ : nullptr, *schema);

  auto proposed =
      ProposeIndexes(session, *schema, stats->indexes, advice.schema->digests, options_.proposer);
  if (!proposed.ok()) return std::move(proposed).error();
  advice.hypopg = proposed->hypopg;
  advice.proposals = std::move(proposed->proposals);
  advice.skipped = std::move(proposed->skipped);
  advice.notes = std::move(proposed->notes);
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
  for (collector::IndexReading& index : stats->indexes) advice.indexes.push_back(index.stat);

  previous_scans_ = std::move(scans);
  previous_writes_ = std::move(writes);
  previous_at_ = now;
  previous_schema_ = std::move(schema).value();
  return advice;
}

}  // namespace optischema::advisor
