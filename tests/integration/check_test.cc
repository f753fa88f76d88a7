// `optischema-agent check` as a user runs it, against a real PostgreSQL 15 and the reference
// control plane: a good setup is all OK, and each broken piece gives its FAIL line with the fix.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/agent_check.h"
#include "tests/support/agent_command.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/pg_cluster.h"

namespace optischema::testing {
namespace {

using nlohmann::json;

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "check-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void StartCluster(const PgCluster::Options& options = {}) {
    cluster_ = PgCluster::Start(options);
  }

  // Writes the configuration and runs `check --format json` (tests/support/agent_check.h).
  CheckRun Check(const std::string& dsn, const std::string& control_plane_url,
                 const std::string& api_key, const std::string& ca_file, bool apply = false) {
    return RunCheck({.dir = dir_,
                     .dsn = dsn,
                     .control_plane_url = control_plane_url,
                     .api_key = api_key,
                     .ca_file = ca_file,
                     .apply = apply});
  }

  CheckRun CheckWithControlPlane(const std::string& dsn, bool apply = false) {
    return Check(dsn, control_plane_->base_url(), api_key_, control_plane_->ca_file(), apply);
  }

  void StartControlPlane() {
    control_plane_ = std::make_unique<ControlPlaneProcess>();
    control_plane_->Start();
    api_key_ = control_plane_->CreateApiKey();
  }

  static json Item(const CheckRun& run, const std::string& check) { return CheckItem(run, check); }
  static std::string Statuses(const CheckRun& run) { return CheckStatuses(run); }

  std::string dir_;
  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<ControlPlaneProcess> control_plane_;
  std::string api_key_;
};

TEST_F(CheckTest, GoodSetupIsAllOkAndExitsZero) {
  StartCluster();
  // The documented role (docs/database-setup.md): not a superuser, pg_monitor, and what
  // set_config runs.
  cluster_->Exec(
      "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg; CREATE ROLE agent LOGIN; "
      "GRANT pg_monitor TO agent; GRANT ALTER SYSTEM ON PARAMETER work_mem, random_page_cost TO "
      "agent; GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO agent; GRANT SELECT ON "
      "pg_catalog.pg_file_settings TO agent; GRANT EXECUTE ON FUNCTION "
      "pg_catalog.pg_show_all_file_settings() TO agent");
  StartControlPlane();
  const CheckRun run =
      CheckWithControlPlane(cluster_->ConnectionString("postgres", "agent"), /*apply=*/true);
  ASSERT_TRUE(run.items.is_array()) << run.items.dump();
  EXPECT_EQ(run.status, 0) << Statuses(run);
  for (const json& item : run.items) {
    // apply = true without a recommendation key is the one expected warning here.
    if (item["check"] == "recommendation_public_key") continue;
    EXPECT_EQ(item["status"], "OK") << item.dump();
  }
  for (const char* check :
       {"config", "state_dir", "connection", "shared_preload_libraries", "pg_stat_statements",
        "privileges", "superuser", "hypopg", "standby", "index_privileges", "schema_privileges",
        "alter_system", "control_plane", "api_key", "clock"}) {
    EXPECT_TRUE(Item(run, check).is_object()) << check << "\n" << Statuses(run);
  }
}

TEST_F(CheckTest, MissingSharedPreloadLibrariesFailsWithTheFix) {
  StartCluster({{{"shared_preload_libraries", ""}}});
  StartControlPlane();
  const CheckRun run = CheckWithControlPlane(cluster_->ConnectionString());
  EXPECT_EQ(run.status, 1);
  const json item = Item(run, "shared_preload_libraries");
  ASSERT_TRUE(item.is_object()) << Statuses(run);
  EXPECT_EQ(item["status"], "FAIL");
  EXPECT_NE(item["fix"].get<std::string>().find("shared_preload_libraries = 'pg_stat_statements'"),
            std::string::npos)
      << item.dump();
  EXPECT_NE(item["fix"].get<std::string>().find("restart"), std::string::npos);
  // The extension is not installed either (CREATE EXTENSION needs the library loaded).
  EXPECT_EQ(Item(run, "pg_stat_statements")["status"], "FAIL");
}

TEST_F(CheckTest, RoleWithoutPgMonitorFailsWithTheGrant) {
  StartCluster();
  cluster_->Exec(
      "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg; CREATE ROLE plain LOGIN");
  StartControlPlane();
  const CheckRun run = CheckWithControlPlane(cluster_->ConnectionString("postgres", "plain"));
  EXPECT_EQ(run.status, 1);
  const json item = Item(run, "privileges");
  ASSERT_TRUE(item.is_object()) << Statuses(run);
  EXPECT_EQ(item["status"], "FAIL");
  EXPECT_EQ(item["fix"], "GRANT pg_monitor TO plain;");

  cluster_->Exec("GRANT pg_monitor TO plain");
  EXPECT_EQ(Item(CheckWithControlPlane(cluster_->ConnectionString("postgres", "plain")),
                 "privileges")["status"],
            "OK");
}

