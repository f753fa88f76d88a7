// kill -9 of the agent at 20 points of applying a change: create_index (CREATE INDEX
// CONCURRENTLY), drop_index (DROP INDEX CONCURRENTLY), set_config (ALTER SYSTEM) and a rollback
// requested on the control plane. After each kill the agent is started again. Then: the audit
// chain verifies, no INVALID index is left in the database, the change ended as applied or failed
// (rolled back, for a rollback) and the control plane was told so, and the database agrees with
// what was reported.
//
// Each point is observed from outside the agent, never guessed with a sleep: audit records
// written (state_dir/audit.jsonl), the agent's session in pg_stat_activity (application_name
// optischema-agent: waiting for a lock, or idle between lock-timeout retries), the CREATE INDEX
// CONCURRENTLY phase in pg_stat_progress_create_index, the dropped index turning INVALID, and the
// guard's verify window. Sessions of the test pin the agent where a point is a wait: a transaction
// holding SHARE UPDATE EXCLUSIVE on the table (the agent waits for the table lock), a writer
// transaction (the concurrent build or drop waits for it), a REPEATABLE READ snapshot (the build
// waits for old snapshots). Points defined by an audit record alone are held open by a lock holder
// where one can hold them; for set_config nothing can (ALTER SYSTEM takes no table lock), so the
// kill lands somewhere after the record and the outcome must be consistent wherever it lands. No
// hook inside the agent is needed.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>

#include "applier/index_name.h"
#include "tests/reliability/reliability_support.h"
#include "tests/support/agent_command.h"
#include "tests/support/apply_observer.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

enum class Change { kCreateIndex, kDropIndex, kSetConfig, kRollback };
enum class Pin {
  kNone,
  kTableLock,          // SHARE UPDATE EXCLUSIVE on orders: the agent's DDL waits for the lock
  kWriter,             // a writer transaction: a concurrent build or drop waits for it
  kTwoWriters,         // a second writer joins while the build waits for the first
  kWriterAndSnapshot,  // an old REPEATABLE READ snapshot joins while the build waits
};
enum class Point {
  kAuditStep,        // the `step` audit record of the change is written
  kLockWait,         // the agent's DDL waits for the table lock
  kRetryPause,       // the DDL hit the lock timeout; the agent pauses before trying again
  kBuildPhase,       // pg_stat_progress_create_index shows `phase`
  kDropInvalidated,  // the index being dropped is INVALID; the drop waits for transactions
  kGuardWindow,      // applied and reported; the guard waits out its verify window
};

struct KillPoint {
  const char* name;
  Change change;
  Pin pin;
  Point point;
  const char* detail;  // the audit step (kAuditStep) or the build phase (kBuildPhase)
};

void PrintTo(const KillPoint& p, std::ostream* out) { *out << p.name; }

constexpr char kTargetIndex[] = "orders_status_idx";

