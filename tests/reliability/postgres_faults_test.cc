// PostgreSQL misbehaving under a running agent: restarted, its statistics reset with
// pg_stat_statements_reset(), and pg_stat_statements.max at its minimum (100) under a workload of
// far more distinct statements, so entries are evicted all the time. The agent reconnects, keeps
// reading, and never sends a corrupt window: no negative counter, no delta larger than what the
// workload ran, no window spanning the restart.

#include <signal.h>

#include <chrono>
#include <string>

#include "tests/reliability/reliability_support.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class PostgresFaultTest : public ::testing::Test {
 protected:
  // One cluster (pg_stat_statements.max = 100) and one control plane for the suite; each test
  // has its own agent.
  static void SetUpTestSuite() {
    PgCluster::Options options;
    options.settings = {{"pg_stat_statements.max", "100"}};
    servers_ = SuiteServers::Start(options);
    servers_->cluster->Exec("CREATE TABLE items (id int PRIMARY KEY, name text)");
    servers_->cluster->Exec(
        "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g");
  }
  static void TearDownTestSuite() { servers_.reset(); }

  void SetUp() override {
    dir_ = MakeScratchDir("reliab-pg");
    std::ofstream(dir_ + "/api-key") << servers_->api_key << "\n";
    workload_ = std::make_unique<PgConn>(Connect(servers_->cluster->ConnectionString()));
    AgentSettings settings;
    settings.state_dir = dir_ + "/state";
    settings.url = servers_->control_plane->base_url();
    settings.ca_file = servers_->control_plane->ca_file();
    settings.api_key_file = dir_ + "/api-key";
    settings.dsn = servers_->cluster->ConnectionString();
    agent_ = AgentProcess::Start(dir_, {AgentToml(settings), {}});
  }
  void TearDown() override {
    agent_.reset();
    workload_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string AgentId() const { return ReadAgentId(dir_ + "/state"); }
  json Stored() const {
    const std::string id = AgentId();
    return id.empty() ? json::array() : servers_->control_plane->ListSnapshots({"--agent", id});
  }
  std::size_t Baselines() const { return LogLines(*agent_, "baseline taken").size(); }

  void Lookups(int count) {
    for (int i = 0; i < count; ++i) {
      RunSql(workload_->get(), "SELECT name FROM items WHERE id = " + std::to_string(i % 1000 + 1));
      ++executions_;
    }
  }

  // Stops the agent (exit 0 expected) once every snapshot it spooled is stored.
  void DrainAndStop() {
    const std::vector<std::string> spooled = SpooledIds(*agent_);
    ASSERT_TRUE(WaitFor(
        [&] { return ContainsAll(StoredIds(*servers_->control_plane, AgentId()), spooled); }, 60s))
        << agent_->Log();
    agent_->Signal(SIGTERM);
    ASSERT_EQ(agent_->WaitExit(10s), std::optional<int>(0)) << agent_->Log();
  }

  std::string dir_;
  std::unique_ptr<PgConn> workload_;
  std::unique_ptr<AgentProcess> agent_;
  double executions_ = 0;

  static inline std::unique_ptr<SuiteServers> servers_;
};

TEST_F(PostgresFaultTest, RestartUnderTheAgentIsBridgedWithANewBaselineAndSaneWindows) {
  ASSERT_TRUE(WaitFor(
      [&] {
        Lookups(5);
        return Stored().size() >= 2;
      },
      30s))
      << agent_->Log();
  ASSERT_EQ(Baselines(), 1u);
  const std::size_t stored_before = Stored().size();

  workload_.reset();
  servers_->cluster->Restart();
  workload_ = std::make_unique<PgConn>(Connect(servers_->cluster->ConnectionString()));
  // Reconnected: a new baseline, then new windows delivered.
  ASSERT_TRUE(WaitFor(
      [&] {
        Lookups(5);
        return Baselines() >= 2 && Stored().size() >= stored_before + 3;
      },
      30s))
      << agent_->Log();
  EXPECT_FALSE(LogLines(*agent_, "reading failed; retrying").empty()) << agent_->Log();
  EXPECT_FALSE(
      LogLines(*agent_, "database reachable again; the next reading is a new baseline").empty());
  DrainAndStop();

  const json stored = Stored();
  ExpectSaneDeltas(stored, executions_);
  for (const json& snapshot : stored) {
    const double window = snapshot["body"].value("window_s", -1.0);
    // 500 ms readings: a window spanning the outage would be longer than a few intervals.
    EXPECT_GT(window, 0) << snapshot["snapshot_id"];
    EXPECT_LT(window, 5) << snapshot["snapshot_id"];
  }
}

