#pragma once

// Reading a real server with the collector: a session factory for a DSN, workloads of repeated
// statements, the snapshot invariants every reading must keep, and the anonymized texts the
// collector sent, to find a statement of a snapshot by its text.

#include <cstdint>
#include <map>
#include <string>

#include "collector/collector.h"
#include "protocol/snapshot.h"

namespace optischema::testing {

// Connects a read-only session to `dsn` each time it is called.
collector::SessionFactory SessionFactoryFor(const std::string& dsn);

// `sql_with_n` `n` times as one multi-statement string, "{}" replaced by 1..n.
std::string RepeatStatement(const std::string& sql_with_n, int n);

// Adds a gtest failure for every negative counter, time share or mean of the snapshot's
// statements, and of its remainder when nothing was sampled.
void ExpectNoNegativeCounter(const protocol::Snapshot& snapshot);

// Takes snapshots from a collector and keeps every text it sent (a text is sent only the first
// time a statement appears), so that later snapshots can be searched by text too.
class SnapshotTexts {
 public:
  // collector.Collect(); adds a gtest failure and returns an empty snapshot when it fails or
  // returns a baseline.
  protocol::Snapshot Take(collector::Collector& collector);

  // The statement of `snapshot` whose anonymized text is `text`, or null.
  const protocol::StatementMetrics* ByText(const protocol::Snapshot& snapshot,
                                           const std::string& text) const;

  // Every text seen, one per line with its queryid, for failure messages.
  std::string Describe() const;

  const std::map<int64_t, std::string>& texts() const { return texts_; }

 private:
  std::map<int64_t, std::string> texts_;
};

}  // namespace optischema::testing
