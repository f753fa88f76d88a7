#include "tests/support/pg_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace optischema::testing {
namespace {

namespace fs = std::filesystem;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Whether process `pid` has exited (or is a zombie awaiting its parent) within `timeout`. The
// server removes postmaster.pid just before it exits, so stopping it leaves a short window.
bool ExitsWithin(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field;
    std::string command;
    std::string state;
    if (!(stat >> pid_field >> command >> state) || state == "Z") return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Points TMPDIR at a fresh, empty directory for the lifetime of the object, then restores it and
// removes the directory.
class ScopedTmpdir {
 public:
  ScopedTmpdir() {
    const char* old = std::getenv("TMPDIR");
    had_old_ = old != nullptr;
    if (had_old_) old_ = old;
    std::string path = (fs::temp_directory_path() / "optischema-tmpdir-XXXXXX").string();
    if (mkdtemp(path.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    // The server's system user must be able to reach the cluster directory inside.
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    path_ = path;
    setenv("TMPDIR", path_.c_str(), 1);
  }
  ~ScopedTmpdir() {
    if (had_old_) {
      setenv("TMPDIR", old_.c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
    std::error_code error;
    fs::remove_all(path_, error);
  }
  ScopedTmpdir(const ScopedTmpdir&) = delete;
  ScopedTmpdir& operator=(const ScopedTmpdir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  bool had_old_ = false;
  std::string old_;
  fs::path path_;
};

TEST(PgClusterTest, StartsAndAnswersQueries) {
  const auto cluster = PgCluster::Start();
  EXPECT_EQ(cluster->QueryValue("SELECT 1 + 1"), "2");
  EXPECT_EQ(cluster->QueryValue("SHOW server_version_num").substr(0, 2), "15");
  EXPECT_EQ(cluster->QueryValue("SHOW port"), std::to_string(cluster->port()));
  EXPECT_EQ(cluster->QueryValue("SHOW fsync"), "off");
}

TEST(PgClusterTest, PgStatStatementsIsPreloadedAndTracksUtility) {
  const auto cluster = PgCluster::Start();
  EXPECT_TRUE(Contains(cluster->QueryValue("SHOW shared_preload_libraries"), "pg_stat_statements"));
  EXPECT_EQ(cluster->QueryValue("SHOW pg_stat_statements.track_utility"), "on");
  EXPECT_EQ(cluster->QueryValue("SHOW pg_stat_statements.track"), "top");

  cluster->Exec("CREATE EXTENSION pg_stat_statements");
  cluster->Exec("CREATE TABLE tracked (id int)");
  EXPECT_EQ(cluster->QueryValue("SELECT count(*) FROM pg_stat_statements "
                                "WHERE query LIKE 'CREATE TABLE tracked%'"),
            "1");
}

TEST(PgClusterTest, AppliesCallerSettings) {
  const auto cluster = PgCluster::Start(
      {.settings = {{"pg_stat_statements.max", "100"}, {"application_name", "it's a test"}}});
  EXPECT_EQ(cluster->QueryValue("SHOW pg_stat_statements.max"), "100");
  EXPECT_EQ(cluster->QueryValue("SELECT current_setting('application_name')"), "it's a test");
}

TEST(PgClusterTest, SocketLivesInPrivateTempDirectory) {
  const auto cluster = PgCluster::Start();
  const fs::path dir = cluster->socket_dir();
  const char* tmpdir = std::getenv("TMPDIR");
  EXPECT_TRUE(
      fs::equivalent(dir.parent_path(), tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp"))
      << dir;
  EXPECT_TRUE(dir.filename().string().starts_with("optischema-pg-")) << dir;
  EXPECT_TRUE(fs::is_socket(dir / (".s.PGSQL." + std::to_string(cluster->port()))));
  EXPECT_EQ(cluster->QueryValue("SHOW unix_socket_directories"), dir.string());
  EXPECT_EQ(
      cluster->ConnectionString("db", "me"),
      "host=" + dir.string() + " port=" + std::to_string(cluster->port()) + " dbname=db user=me");
}

TEST(PgClusterTest, TwoClustersRunSideBySideOnDifferentPorts) {
  const auto first = PgCluster::Start();
  const auto second = PgCluster::Start();
  EXPECT_NE(first->port(), second->port());
  EXPECT_NE(first->socket_dir(), second->socket_dir());
  first->Exec("CREATE TABLE only_in_first (id int)");
  EXPECT_EQ(first->QueryValue("SELECT to_regclass('only_in_first') IS NOT NULL"), "t");
  EXPECT_EQ(second->QueryValue("SELECT to_regclass('only_in_first') IS NOT NULL"), "f");
}

TEST(PgClusterTest, RestartKeepsDataAndPort) {
  const auto cluster = PgCluster::Start();
  cluster->Exec("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2), (3)");
  const int port = cluster->port();
  cluster->Restart();
  EXPECT_EQ(cluster->port(), port);
  EXPECT_EQ(cluster->QueryValue("SHOW port"), std::to_string(port));
  EXPECT_EQ(cluster->QueryValue("SELECT sum(id) FROM kept"), "6");
}

TEST(PgClusterTest, DestructionStopsServerAndRemovesDirectory) {
  auto cluster = PgCluster::Start();
  const fs::path dir = cluster->socket_dir();
  std::ifstream pid_file(dir / "data" / "postmaster.pid");
  pid_t postmaster_pid = 0;
  ASSERT_TRUE(pid_file >> postmaster_pid);
  ASSERT_EQ(kill(postmaster_pid, 0), 0);

  cluster.reset();
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(ExitsWithin(postmaster_pid, std::chrono::seconds(10)));
}

TEST(PgClusterTest, QueryReturnsRowsWithNullsAsEmptyStrings) {
  const auto cluster = PgCluster::Start();
  const auto rows = cluster->Query("SELECT * FROM (VALUES (1, 'a'), (2, NULL)) AS t(n, s)");
  const std::vector<std::vector<std::string>> expected = {{"1", "a"}, {"2", ""}};
  EXPECT_EQ(rows, expected);
  EXPECT_THROW(cluster->QueryValue("SELECT 1 WHERE false"), std::runtime_error);
}

TEST(PgClusterTest, ExecReportsServerError) {
  const auto cluster = PgCluster::Start();
  try {
    cluster->Exec("SELECT * FROM no_such_table");
    FAIL() << "Exec did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(Contains(e.what(), "no_such_table")) << e.what();
  }
}

TEST(PgClusterTest, CreatesDatabaseAndRunsPgbench) {
  const auto cluster = PgCluster::Start();
  cluster->CreateDatabase("bench db");
  EXPECT_EQ(cluster->QueryValue("SELECT current_database()", "bench db"), "bench db");

  cluster->Pgbench({"-i", "-s", "1", "-q"}, "bench db");
  const std::string output = cluster->Pgbench({"-c", "2", "-t", "10", "-n"}, "bench db");
  EXPECT_TRUE(Contains(output, "number of transactions actually processed: 20/20")) << output;
  EXPECT_THROW(cluster->Pgbench({"-c", "1", "-t", "1"}, "no_such_db"), std::runtime_error);
}

TEST(PgClusterTest, FailedStartThrowsWithLogAndLeavesNothingBehind) {
  const ScopedTmpdir tmpdir;
  try {
    PgCluster::Start({.settings = {{"shared_buffers", "nonsense"}}});
    FAIL() << "Start did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(Contains(e.what(), "shared_buffers")) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(tmpdir.path()));
}

}  // namespace
}  // namespace optischema::testing