// Rows of `sql` as text, through the cluster's own connection per call.
class ApplyKillTest : public ::testing::TestWithParam<KillPoint> {
 protected:
  static void SetUpTestSuite() {
    servers_ = SuiteServers::Start();
    servers_->cluster->Exec(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, status text);"
        "INSERT INTO orders SELECT g, g % 5000, 'done' FROM generate_series(1, 100000) g;"
        "ANALYZE orders");
    public_key_ = servers_->control_plane->InitKeys();
  }
  static void TearDownTestSuite() {
    public_key_.clear();
    servers_.reset();
  }

  void SetUp() override {
    dir_ = MakeScratchDir("reliab-kill");
    std::ofstream(dir_ + "/api-key") << servers_->api_key << "\n";
    AgentSettings settings;
    settings.state_dir = dir_ + "/state";
    settings.url = servers_->control_plane->base_url();
    settings.ca_file = servers_->control_plane->ca_file();
    settings.api_key_file = dir_ + "/api-key";
    settings.dsn = servers_->cluster->ConnectionString();
    settings.interval = "5s";
    settings.extra_control_plane =
        "recommendations_interval = \"500ms\"\nrecommendation_public_key = \"" + public_key_ +
        "\"\n";
    settings.extra_database = "apply = true\n";
    config_ = AgentToml(settings);
    std::ofstream(dir_ + "/agent.toml") << config_;
    agent_ = AgentProcess::Start(dir_, {config_, {}});
    ASSERT_TRUE(WaitFor(
        [&] {
          agent_id_ = ReadAgentId(dir_ + "/state");
          if (agent_id_.empty()) return false;
          for (const json& a : servers_->control_plane->ListAgents()) {
            if (a.value("agent_id", "") == agent_id_) return true;
          }
          return false;
        },
        20s))
        << agent_->Log();
  }

  void TearDown() override {
    holders_.clear();
    if (agent_) {
      agent_->Signal(SIGTERM);
      agent_->WaitExit(10s);
      agent_.reset();
    }
    // Back to the starting state for the next point.
    for (const auto& row : servers_->cluster->Query(
             "SELECT quote_ident(relname) FROM pg_class WHERE relname LIKE 'optischema%'")) {
      servers_->cluster->Exec("DROP INDEX IF EXISTS " + row[0]);
    }
    servers_->cluster->Exec("DROP INDEX IF EXISTS " + std::string(kTargetIndex));
    servers_->cluster->Exec("ALTER SYSTEM RESET random_page_cost");
    servers_->cluster->Exec("SELECT pg_reload_conf()");
    std::filesystem::remove_all(dir_);
  }

  std::string Recommend(const json& spec, const std::string& kind, const json& queryids,
                        int verify_window_s) {
    const json rec = {{"agent_id", agent_id_},
                      {"database", "shop"},
                      {"kind", kind},
                      {"spec", spec},
                      {"affected_queryids", queryids},
                      {"guard",
                       {{"verify_window_s", verify_window_s},
                        {"max_regression_pct", 1000},
                        {"auto_rollback", false}}}};
    const std::string id = servers_->control_plane->Recommend(rec);
    servers_->control_plane->Approve(id);
    return id;
  }

  std::string Status(const std::string& id) const {
    for (const json& rec : servers_->control_plane->ListRecommendations({"--agent", agent_id_})) {
      if (rec.value("id", "") == id) return rec.value("status", "");
    }
    return "";
  }

  // What the agent wrote to its audit log and runs on the server (tests/support/apply_observer.h).
  std::vector<std::string> Steps(const std::string& id) const {
    return AuditSteps(dir_ + "/state", id);
  }
  bool HasStep(const std::string& id, const std::string& step) const {
    return HasAuditStep(dir_ + "/state", id, step);
  }
  std::string LastOutcome(const std::string& id) const {
    return LastAuditOutcome(dir_ + "/state", id);
  }
  std::vector<std::vector<std::string>> AgentDdl(bool idle_too = false) const {
    return AgentDdlSessions(*servers_->cluster, idle_too);
  }

  PGconn* Hold(const std::string& sql) {
    holders_.push_back(Connect(servers_->cluster->ConnectionString()));
    RunSql(holders_.back().get(), sql);
    return holders_.back().get();
  }

  bool Reached(const KillPoint& p, const std::string& id) {
    switch (p.point) {
      case Point::kAuditStep:
        return HasStep(id, p.detail);
      case Point::kLockWait:
        for (const auto& row : AgentDdl()) {
          if (row[1] == "active" && row[2] == "Lock") return true;
        }
        return false;
      case Point::kRetryPause:
        // After a lock timeout the agent drops what the attempt may have left, then pauses: its
        // session sits idle after that DROP INDEX CONCURRENTLY IF EXISTS.
        for (const auto& row : AgentDdl(/*idle_too=*/true)) {
          if (row[1] == "idle" &&
              row[3].find("INDEX CONCURRENTLY IF EXISTS") != std::string::npos) {
            return true;
          }
        }
        return false;
      case Point::kBuildPhase:
        return !servers_->cluster
                    ->Query("SELECT 1 FROM pg_stat_progress_create_index WHERE phase = '" +
                            std::string(p.detail) + "'")
                    .empty();
      case Point::kDropInvalidated:
        return !servers_->cluster
                    ->Query(
                        "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                        "WHERE NOT i.indisvalid")
                    .empty() &&
               !AgentDdl().empty();
      case Point::kGuardWindow:
        return HasStep(id, "applied") && Status(id) == "applied";
    }
    return false;
  }

  std::string dir_;
  std::string config_;
  std::string agent_id_;
  std::unique_ptr<AgentProcess> agent_;
  std::vector<PgConn> holders_;

  static inline std::unique_ptr<SuiteServers> servers_;
  static inline std::string public_key_;
};