TEST_F(PostgresFaultTest, StatisticsResetIsTakenAsAResetWithoutNegativeOrHugeDeltas) {
  ASSERT_TRUE(WaitFor(
      [&] {
        Lookups(200);
        return Stored().size() >= 2;
      },
      30s))
      << agent_->Log();
  Lookups(500);  // a large cumulative count before the reset
  const std::size_t stored_before = Stored().size();
  ASSERT_TRUE(WaitFor([&] { return Stored().size() >= stored_before + 2; }, 30s));
  servers_->cluster->Exec("SELECT pg_stat_statements_reset()");
  // Three calls after the reset. The window that saw the reset says so; from it on, the lookup
  // counts exactly those three calls: no negative, no pre-reset total, nothing twice.
  Lookups(3);
  const std::string queryid = servers_->cluster->QueryValue(
      "SELECT queryid FROM pg_stat_statements WHERE query LIKE 'SELECT name FROM items WHERE id%'");
  std::size_t reset_at = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        const json stored = Stored();
        for (std::size_t i = 0; i < stored.size(); ++i) {
          if (stored[i]["body"]["server"].value("stats_reset_in_window", false)) {
            reset_at = i;
            return stored.size() >= i + 3;
          }
        }
        return false;
      },
      30s))
      << agent_->Log();
  DrainAndStop();
  const json stored = Stored();
  double calls_since_reset = 0;
  for (std::size_t i = reset_at; i < stored.size(); ++i) {
    for (const json& statement : stored[i]["body"]["statements"]) {
      if (statement.value("queryid", "") == queryid) {
        EXPECT_LE(statement.value("calls", 0.0), 3.0) << statement.dump();
        calls_since_reset += statement.value("calls", 0.0);
      }
    }
  }
  EXPECT_EQ(calls_since_reset, 3.0);
  ExpectSaneDeltas(stored, executions_);
}

TEST_F(PostgresFaultTest, ConstantEvictionKeepsTheAgentWorkingWithSaneDeltasAndCountsDealloc) {
  // 300 distinct statements (IN lists of 1 to 300 constants) per round against room for 100.
  int rounds = 0;
  const auto round = [&] {
    std::string list;
    for (int k = 1; k <= 300; ++k) {
      list += (k == 1 ? "" : ",") + std::to_string(k);
      RunSql(workload_->get(), "SELECT count(*) FROM items WHERE id IN (" + list + ")");
    }
    ++rounds;
  };
  std::int64_t dealloc = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        round();
        dealloc = 0;
        for (const json& snapshot : Stored()) {
          dealloc += snapshot["body"]["server"].value("dealloc_delta", std::int64_t{0});
        }
        return Stored().size() >= 6 && dealloc > 0;
      },
      60s))
      << agent_->Log();
  EXPECT_GT(
      std::stoll(servers_->cluster->QueryValue("SELECT dealloc FROM pg_stat_statements_info")), 0);
  EXPECT_TRUE(LogLines(*agent_, "reading failed; retrying").empty()) << agent_->Log();
  DrainAndStop();
  // Each statement ran once per round: no window can count more calls than rounds.
  ExpectSaneDeltas(Stored(), rounds);
  EXPECT_GT(dealloc, 0);
}

}  // namespace
}  // namespace optischema::testing
