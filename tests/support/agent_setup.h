#pragma once

// Setting up an agent daemon against a throwaway cluster and the reference control plane:
// scratch directories, the servers a suite shares, the agent's configuration, and libpq
// connections a test holds itself (to hold a lock or a snapshot while the agent works).

#include <libpq-fe.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

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

// What a suite shares between its cases: a throwaway cluster with pg_stat_statements created, and
// a running reference control plane with an API key. Each case brings its own agent. Destroyed in
// reverse order: the control plane, then the cluster.
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

// The agent's configuration: JSON logs, the advisor off, one database named "shop".
inline std::string AgentToml(const AgentSettings& s) {
  return "[agent]\nstate_dir = \"" + s.state_dir + "\"\ninterval = \"" + s.interval +
         "\"\nheartbeat_interval = \"" + s.heartbeat_interval + "\"\nlog_format = \"json\"\n" +
         s.extra_agent + "[control_plane]\nurl = \"" + s.url + "\"\napi_key_file = \"" +
         s.api_key_file + "\"\nca_file = \"" + s.ca_file + "\"\n" + s.extra_control_plane +
         "[advisor]\nenabled = false\n[[database]]\nname = \"shop\"\n" + "dsn = \"" + s.dsn +
         "\"\n" + s.extra_database;
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

}  // namespace optischema::testing