TEST_P(ApplyKillTest, KilledAgentRestartsWithAVerifiedAuditNoInvalidIndexAndAReportedOutcome) {
  const KillPoint& p = GetParam();
  const json customer_index = {
      {"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}};
  // A statement for the guard to watch.
  servers_->cluster->Exec("SELECT count(*) FROM orders WHERE customer_id = 7");
  const json queryids = p.point == Point::kGuardWindow
                            ? json::array({std::stoll(servers_->cluster->QueryValue(
                                  "SELECT queryid FROM pg_stat_statements WHERE query LIKE "
                                  "'SELECT count(*) FROM orders WHERE customer_id%' LIMIT 1"))})
                            : json::array();
  const int verify_window_s = p.point == Point::kGuardWindow ? 600 : 1;

  std::string applied_before;  // a rollback undoes this change, applied before the fault
  if (p.change == Change::kRollback) {
    applied_before = Recommend(customer_index, "create_index", json::array(), 1);
    ASSERT_TRUE(WaitFor([&] { return Status(applied_before) == "applied"; }, 60s)) << agent_->Log();
  }
  if (p.change == Change::kDropIndex) {
    servers_->cluster->Exec("CREATE INDEX " + std::string(kTargetIndex) + " ON orders (status)");
  }

  PGconn* first_writer = nullptr;
  switch (p.pin) {
    case Pin::kNone:
      break;
    case Pin::kTableLock:
      Hold("BEGIN; LOCK TABLE orders IN SHARE UPDATE EXCLUSIVE MODE");
      break;
    case Pin::kWriter:
    case Pin::kTwoWriters:
    case Pin::kWriterAndSnapshot:
      first_writer = Hold("BEGIN; UPDATE orders SET status = 'held' WHERE id = 1");
      break;
  }

  std::string id;
  switch (p.change) {
    case Change::kCreateIndex:
      id = Recommend(customer_index, "create_index", queryids, verify_window_s);
      break;
    case Change::kDropIndex:
      id = Recommend({{"schema", "public"}, {"index", kTargetIndex}}, "drop_index", queryids,
                     verify_window_s);
      break;
    case Change::kSetConfig:
      id = Recommend({{"name", "random_page_cost"}, {"value", "1.1"}}, "set_config", queryids,
                     verify_window_s);
      break;
    case Change::kRollback:
      id = applied_before;
      ASSERT_EQ(servers_->control_plane
                    ->Run({"rollback", "--data", servers_->control_plane->data_dir(), id})
                    .exit_code,
                0);
      break;
  }
  if (p.pin == Pin::kTwoWriters || p.pin == Pin::kWriterAndSnapshot) {
    // While the build waits for the first writer, a second transaction starts; then the first
    // ends, and the build moves on to wait for the second.
    ASSERT_TRUE(WaitFor(
        [&] {
          return !servers_->cluster
                      ->Query(
                          "SELECT 1 FROM pg_stat_progress_create_index WHERE phase = "
                          "'waiting for writers before build'")
                      .empty();
        },
        60s))
        << agent_->Log();
    Hold(p.pin == Pin::kTwoWriters
             ? "BEGIN; UPDATE orders SET status = 'held' WHERE id = 2"
             : "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class");
    RunSql(first_writer, "COMMIT");
  }

  ASSERT_TRUE(WaitFor([&] { return Reached(p, id); }, 60s, 20ms))
      << "point not reached; steps: " << json(Steps(id)).dump() << "\n"
      << agent_->Log();
  std::set<std::string> orphans;
  for (const auto& row : AgentDdl()) orphans.insert(row[0]);
  agent_->Signal(SIGKILL);
  ASSERT_EQ(agent_->WaitExit(10s), std::optional<int>(128 + SIGKILL));
  const std::string killed_log = agent_->Log();

  agent_ = AgentProcess::Start(dir_, {config_, {}});
  // The restarted agent stops what its predecessor left running on the server; then the test's
  // sessions let go.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& row : AgentDdl()) {
          if (orphans.contains(row[0])) return false;
        }
        return true;
      },
      30s))
      << "orphaned statements still run: " << json(AgentDdl()).dump() << "\n"
      << agent_->Log();
  holders_.clear();

  const std::set<std::string> final_statuses = p.change == Change::kRollback
                                                   ? std::set<std::string>{"rolled_back"}
                                                   : std::set<std::string>{"applied", "failed"};
  ASSERT_TRUE(WaitFor(
      [&] {
        return final_statuses.contains(Status(id)) && Status(id) == LastOutcome(id) &&
               AgentDdl().empty();
      },
      60s))
      << "status " << Status(id) << ", audit " << json(Steps(id)).dump() << "\n"
      << killed_log << "\n--- restarted ---\n"
      << agent_->Log();
  const std::string outcome = Status(id);
  RecordProperty("outcome", outcome);
  RecordProperty("audit_steps", json(Steps(id)).dump());

  const AgentRun verified = RunAgent("", "--config " + dir_ + "/agent.toml audit verify");
  EXPECT_EQ(verified.status, 0) << verified.out << verified.err;
  EXPECT_EQ(servers_->cluster->QueryValue("SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
            "0");

  // The database agrees with the reported outcome.
  const std::string our_index = applier::IndexNameForRecommendation(id);
  const auto index_count = [&](const std::string& name) {
    return servers_->cluster->QueryValue("SELECT count(*) FROM pg_class WHERE relname = '" + name +
                                         "'");
  };
  switch (p.change) {
    case Change::kCreateIndex:
      EXPECT_EQ(index_count(our_index), outcome == "applied" ? "1" : "0") << outcome;
      break;
    case Change::kDropIndex:
      EXPECT_EQ(index_count(kTargetIndex), outcome == "applied" ? "0" : "1") << outcome;
      break;
    case Change::kSetConfig:
      // Applied: in postgresql.auto.conf and in force. Failed: not even waiting in the file for
      // the next reload.
      EXPECT_EQ(servers_->cluster->QueryValue("SELECT count(*) FROM pg_file_settings WHERE name = "
                                              "'random_page_cost' AND sourcefile LIKE "
                                              "'%postgresql.auto.conf'"),
                outcome == "applied" ? "1" : "0")
          << outcome;
      if (outcome == "applied") {
        EXPECT_EQ(servers_->cluster->QueryValue("SHOW random_page_cost"), "1.1");
      }
      break;
    case Change::kRollback:
      EXPECT_EQ(index_count(our_index), "0");
      break;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Points, ApplyKillTest,
    ::testing::Values(
        KillPoint{"CreateIndexAfterReceived", Change::kCreateIndex, Pin::kTableLock,
                  Point::kAuditStep, "received"},
        KillPoint{"CreateIndexAfterVerified", Change::kCreateIndex, Pin::kTableLock,
                  Point::kAuditStep, "verified"},
        KillPoint{"CreateIndexAfterStarted", Change::kCreateIndex, Pin::kTableLock,
                  Point::kAuditStep, "started"},
        KillPoint{"CreateIndexWaitingForTheTableLock", Change::kCreateIndex, Pin::kTableLock,
                  Point::kLockWait, ""},
        KillPoint{"CreateIndexBetweenLockTimeoutRetries", Change::kCreateIndex, Pin::kTableLock,
                  Point::kRetryPause, ""},
        KillPoint{"CreateIndexWaitingForWritersBeforeBuild", Change::kCreateIndex, Pin::kWriter,
                  Point::kBuildPhase, "waiting for writers before build"},
        KillPoint{"CreateIndexWaitingForWritersBeforeValidation", Change::kCreateIndex,
                  Pin::kTwoWriters, Point::kBuildPhase, "waiting for writers before validation"},
        KillPoint{"CreateIndexWaitingForOldSnapshots", Change::kCreateIndex,
                  Pin::kWriterAndSnapshot, Point::kBuildPhase, "waiting for old snapshots"},
        KillPoint{"CreateIndexAfterApplied", Change::kCreateIndex, Pin::kNone, Point::kAuditStep,
                  "applied"},
        KillPoint{"CreateIndexDuringTheGuardWindow", Change::kCreateIndex, Pin::kNone,
                  Point::kGuardWindow, ""},
        KillPoint{"DropIndexAfterReceived", Change::kDropIndex, Pin::kTableLock, Point::kAuditStep,
                  "received"},
        KillPoint{"DropIndexAfterStarted", Change::kDropIndex, Pin::kTableLock, Point::kAuditStep,
                  "started"},
        KillPoint{"DropIndexWaitingForTheTableLock", Change::kDropIndex, Pin::kTableLock,
                  Point::kLockWait, ""},
        KillPoint{"DropIndexAfterTheIndexTurnedInvalid", Change::kDropIndex, Pin::kWriter,
                  Point::kDropInvalidated, ""},
        KillPoint{"DropIndexAfterApplied", Change::kDropIndex, Pin::kNone, Point::kAuditStep,
                  "applied"},
        KillPoint{"SetConfigAfterReceived", Change::kSetConfig, Pin::kNone, Point::kAuditStep,
                  "received"},
        KillPoint{"SetConfigDuringTheGuardWindow", Change::kSetConfig, Pin::kNone,
                  Point::kGuardWindow, ""},
        KillPoint{"RollbackWaitingForTheTableLock", Change::kRollback, Pin::kTableLock,
                  Point::kLockWait, ""},
        KillPoint{"RollbackAfterTheIndexTurnedInvalid", Change::kRollback, Pin::kWriter,
                  Point::kDropInvalidated, ""},
        KillPoint{"RollbackAfterRolledBack", Change::kRollback, Pin::kNone, Point::kAuditStep,
                  "rolled_back"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

}  // namespace
}  // namespace optischema::testing
