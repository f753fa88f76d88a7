#pragma once

// Helpers shared by the fault-injection suite: reading back what the agent logged (log_format =
// "json") and what the control plane stored. Scratch directories, the suite's servers and the
// agent's configuration are in tests/support/agent_setup.h.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/agent_setup.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/pg_cluster.h"

namespace optischema::testing {

// Log lines of the agent whose "msg" is `message` (all lines when empty), oldest first.
inline std::vector<nlohmann::json> LogLines(const AgentProcess& agent,
                                            const std::string& message = "") {
  std::vector<nlohmann::json> lines;
  for (nlohmann::json& line : agent.JsonLog()) {
    if (message.empty() || line.value("msg", "") == message) lines.push_back(std::move(line));
  }
  return lines;
}

// Snapshot ids the agent logged as spooled, in order.
inline std::vector<std::string> SpooledIds(const AgentProcess& agent) {
  std::vector<std::string> ids;
  for (const nlohmann::json& line : LogLines(agent, "snapshot spooled")) {
    ids.push_back(line.value("snapshot_id", ""));
  }
  return ids;
}

// Snapshot ids the control plane stored for `agent_id`, in the order it stored them.
inline std::vector<std::string> StoredIds(const ControlPlaneProcess& control_plane,
                                          const std::string& agent_id) {
  std::vector<std::string> ids;
  for (const nlohmann::json& s : control_plane.ListSnapshots({"--agent", agent_id})) {
    ids.push_back(s.value("snapshot_id", ""));
  }
  return ids;
}

// Whether every id of `wanted` is in `have`.
inline bool ContainsAll(const std::vector<std::string>& have,
                        const std::vector<std::string>& wanted) {
  const std::set<std::string> set(have.begin(), have.end());
  for (const std::string& id : wanted) {
    if (!set.contains(id)) return false;
  }
  return true;
}

// Entries waiting in a spool directory (bad/ not counted).
inline std::size_t SpoolEntries(const std::string& spool_dir) {
  std::size_t count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(spool_dir, ec)) {
    if (entry.path().string().ends_with(".json.gz")) ++count;
  }
  return count;
}

// Every statement counter of every stored snapshot is zero or more, and no delta is absurd
// (more calls in one window than `max_calls`). The remainder may be negative by design.
inline void ExpectSaneDeltas(const nlohmann::json& snapshots, double max_calls) {
  for (const nlohmann::json& snapshot : snapshots) {
    for (const nlohmann::json& statement : snapshot["body"]["statements"]) {
      for (const auto& [key, value] : statement.items()) {
        if (value.is_number()) {
          EXPECT_GE(value.get<double>(), 0) << key << " in " << snapshot["snapshot_id"];
        }
      }
      EXPECT_LE(statement.value("calls", 0.0), max_calls) << statement.dump();
    }
  }
}

}  // namespace optischema::testing
