#include "advisor/index_findings.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "core/human_units.h"

namespace optischema::advisor {
namespace {

using collector::IndexReading;
using protocol::FindingKind;
using protocol::IndexFinding;

std::string Days(double seconds) {
  char text[32];
  if (seconds >= 86400) {
    std::snprintf(text, sizeof text, "%.1f days", seconds / 86400);
  } else {
    std::snprintf(text, sizeof text, "%.1f hours", seconds / 3600);
  }
  return text;
}

std::string Impact(int64_t bytes, const std::optional<double>& writes) {
  std::string text = "dropping it frees " + HumanBytes(bytes);
  if (writes) {
    char rate[48];
    std::snprintf(rate, sizeof rate, "%.2f", *writes);
    text += std::string(" and saves maintenance on ") + rate + " writes/s";
  }
  return text;
}

IndexFinding Finding(FindingKind kind, const IndexReading& index,
                     const std::map<uint32_t, double>& writes_per_s) {
  IndexFinding f;
  f.kind = kind;
  f.schema = index.stat.schema;
  f.table = index.stat.table;
  f.index = index.stat.name;
  f.bytes = index.stat.size_bytes;
  if (auto it = writes_per_s.find(index.table_oid); it != writes_per_s.end()) {
    f.writes_per_s = it->second;
  }
  return f;
}

// Whether dropping `index` could change what the database enforces.
bool Enforces(const IndexReading& index) {
  return index.stat.unique || index.stat.primary || index.stat.backs_constraint;
}

// Whether `other` makes `index` redundant (see the header).
bool Covers(const IndexReading& other, const IndexReading& index) {
  if (other.oid == index.oid || other.table_oid != index.table_oid || !other.stat.valid) {
    return false;
  }
  if (other.stat.method != index.stat.method || other.expressions != index.expressions ||
      other.predicate != index.predicate) {
    return false;
  }
  const auto& mine = index.key_signature;
  const auto& theirs = other.key_signature;
  if (mine.empty() || theirs.size() < mine.size()) return false;
  if (index.stat.method != "btree" && theirs.size() != mine.size()) return false;
  if (!std::equal(mine.begin(), mine.end(), theirs.begin())) return false;
  if (theirs.size() == mine.size() && other.include_columns == 0 && !Enforces(other)) {
    // Identical twins: report only the one with the later name.
    return index.stat.name > other.stat.name;
  }
  return true;
}

}  // namespace

std::vector<IndexFinding> FindIndexProblems(const std::vector<IndexReading>& indexes,
                                            const protocol::IndexStatsInfo& stats,
                                            const std::map<uint32_t, double>& writes_per_s,
                                            const std::map<uint32_t, double>& watched_s,
                                            const FindingOptions& options) {
  std::vector<IndexFinding> findings;
  for (const IndexReading& index : indexes) {
    const protocol::IndexStat& s = index.stat;
    if (index.partitioned || index.attached) continue;
    if (!s.valid) {
      if (s.being_built) continue;
      IndexFinding f = Finding(FindingKind::kInvalid, index, writes_per_s);
      f.reason =
          "INVALID index (a failed or interrupted CREATE INDEX CONCURRENTLY): the planner "
          "never uses it" +
          std::string(s.ready ? " but every write still maintains it" : "") +
          "; drop it, or REINDEX INDEX CONCURRENTLY to rebuild it; " +
          Impact(s.size_bytes, f.writes_per_s);
      findings.push_back(std::move(f));
      continue;
    }
    if (Enforces(index)) continue;

    const auto cover = std::find_if(indexes.begin(), indexes.end(),
                                    [&](const IndexReading& o) { return Covers(o, index); });
    if (cover != indexes.end() && index.include_columns == 0) {
      IndexFinding f = Finding(FindingKind::kRedundant, index, writes_per_s);
      f.covered_by = cover->stat.name;
      f.reason = "redundant: " + cover->stat.name +
                 " indexes the same leading columns the same way and serves the same lookups; " +
                 Impact(s.size_bytes, f.writes_per_s);
      findings.push_back(std::move(f));
      continue;
    }

    if (s.scans > 0 || s.size_bytes < options.unused_min_bytes) continue;
    double age = stats.stats_age_s;
    std::string since =
        "statistics since " + stats.stats_since + " (" + stats.stats_since_source + ")";
    if (auto watched = watched_s.find(index.oid);
        watched != watched_s.end() && watched->second < age) {
      age = watched->second;
      since = "watched by the agent (a new index, or counters restarted)";
    }
    if (age < options.unused_min_stats_age_s) {
      IndexFinding f = Finding(FindingKind::kInsufficientHistory, index, writes_per_s);
      f.reason = "not enough history: no scan in " + Days(age) + ", " + since +
                 "; judged unused only after " + Days(options.unused_min_stats_age_s);
      findings.push_back(std::move(f));
      continue;
    }
    IndexFinding f = Finding(FindingKind::kUnused, index, writes_per_s);
    f.reason = "unused: no scan in " + Days(age) + ", " + since +
               " (scans on standbys are not counted here: check them before dropping); " +
               Impact(s.size_bytes, f.writes_per_s);
    findings.push_back(std::move(f));
  }
  return findings;
}

}  // namespace optischema::advisor
