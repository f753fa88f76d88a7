#include "tests/support/collector_readings.h"

#include <gtest/gtest.h>

namespace optischema::testing {

collector::SessionFactory SessionFactoryFor(const std::string& dsn) {
  return [dsn]() {
    pg::ConnectOptions options;
    options.dsn = dsn;
    return pg::ConnectLibpq(options);
  };
}

std::string RepeatStatement(const std::string& sql_with_n, int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) {
    std::string s = sql_with_n;
    if (auto pos = s.find("{}"); pos != std::string::npos) s.replace(pos, 2, std::to_string(i));
    out += s + ";\n";
  }
  return out;
}

void ExpectNoNegativeCounter(const protocol::Snapshot& snapshot) {
  for (const auto& s : snapshot.statements) {
    protocol::ForEachCounter(
        [&](const char* name, const auto& v) {
          EXPECT_GE(v, 0) << name << " of queryid " << s.queryid;
        },
        s.window);
    EXPECT_GE(s.time_pct, 0);
    EXPECT_GE(s.mean_exec_time_ms, 0);
  }
  if (!snapshot.sampling.applied) {
    protocol::ForEachCounter(
        [&](const char* name, const auto& v) { EXPECT_GE(v, -1e-6) << "remainder " << name; },
        snapshot.remainder.window);
  }
}

protocol::Snapshot SnapshotTexts::Take(collector::Collector& collector) {
  auto r = collector.Collect();
  if (!r.ok()) {
    ADD_FAILURE() << r.error().ToString();
    return {};
  }
  if (!r->has_value()) {
    ADD_FAILURE() << "expected a snapshot, got a baseline";
    return {};
  }
  for (const auto& s : (*r)->statements) {
    if (s.include_text && s.text) texts_[s.queryid] = *s.text;
  }
  return **r;
}

const protocol::StatementMetrics* SnapshotTexts::ByText(const protocol::Snapshot& snapshot,
                                                        const std::string& text) const {
  for (const auto& s : snapshot.statements) {
    auto it = texts_.find(s.queryid);
    if (it != texts_.end() && it->second == text) return &s;
  }
  return nullptr;
}

std::string SnapshotTexts::Describe() const {
  std::string out;
  for (const auto& [id, text] : texts_) out += "  " + std::to_string(id) + ": " + text + "\n";
  return out;
}

}  // namespace optischema::testing
