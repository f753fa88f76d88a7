// The spool's disk fills up while the control plane is down: a small tmpfs mounted as
// state_dir/spool, nearly filled by the test. The agent keeps collecting, counts each snapshot it
// cannot write and reports the count (log, status.json, `health`, heartbeat), leaves no damaged
// or half-written file, and once space returns and the control plane is back, spooling and
// delivery resume. Needs root (or CAP_SYS_ADMIN) for mount(2); without it the test fails and says
// so.

#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>

#include "delivery/spool.h"
#include "tests/reliability/reliability_support.h"
#include "tests/support/agent_command.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A tmpfs of `size` mounted on `path` for the object's lifetime (lazily unmounted).
class TmpfsMount {
 public:
  TmpfsMount(std::string path, const std::string& size) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
    const std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      throw std::runtime_error("cannot mount a " + size + " tmpfs on " + path_ + ": " +
                               std::strerror(errno) +
                               " (this test needs root or CAP_SYS_ADMIN to simulate a full disk)");
    }
  }
  ~TmpfsMount() {
    if (::umount2(path_.c_str(), MNT_DETACH) != 0) {
      std::cerr << "cannot unmount " << path_ << ": " << std::strerror(errno) << "\n";
    }
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

 private:
  std::string path_;
};

std::uint64_t FreeBytes(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

// The snapshots_lost of every heartbeat the control plane stored for `agent_id`, summed.
std::int64_t HeartbeatLosses(const std::string& data_dir, const std::string& agent_id) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((data_dir + "/controlplane.db").c_str(), &db, SQLITE_OPEN_READONLY,
                      nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* statement = nullptr;
  std::int64_t sum = 0;
  if (sqlite3_prepare_v2(db, "SELECT body FROM heartbeats WHERE agent_id = ?1", -1, &statement,
                         nullptr) == SQLITE_OK) {
    sqlite3_bind_text(statement, 1, agent_id.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(statement) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
      const json body = json::parse(text != nullptr ? text : "", nullptr, false);
      if (body.is_object()) sum += body.value("snapshots_lost", std::int64_t{0});
    }
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return sum;
}

TEST(SpoolFullTest, SpoolFullKeepsCollectingCountsTheLossAndResumesWhenSpaceReturns) {
  const std::string dir = MakeScratchDir("reliab-spool");
  auto cluster = PgCluster::Start();
  cluster->Exec("CREATE EXTENSION pg_stat_statements");
  cluster->Exec("CREATE TABLE items (id int PRIMARY KEY, name text)");
  ControlPlaneProcess control_plane;
  control_plane.Start();
  std::ofstream(dir + "/api-key") << control_plane.CreateApiKey() << "\n";
  control_plane.Stop();  // down until the disk has space again

  const std::string state_dir = dir + "/state";
  const std::string spool_dir = state_dir + "/spool";
  std::filesystem::create_directories(state_dir);
  std::unique_ptr<TmpfsMount> mount;
  try {
    mount = std::make_unique<TmpfsMount>(spool_dir, "256k");
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  // Room for a few snapshots only (tmpfs hands out whole pages).
  const std::uint64_t filler_bytes = FreeBytes(spool_dir) - 12 * 1024;
  std::ofstream(spool_dir + "/filler", std::ios::binary) << std::string(filler_bytes, 'f');
  ASSERT_LE(FreeBytes(spool_dir), 16u * 1024);

  AgentSettings settings;
  settings.state_dir = state_dir;
  settings.url = control_plane.base_url();
  settings.ca_file = control_plane.ca_file();
  settings.api_key_file = dir + "/api-key";
  settings.dsn = cluster->ConnectionString();
  settings.extra_agent = "spool_max_bytes = \"64MiB\"\n";
  settings.extra_control_plane = "timeout = \"2s\"\n";
  std::ofstream(dir + "/agent.toml") << AgentToml(settings);
  auto agent = AgentProcess::Start(dir, {AgentToml(settings), {}});
  auto workload = Connect(cluster->ConnectionString());
  int key = 0;
  const auto run_workload = [&] {
    for (int i = 0; i < 5; ++i) {
      RunSql(workload.get(), "SELECT name FROM items WHERE id = " + std::to_string(++key));
    }
  };
  const std::string lost_message = "snapshot could not be written to the spool; it is lost";
  // Collection goes on while nothing can be written.
  ASSERT_TRUE(WaitFor(
      [&] {
        run_workload();
        return LogLines(*agent, lost_message).size() >= 4;
      },
      60s))
      << agent->Log();
  EXPECT_FALSE(agent->WaitExit(0ms).has_value()) << "the agent died\n" << agent->Log();
  const std::vector<json> lost_lines = LogLines(*agent, lost_message);
  EXPECT_NE(lost_lines.front().value("error", "").find("No space left on device"),
            std::string::npos)
      << lost_lines.front().dump();

  // Counted and shown: status.json and `health` (the status file is rewritten every 5 s).
  ASSERT_TRUE(WaitFor(
      [&] {
        std::ifstream in(state_dir + "/status.json");
        const json status = json::parse(in, nullptr, false);
        return status.is_object() && status.value("snapshots_lost", 0) >= 4 &&
               status.value("summary", "").find("snapshots lost (spool not writable)") !=
                   std::string::npos;
      },
      15s));
  const AgentRun health = RunAgent("", "--config " + dir + "/agent.toml health");
  EXPECT_NE(health.out.find("snapshots lost (spool not writable)"), std::string::npos)
      << health.out;

  // Nothing half-written, nothing damaged: every entry left decodes to its snapshot.
  std::size_t entries = 0;
  for (const auto& file : std::filesystem::directory_iterator(spool_dir)) {
    const std::string name = file.path().filename().string();
    EXPECT_FALSE(name.ends_with(".tmp")) << "left behind: " << name;
    if (!name.ends_with(".json.gz")) continue;
    ++entries;
    const std::string id = name.substr(21, name.size() - 21 - 8);
    delivery::SpoolEntry entry{id, std::stoull(name.substr(0, 20)), file.path().string(),
                               static_cast<std::uint64_t>(file.file_size())};
    const delivery::Spool reader(spool_dir);
    const Result<std::string> body = reader.ReadBody(entry);
    ASSERT_TRUE(body.ok()) << name << ": " << body.error().message;
    const json snapshot = json::parse(*body, nullptr, false);
    ASSERT_TRUE(snapshot.is_object()) << name;
    EXPECT_EQ(snapshot.value("snapshot_id", ""), id);
  }
  EXPECT_EQ(entries, SpooledIds(*agent).size());

  // Space returns, then the control plane: spooling and delivery resume.
  std::filesystem::remove(spool_dir + "/filler");
  const std::size_t spooled_with_space = SpooledIds(*agent).size();
  ASSERT_TRUE(WaitFor(
      [&] {
        run_workload();
        return SpooledIds(*agent).size() >= spooled_with_space + 2;
      },
      30s))
      << agent->Log();
  control_plane.Start();
  const std::string agent_id = ReadAgentId(state_dir);
  const std::size_t lost = LogLines(*agent, lost_message).size();
  ASSERT_TRUE(WaitFor(
      [&] {
        return ContainsAll(StoredIds(control_plane, agent_id), SpooledIds(*agent)) &&
               HeartbeatLosses(control_plane.data_dir(), agent_id) >=
                   static_cast<std::int64_t>(lost);
      },
      60s))
      << agent->Log();
  agent->Signal(SIGTERM);
  ASSERT_EQ(agent->WaitExit(10s), std::optional<int>(0)) << agent->Log();
  // Every loss reported once, and none after space returned.
  EXPECT_EQ(LogLines(*agent, lost_message).size(), lost);
  EXPECT_EQ(HeartbeatLosses(control_plane.data_dir(), agent_id), static_cast<std::int64_t>(lost));
  const std::vector<std::string> stored = StoredIds(control_plane, agent_id);
  EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()).size(), stored.size());
  agent.reset();
  mount.reset();
  workload.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace optischema::testing
