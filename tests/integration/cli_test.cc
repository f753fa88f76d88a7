// The optischema-agent executable, as a user runs it.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/support/agent_command.h"
#include "tests/support/pg_cluster.h"

namespace {

using optischema::testing::AgentRun;
using optischema::testing::PgCluster;
using optischema::testing::RunAgent;

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

TEST(AgentCli, VersionPrintsTheVersion) {
  AgentRun r = RunAgent("", "version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("optischema-agent ", 0), 0u) << r.out;
}

TEST(AgentCli, AdvisePrintsFindingsAndProposalsAsJsonAndRefusesAnUnknownDatabase) {
  auto cluster = PgCluster::Start();
  cluster->Exec(
      "CREATE EXTENSION pg_stat_statements; CREATE TABLE t (a int, b int);"
      "CREATE INDEX t_a ON t (a); CREATE INDEX t_a_b ON t (a, b)");
  char state_template[] = "/tmp/optischema-cli-XXXXXX";
  ASSERT_NE(mkdtemp(state_template), nullptr);
  const std::string state_dir = std::string(state_template) + "/state";
  const std::string env = "OPTISCHEMA_DATABASE_URL=" + Quoted(cluster->ConnectionString()) +
                          " OPTISCHEMA_STATE_DIR=" + Quoted(state_dir);
  AgentRun r = RunAgent(env, "advise --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["database"], "default");
  EXPECT_EQ(j[0]["index_findings"][0]["index"], "t_a");
  EXPECT_EQ(j[0]["index_findings"][0]["kind"], "redundant");
  EXPECT_EQ(j[0]["advisor"]["hypopg"], false);
  EXPECT_NE(j[0]["advisor"]["notes"][0].get<std::string>().find("CREATE EXTENSION hypopg"),
            std::string::npos);

  AgentRun table = RunAgent(env, "advise");
  EXPECT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("redundant"), std::string::npos) << table.out;

  AgentRun unknown = RunAgent(env, "advise --database nope");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("no configured database is named \"nope\""), std::string::npos)
      << unknown.err;
  std::filesystem::remove_all(state_template);
}

// `advise` computes table digests with the daemon's key: made in state_dir when missing (0600 in
// a 0700 directory), the same digests on every run; with an unreadable key none at all.
TEST(AgentCli, AdviseKeysTableDigestsWithTheStateDirKeyOrComputesNone) {
  auto cluster = PgCluster::Start();
  cluster->Exec("CREATE EXTENSION pg_stat_statements; CREATE TABLE t (a int DEFAULT 7)");
  char state_template[] = "/tmp/optischema-cli-XXXXXX";
  ASSERT_NE(mkdtemp(state_template), nullptr);
  const std::string state_dir = std::string(state_template) + "/state";
  const std::string env = "OPTISCHEMA_DATABASE_URL=" + Quoted(cluster->ConnectionString()) +
                          " OPTISCHEMA_STATE_DIR=" + Quoted(state_dir);
  const auto digest_of_t = [&](const AgentRun& run) {
    return nlohmann::json::parse(run.out)[0]["schema"]["digests"].value("public.t", "");
  };
  AgentRun first = RunAgent(env, "advise --format json");
  ASSERT_EQ(first.status, 0) << first.err;
  const std::string key_file = state_dir + "/digest_key";
  ASSERT_TRUE(std::filesystem::exists(key_file));
  EXPECT_EQ(std::filesystem::file_size(key_file), 32u);
  EXPECT_EQ(std::filesystem::status(key_file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(std::filesystem::status(state_dir).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  const std::string digest = digest_of_t(first);
  EXPECT_EQ(digest.size(), 32u) << first.out;
  AgentRun again = RunAgent(env, "advise --format json");
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(digest_of_t(again), digest);

  // A key file that is not a key: no digest, and the reason on stderr.
  std::ofstream(key_file, std::ios::trunc) << "short";
  AgentRun broken = RunAgent(env, "advise --format json");
  ASSERT_EQ(broken.status, 0) << broken.err;
  EXPECT_EQ(digest_of_t(broken), "");
  EXPECT_NE(broken.err.find("table digests not computed"), std::string::npos) << broken.err;
  std::filesystem::remove_all(state_template);
}

TEST(AgentCli, DryRunPrintsProtocolV1SnapshotJson) {
  auto cluster = PgCluster::Start();
  cluster->Exec("CREATE EXTENSION pg_stat_statements; CREATE TABLE t (id int PRIMARY KEY)");
  // What the snapshot counts is covered by collector_pg_test; here: the shape a user gets.
  const std::string env = "OPTISCHEMA_DATABASE_URL=" + Quoted(cluster->ConnectionString());
  AgentRun r = RunAgent(env, "collect --dry-run --window 1 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto snap = nlohmann::json::parse(r.out);
  for (const char* field : {"protocol", "snapshot_id", "database", "collected_at", "window_s",
                            "server", "kpis", "statements", "remainder", "sampling"}) {
    EXPECT_TRUE(snap.contains(field)) << field;
  }
  EXPECT_EQ(snap["database"], "default");
  EXPECT_EQ(snap["protocol"], "1.0");
  EXPECT_GE(snap["window_s"].get<double>(), 1.0);
}

TEST(AgentCli, TableFormatShowsTheHeaderAndTopStatements) {
  auto cluster = PgCluster::Start();
  cluster->Exec("CREATE EXTENSION pg_stat_statements");
  const std::string env = "OPTISCHEMA_DATABASE_URL=" + Quoted(cluster->ConnectionString());
  AgentRun r = RunAgent(env, "collect --dry-run --window 1 --format table");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("database default"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("calls"), std::string::npos) << r.out;
}

TEST(AgentCli, BadConfigValueExitsTwoNamingFileLineAndKey) {
  const std::string path =
      ::testing::TempDir() + "/bad_agent." + std::to_string(getpid()) + ".toml";
  {
    std::ofstream f(path);
    f << "[agent]\ninterval = \"thirty\"\n\n[[database]]\nname = \"main\"\ndsn = \"\"\n";
  }
  AgentRun r = RunAgent("", "--config " + path + " collect --dry-run");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(path + ":2: agent.interval"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("thirty"), std::string::npos) << r.err;
}

TEST(AgentCli, NoConfigurationAtAllExitsTwoWithTheFix) {
  AgentRun r = RunAgent("", "collect --dry-run");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("OPTISCHEMA_DATABASE_URL"), std::string::npos) << r.err;
}

TEST(AgentCli, UnreachableDatabaseExitsOneWithAClearMessage) {
  AgentRun r =
      RunAgent("OPTISCHEMA_DATABASE_URL='host=127.0.0.1 port=1 dbname=x connect_timeout=2'",
               "collect --dry-run --window 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("database \"default\": cannot connect to database"), std::string::npos)
      << r.err;
}

TEST(AgentCli, UnknownDatabaseNameExitsTwo) {
  AgentRun r =
      RunAgent("OPTISCHEMA_DATABASE_URL='host=/nonexistent'", "collect --dry-run --database nope");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no configured database is named \"nope\""), std::string::npos) << r.err;
}

}  // namespace