TEST_F(CheckTest, ApplyRoleWithoutOwnershipOrSchemaCreateGetsTheGrants) {
  StartCluster();
  cluster_->Exec(
      "CREATE EXTENSION pg_stat_statements; CREATE TABLE orders (id int);"
      "CREATE ROLE applier LOGIN; GRANT pg_monitor TO applier");
  StartControlPlane();
  const CheckRun run =
      CheckWithControlPlane(cluster_->ConnectionString("postgres", "applier"), /*apply=*/true);
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(Item(run, "index_privileges")["status"], "FAIL") << Statuses(run);
  const json schema = Item(run, "schema_privileges");
  EXPECT_EQ(schema["status"], "WARN") << Statuses(run);
  EXPECT_EQ(schema["fix"], "GRANT CREATE ON SCHEMA public TO applier;");
  EXPECT_EQ(Item(run, "alter_system")["status"], "WARN");

  cluster_->Exec("ALTER TABLE orders OWNER TO applier; GRANT CREATE ON SCHEMA public TO applier");
  const CheckRun granted =
      CheckWithControlPlane(cluster_->ConnectionString("postgres", "applier"), /*apply=*/true);
  EXPECT_EQ(Item(granted, "index_privileges")["status"], "OK") << Statuses(granted);
  EXPECT_EQ(Item(granted, "schema_privileges")["status"], "OK");
}

TEST_F(CheckTest, WrongApiKeyFailsWithTheFix) {
  StartCluster();
  cluster_->Exec("CREATE EXTENSION pg_stat_statements");
  StartControlPlane();
  const CheckRun run = Check(cluster_->ConnectionString(), control_plane_->base_url(),
                             "not-the-key", control_plane_->ca_file());
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(Item(run, "control_plane")["status"], "OK") << Statuses(run);
  const json item = Item(run, "api_key");
  ASSERT_TRUE(item.is_object()) << Statuses(run);
  EXPECT_EQ(item["status"], "FAIL");
  EXPECT_NE(item["message"].get<std::string>().find("HTTP 401"), std::string::npos);
  EXPECT_NE(item["fix"].get<std::string>().find("api-keys create"), std::string::npos);
  // The key itself never appears in the output.
  EXPECT_EQ(run.items.dump().find("not-the-key"), std::string::npos);
}

TEST_F(CheckTest, UnreachableControlPlaneOrUntrustedCertificateFailsWithTheFix) {
  StartCluster();
  cluster_->Exec("CREATE EXTENSION pg_stat_statements");
  StartControlPlane();
  const std::string url = control_plane_->base_url();
  control_plane_->Stop();
  const CheckRun down =
      Check(cluster_->ConnectionString(), url, api_key_, control_plane_->ca_file());
  EXPECT_EQ(down.status, 1);
  const json item = Item(down, "control_plane");
  ASSERT_TRUE(item.is_object()) << Statuses(down);
  EXPECT_EQ(item["status"], "FAIL");
  EXPECT_NE(item["fix"].get<std::string>().find("outbound HTTPS"), std::string::npos)
      << item.dump();

  control_plane_->Start();
  const CheckRun untrusted =
      Check(cluster_->ConnectionString(), url, api_key_, control_plane_->wrong_ca_file());
  EXPECT_EQ(untrusted.status, 1);
  const json tls = Item(untrusted, "control_plane");
  EXPECT_EQ(tls["status"], "FAIL");
  EXPECT_NE(tls["fix"].get<std::string>().find("ca_file"), std::string::npos) << tls.dump();
}

TEST_F(CheckTest, UnreachableDatabaseAndBadConfigFailWithoutCrashing) {
  StartControlPlane();
  const CheckRun run = CheckWithControlPlane("host=127.0.0.1 port=1 dbname=x connect_timeout=2");
  EXPECT_EQ(run.status, 1);
  const json item = Item(run, "connection");
  ASSERT_TRUE(item.is_object()) << Statuses(run);
  EXPECT_EQ(item["status"], "FAIL");
  EXPECT_NE(item["fix"].get<std::string>().find("listens"), std::string::npos);
  EXPECT_EQ(Item(run, "api_key")["status"], "OK");  // the other checks still run

  std::ofstream(dir_ + "/agent.toml") << "[agent]\ninterval = \"thirty\"\n";
  const AgentRun bad = RunAgent("", "--config " + dir_ + "/agent.toml check");
  EXPECT_EQ(bad.status, 1);
  const std::string first = bad.out.substr(0, bad.out.find('\n'));
  EXPECT_NE(first.find("FAIL  config: "), std::string::npos) << first;
  EXPECT_NE(first.find("agent.interval"), std::string::npos) << first;
}

}  // namespace
}  // namespace optischema::testing
