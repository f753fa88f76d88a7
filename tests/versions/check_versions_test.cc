// `optischema-agent check` on each PostgreSQL major of the version matrix
// (OPTISCHEMA_TEST_PG_MAJOR), with the role docs/database-setup.md describes and the reference
// control plane: it passes, and says what the server lacks.

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/agent_check.h"
#include "tests/support/agent_setup.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/pg_cluster.h"

namespace optischema::testing {
namespace {

using nlohmann::json;

TEST(CheckVersionsTest, DocumentedSetupPassesAndTheItemsNameWhatThisMajorLacks) {
  const auto cluster = PgCluster::Start();
  cluster->Exec(
      "CREATE EXTENSION pg_stat_statements; CREATE ROLE agent LOGIN; "
      "GRANT pg_monitor TO agent");
  if (cluster->has_hypopg()) cluster->Exec("CREATE EXTENSION hypopg");
  // What set_config runs; a non-superuser may use ALTER SYSTEM from PostgreSQL 15 on.
  if (cluster->major() >= 15) {
    cluster->Exec(
        "GRANT ALTER SYSTEM ON PARAMETER work_mem, random_page_cost TO agent; GRANT EXECUTE ON "
        "FUNCTION pg_catalog.pg_reload_conf() TO agent; GRANT SELECT ON "
        "pg_catalog.pg_file_settings TO agent; GRANT EXECUTE ON FUNCTION "
        "pg_catalog.pg_show_all_file_settings() TO agent");
  }
  ControlPlaneProcess control_plane;
  control_plane.Start();
  const std::string dir = MakeScratchDir("versions-check");
  const CheckRun run = RunCheck({.dir = dir,
                                 .dsn = cluster->ConnectionString("postgres", "agent"),
                                 .control_plane_url = control_plane.base_url(),
                                 .api_key = control_plane.CreateApiKey(),
                                 .ca_file = control_plane.ca_file(),
                                 .apply = true});
  ASSERT_TRUE(run.items.is_array()) << run.items.dump();
  EXPECT_EQ(run.status, 0) << CheckStatuses(run);
  const std::string version = "PostgreSQL " + std::to_string(cluster->major()) + ".";
  EXPECT_NE(CheckItem(run, "connection").value("message", "").find(version), std::string::npos)
      << CheckStatuses(run);
  for (const json& item : run.items) {
    const std::string check = item.value("check", "");
    // apply = true without a recommendation key is a warning on every major.
    if (check == "recommendation_public_key") continue;
    if (check == "hypopg" && !cluster->has_hypopg()) {
      EXPECT_EQ(item["status"], "WARN") << item.dump();
      EXPECT_NE(
          item.value("fix", "").find("postgresql-" + std::to_string(cluster->major()) + "-hypopg"),
          std::string::npos)
          << item.dump();
      continue;
    }
    if (check == "alter_system" && cluster->major() < 15) {
      EXPECT_EQ(item["status"], "WARN") << item.dump();
      EXPECT_NE(item.value("message", "").find("before PostgreSQL 15"), std::string::npos)
          << item.dump();
      continue;
    }
    EXPECT_EQ(item["status"], "OK") << item.dump();
  }
  for (const char* check :
       {"config", "state_dir", "connection", "shared_preload_libraries", "pg_stat_statements",
        "privileges", "superuser", "hypopg", "standby", "index_privileges", "schema_privileges",
        "alter_system", "control_plane", "api_key", "clock"}) {
    EXPECT_TRUE(CheckItem(run, check).is_object()) << check << "\n" << CheckStatuses(run);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace optischema::testing
