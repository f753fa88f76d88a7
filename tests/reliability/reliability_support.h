#pragma once

// Helpers shared by the fault-injection suite: scratch directories, the agent's configuration,
// and reading back what the agent logged (log_format = "json") and what the control plane stored.

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
#include "tests/support/controlplane_process.h"
#include "tests/support/pg_cluster.h"

namespace optischema::testing {

// A fresh directory under $TMPDIR (PostgreSQL runs as "postgres" under root: TMPDIR must be
// searchable by it).
inline std::string MakeScratchDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  std::filesystem::permissions(pattern, std::filesystem::perms(0755));
  return pattern;
}

// What a fault-injection suite shares between its cases: a throwaway cluster with
// pg_stat_statements created, and a running reference control plane with an API key. Each case
// brings its own agent. Destroyed in reverse order: the control plane, then the cluster.
struct SuiteServers {
  std::unique_ptr<PgCluster> cluster;
  std::unique_ptr<ControlPlaneProcess> control_plane;
  std::string api_key;

  // Throws what PgCluster::Start, PgCluster::Exec and ControlPlaneProcess throw.
  static std::unique_ptr<SuiteServers> Start(const PgCluster::Options& options = {}) {
    auto servers = std::make_unique<SuiteServers>();
    servers->cluster = PgCluster::Start(options);
    servers->cluster->Exec("CREATE EXTENSION pg_stat_statements");
    servers->control_plane = std::make_unique<ControlPlaneProcess>();
    servers->control_plane->Start();
    servers->api_key = servers->control_plane->CreateApiKey();
    return servers;
  }
};

struct AgentSettings {
  std::string state_dir;
  std::string url;
  std::string ca_file;
  std::string api_key_file;
  std::string dsn;
  std::string interval = "500ms";
  std::string heartbeat_interval = "1s";
  std::string extra_agent;          // appended to [agent]
  std::string extra_control_plane;  // appended to [control_plane]
  std::string extra_database;       // appended to the [[database]] entry
};

inline std::string AgentToml(const AgentSettings& s) {
  return "[agent]\nstate_dir = \"" + s.state_dir + "\"\ninterval = \"" + s.interval +
         "\"\nheartbeat_interval = \"" + s.heartbeat_interval + "\"\nlog_format = \"json\"\n" +
         s.extra_agent + "[control_plane]\nurl = \"" + s.url + "\"\napi_key_file = \"" +
         s.api_key_file + "\"\nca_file = \"" + s.ca_file + "\"\n" + s.extra_control_plane +
         "[advisor]\nenabled = false\n[[database]]\nname = \"shop\"\n" + "dsn = \"" + s.dsn +
         "\"\n" + s.extra_database;
}

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

inline std::string ReadAgentId(const std::string& state_dir) {
  std::string id;
  std::ifstream(state_dir + "/agent_id") >> id;
  return id;
}

// A libpq connection owned by the test.
using PgConn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
inline PgConn Connect(const std::string& conninfo) {
  PgConn conn(PQconnectdb(conninfo.c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("connect: ") + PQerrorMessage(conn.get()));
  }
  return conn;
}
// Runs `sql`; throws with the server's message when it fails.
inline void RunSql(PGconn* conn, const std::string& sql) {
  const std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn, sql.c_str()), PQclear);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + PQerrorMessage(conn));
  }
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
