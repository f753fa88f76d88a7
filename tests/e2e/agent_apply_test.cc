// Applying end to end: the reference control plane signs an approved recommendation, the agent
// daemon verifies and applies it to a real PostgreSQL 15, audits every step, reports the outcome,
// and `optischema-agent rollback` undoes it. Bad recommendations are refused and reported, and
// nothing of theirs runs.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "tests/support/agent_command.h"
#include "tests/support/agent_process.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Runs the agent binary with `args` and the test's configuration to completion.
AgentRun RunAgentCommand(const std::string& dir, const std::string& args) {
  return RunAgent("", "--config " + dir + "/agent.toml " + args);
}

class AgentApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "apply-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cluster_ = PgCluster::Start();
    cluster_->Exec("CREATE EXTENSION pg_stat_statements");
    cluster_->Exec(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, status text, payload text);"
        "INSERT INTO orders SELECT g, g % 5000, 'done', repeat('x', 80) FROM "
        "generate_series(1, 200000) g; ANALYZE orders");
    if (as_table_owner_) {
      // The documented setup for planning and index changes: not a superuser, sees every role's
      // statements, owns the table it indexes.
      cluster_->Exec(
          "CREATE ROLE shop_owner LOGIN; GRANT pg_monitor TO shop_owner;"
          "GRANT CREATE ON SCHEMA public TO shop_owner; ALTER TABLE orders OWNER TO shop_owner");
      agent_dsn_ = cluster_->ConnectionString("postgres", "shop_owner");
    } else {
      agent_dsn_ = cluster_->ConnectionString();
    }
    workload_.reset(PQconnectdb(cluster_->ConnectionString().c_str()));
    ASSERT_EQ(PQstatus(workload_.get()), CONNECTION_OK);
    control_plane_ = std::make_unique<ControlPlaneProcess>();
    control_plane_->Start();
    std::ofstream(dir_ + "/api-key") << control_plane_->CreateApiKey() << "\n";
    public_key_ = control_plane_->InitKeys();
    agent_ = AgentProcess::Start(dir_, {Config(), {}});
    ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ + "/state/agent_id"); }, 20s));
    std::ifstream(dir_ + "/state/agent_id") >> agent_id_;
    ASSERT_TRUE(WaitFor([&] { return !control_plane_->ListAgents().empty(); }, 20s))
        << agent_->Log();
  }

  void TearDown() override {
    agent_.reset();
    control_plane_.reset();
    workload_.reset();
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Config() const {
    return "[agent]\nstate_dir = \"" + dir_ +
           "/state\"\ninterval = \"1s\"\nlog_format = \"json\"\n" + "[control_plane]\nurl = \"" +
           control_plane_->base_url() + "\"\napi_key_file = \"" + dir_ +
           "/api-key\"\nca_file = \"" + control_plane_->ca_file() +
           "\"\nrecommendations_interval = \"1s\"\nrecommendation_public_key = \"" + public_key_ +
           "\"\n[[database]]\nname = \"shop\"\ndsn = \"" + agent_dsn_ +
           "\"\napply = true\n" + extra_config_;
  }

  // The mean time of `sql`'s statement over `runs` executions, from pg_stat_statements.
  double MeanMs(const std::string& sql, int runs) {
    const auto totals = [&] {
      const std::string row = cluster_->QueryValue(
          "SELECT coalesce(sum(calls), 0) || ' ' || coalesce(sum(total_exec_time), 0) FROM "
          "pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM orders WHERE customer_id%'");
      const auto space = row.find(' ');
      return std::pair(std::stod(row.substr(0, space)), std::stod(row.substr(space + 1)));
    };
    const auto before = totals();
    for (int i = 0; i < runs; ++i) {
      PQclear(PQexec(workload_.get(), (sql + std::to_string(i % 5000)).c_str()));
    }
    const auto after = totals();
    return (after.second - before.second) / (after.first - before.first);
  }

  // Stores a recommendation through the control plane's CLI; approves it unless told not to.
  std::string Recommend(const json& spec, const std::string& kind = "create_index",
                        bool approve = true) {
    const json rec = {
        {"agent_id", agent_id_},
        {"database", "shop"},
        {"kind", kind},
        {"spec", spec},
        {"affected_queryids", json::array()},
        {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 10}, {"auto_rollback", false}}}};
    const std::string id = control_plane_->Recommend(rec);
    if (approve) control_plane_->Approve(id);
    return id;
  }

  json Recommendation(const std::string& id) const {
    for (const json& rec : control_plane_->ListRecommendations()) {
      if (rec["id"] == id) return rec;
    }
    return json();
  }

  std::string Status(const std::string& id) const {
    const json rec = Recommendation(id);
    return rec.is_object() ? rec.value("status", "") : "";
  }

  // Changes the stored recommendation as a compromised server or a middlebox could.
  void Tamper(const std::string& id, const std::string& from, const std::string& to) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((control_plane_->data_dir() + "/controlplane.db").c_str(), &db),
              SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    const std::string sql =
        "UPDATE recommendations SET status = 'approved', body = replace(body, '" + from + "', '" +
        to + "') WHERE id = '" + id + "'";
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  std::string IndexCount() const {
    return cluster_->QueryValue("SELECT count(*) FROM pg_indexes WHERE tablename = 'orders'");
  }

  std::string dir_;
  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<PGconn, decltype(&PQfinish)> workload_{nullptr, PQfinish};
  std::unique_ptr<ControlPlaneProcess> control_plane_;
  std::unique_ptr<AgentProcess> agent_;
  std::string public_key_;
  std::string agent_id_;
  std::string extra_config_;  // appended to Config(); set by a derived fixture's constructor
  // Set by a derived fixture's constructor: the agent connects as the non-superuser owner of
  // orders instead of postgres (the agent plans nothing as a superuser).
  bool as_table_owner_ = false;
  std::string agent_dsn_;
};

TEST_F(AgentApplyTest, ApprovedIndexIsAppliedAuditedReportedAndRolledBack) {
  const std::string query = "SELECT count(*) FROM orders WHERE customer_id = ";
  const double before_ms = MeanMs(query, 30);
  const std::string id =
      Recommend({{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}});
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "applied"; }, 60s)) << agent_->Log();
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = "
                                 "i.indexrelid WHERE c.relname LIKE 'optischema%' AND "
                                 "i.indisvalid"),
            "1");
  const double after_ms = MeanMs(query, 30);
  EXPECT_LT(after_ms, before_ms / 2) << "before " << before_ms << " ms, after " << after_ms;
  RecordProperty("mean_ms_before", std::to_string(before_ms));
  RecordProperty("mean_ms_after", std::to_string(after_ms));

  const AgentRun verified = RunAgentCommand(dir_, "audit verify");
  EXPECT_EQ(verified.status, 0) << verified.out;
  // The audit records reached the control plane too.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto listed =
            control_plane_->Run({"audit", "list", "--data", control_plane_->data_dir(), "--json"});
        return listed.exit_code == 0 && listed.out.find("\"applied\"") != std::string::npos;
      },
      20s));

  agent_->Signal(SIGTERM);
  ASSERT_EQ(agent_->WaitExit(10s), std::optional<int>(0));
  const AgentRun rolled_back = RunAgentCommand(dir_, "rollback " + id);
  EXPECT_EQ(rolled_back.status, 0) << rolled_back.out;
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname LIKE 'optischema%'"),
            "0");
  const AgentRun audit = RunAgentCommand(dir_, "audit list --json");
  ASSERT_EQ(audit.status, 0);
  const json records = json::parse(audit.out);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["step"], "rolled_back");
  EXPECT_EQ(RunAgentCommand(dir_, "audit verify").status, 0);
}

TEST_F(AgentApplyTest, BadRecommendationsAreRefusedReportedAndNothingOfTheirsRuns) {
  const std::string indexes_before = IndexCount();
  const std::string hostile = Recommend(
      {{"schema", "public"}, {"table", "x\"; DROP TABLE orders; --"}, {"columns", {"id"}}});
  const std::string function_where = Recommend({{"schema", "public"},
                                                {"table", "orders"},
                                                {"columns", {"status"}},
                                                {"where", "lower(status) = 'open'"}});
  const std::string tampered = Recommend(
      {{"schema", "public"}, {"table", "orders"}, {"columns", {"payload"}}}, "create_index",
      /*approve=*/false);
  control_plane_->Approve(tampered);
  Tamper(tampered, "\"payload\"", "\"status\"");
  for (const std::string& id : {hostile, function_where, tampered}) {
    ASSERT_TRUE(WaitFor([&] { return Status(id) == "rejected"; }, 60s))
        << id << ": " << Status(id) << "\n"
        << agent_->Log();
    const json rec = Recommendation(id);
    EXPECT_FALSE(rec["last_event"].value("detail", "").empty()) << rec.dump();
  }
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM orders"), "200000");
  EXPECT_EQ(IndexCount(), indexes_before);
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_stat_statements WHERE query ILIKE "
                                 "'%DROP TABLE%' OR query ILIKE '%lower(status)%' OR query "
                                 "ILIKE 'CREATE%INDEX%'"),
            "0");

  // An applied recommendation served again is not run again: the agent reports its outcome.
  const std::string good =
      Recommend({{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}});
  ASSERT_TRUE(WaitFor([&] { return Status(good) == "applied"; }, 60s)) << agent_->Log();
  const std::string indexes_applied = IndexCount();
  Tamper(good, "x", "x");
  ASSERT_TRUE(WaitFor([&] { return Status(good) != "approved"; }, 60s)) << agent_->Log();
  EXPECT_EQ(Status(good), "applied");
  EXPECT_EQ(IndexCount(), indexes_applied);
  EXPECT_EQ(RunAgentCommand(dir_, "audit verify").status, 0);
}

}  // namespace
}  // namespace optischema::testing

namespace optischema::testing {
namespace {

TEST_F(AgentApplyTest, GuardedChangeThatSlowsTheStatementIsRolledBackAutomatically) {
  // A primary-key lookup: an index scan, until a random_page_cost that makes every index look
  // too expensive turns it into a sequential scan of 200000 rows.
  int key = 0;
  const auto run_lookup = [&] {
    const std::string sql = "SELECT payload FROM orders WHERE id = " + std::to_string(++key % 1000);
    PQclear(PQexec(workload_.get(), sql.c_str()));
  };
  for (int i = 0; i < 50; ++i) run_lookup();
  const std::string queryid = cluster_->QueryValue(
      "SELECT queryid FROM pg_stat_statements WHERE query LIKE 'SELECT payload FROM orders WHERE "
      "id =%'");
  const json rec = {
      {"agent_id", agent_id_},
      {"database", "shop"},
      {"kind", "set_config"},
      {"spec", {{"name", "random_page_cost"}, {"value", "1000000"}}},
      {"affected_queryids", {std::stoll(queryid)}},
      {"guard", {{"verify_window_s", 3}, {"max_regression_pct", 10}, {"auto_rollback", true}}}};
  const std::string id = control_plane_->Recommend(rec);
  control_plane_->Approve(id);

  // The workload keeps running while the guard watches.
  ASSERT_TRUE(WaitFor(
      [&] {
        run_lookup();
        return Status(id) == "rolled_back";
      },
      90s))
      << Status(id) << "\n"
      << agent_->Log();
  EXPECT_EQ(cluster_->QueryValue("SHOW random_page_cost"), "4");
  bool regressed = false;
  const json audit = json::parse(RunAgentCommand(dir_, "audit list --json").out);
  for (const json& record : audit) regressed = regressed || record["step"] == "regressed";
  EXPECT_TRUE(regressed) << audit.dump();
}

}  // namespace
}  // namespace optischema::testing

namespace optischema::testing {
namespace {

TEST_F(AgentApplyTest, AgentKilledMidBuildLeavesNoInvalidIndexAfterRestart) {
  // A writer keeps its transaction open, so CREATE INDEX CONCURRENTLY waits with its INVALID
  // index already in the catalog.
  std::unique_ptr<PGconn, decltype(&PQfinish)> holder(
      PQconnectdb(cluster_->ConnectionString().c_str()), PQfinish);
  PQclear(PQexec(holder.get(), "BEGIN"));
  PQclear(PQexec(holder.get(), "UPDATE orders SET status = 'held' WHERE id = 1"));
  const std::string id =
      Recommend({{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}});
  const std::string building =
      "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE%INDEX CONCURRENTLY%' AND "
      "pid <> pg_backend_pid()";
  const std::string invalid = "SELECT count(*) FROM pg_index WHERE NOT indisvalid";
  ASSERT_TRUE(WaitFor(
      [&] { return cluster_->QueryValue(building) == "1" && cluster_->QueryValue(invalid) == "1"; },
      60s))
      << agent_->Log();

  agent_->Signal(SIGKILL);
  ASSERT_EQ(agent_->WaitExit(10s), std::optional<int>(128 + SIGKILL));
  agent_ = AgentProcess::Start(dir_, {Config(), {}});
  // At start the agent stops its orphaned build; its INVALID index can go once the writer ends.
  ASSERT_TRUE(WaitFor([&] { return cluster_->QueryValue(building) == "0"; }, 30s)) << agent_->Log();
  PQclear(PQexec(holder.get(), "ROLLBACK"));
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "failed"; }, 60s)) << Status(id) << "\n"
                                                                    << agent_->Log();
  EXPECT_EQ(cluster_->QueryValue(invalid), "0");
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname LIKE 'optischema%'"),
            "0");
  EXPECT_EQ(RunAgentCommand(dir_, "audit verify").status, 0);
  const json audit = json::parse(RunAgentCommand(dir_, "audit list --json").out);
  bool recovered = false;
  for (const json& record : audit) recovered = recovered || record["step"] == "recovered";
  EXPECT_TRUE(recovered) << audit.dump();
}

}  // namespace
}  // namespace optischema::testing

namespace optischema::testing {
namespace {

TEST_F(AgentApplyTest, NothingStartsOutsideTheMaintenanceWindow) {
  agent_->Signal(SIGTERM);
  ASSERT_EQ(agent_->WaitExit(10s), std::optional<int>(0));
  // A one-hour window twelve hours from now.
  const auto now = std::chrono::system_clock::now();
  const auto hour =
      std::chrono::duration_cast<std::chrono::hours>(now.time_since_epoch() % std::chrono::days(1))
          .count();
  const int start = static_cast<int>((hour + 12) % 24);
  char window[64];
  std::snprintf(window, sizeof window, "daily %02d:00-%02d:00 UTC", start, start + 1);
  agent_ = AgentProcess::Start(
      dir_, {Config() + "maintenance_window = \"" + std::string(window) + "\"\n", {}});
  const std::string id =
      Recommend({{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}});
  ASSERT_TRUE(WaitFor(
      [&] { return agent_->Log().find("waits for the maintenance window") != std::string::npos; },
      30s))
      << agent_->Log();
  EXPECT_EQ(Status(id), "approved");  // not taken: still there for when the window opens
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname LIKE 'optischema%'"),
            "0");
}

}  // namespace
}  // namespace optischema::testing

namespace optischema::testing {
namespace {

TEST_F(AgentApplyTest, RollbackRequestedOnTheControlPlaneIsCarriedOut) {
  const std::string id =
      Recommend({{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}});
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "applied"; }, 60s)) << agent_->Log();
  ASSERT_EQ(control_plane_->Run({"rollback", "--data", control_plane_->data_dir(), id}).exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "rolled_back"; }, 60s)) << Status(id) << "\n"
                                                                         << agent_->Log();
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname LIKE 'optischema%'"),
            "0");
  EXPECT_EQ(RunAgentCommand(dir_, "audit verify").status, 0);
}

}  // namespace
}  // namespace optischema::testing

namespace optischema::testing {
namespace {

// A misbehaving server: the stored columns say "serve it to this agent, it has not expired", the
// signed body says otherwise. The agent goes by the signed body.
TEST_F(AgentApplyTest, RollbackRequestedWhileTheGuardWatchesRunsAtOnce) {
  // A guard watching for 15 minutes, as on the advisor's own proposals.
  PQclear(PQexec(workload_.get(), "SELECT count(*) FROM orders WHERE customer_id = 7"));
  const std::string queryid = cluster_->QueryValue(
      "SELECT queryid FROM pg_stat_statements WHERE query LIKE "
      "'SELECT count(*) FROM orders WHERE customer_id%' LIMIT 1");
  ASSERT_FALSE(queryid.empty());
  const json rec = {
      {"agent_id", agent_id_},
      {"database", "shop"},
      {"kind", "create_index"},
      {"spec", {{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}}},
      {"affected_queryids", json::array({std::stoll(queryid)})},
      {"guard", {{"verify_window_s", 900}, {"max_regression_pct", 20}, {"auto_rollback", true}}}};
  const std::string id = control_plane_->Recommend(rec);
  control_plane_->Approve(id);
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "applied"; }, 60s)) << agent_->Log();
  ASSERT_EQ(control_plane_->Run({"rollback", "--data", control_plane_->data_dir(), id}).exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "rolled_back"; }, 60s))
      << Status(id) << "\n"
      << agent_->Log();
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname LIKE 'optischema%'"),
            "0");
  EXPECT_NE(agent_->Log().find("guard stopped watching: a rollback was requested"),
            std::string::npos);
}

TEST_F(AgentApplyTest, ExpiredOrForeignRecommendationServedByMistakeIsRefused) {
  agent_->Signal(SIGTERM);
  ASSERT_EQ(agent_->WaitExit(10s), std::optional<int>(0));
  const json spec = {{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}};
  // For another agent.
  const std::string foreign_agent = "11111111-2222-4333-8444-555555555555";
  const std::string saved_agent = agent_id_;
  agent_id_ = foreign_agent;
  const std::string foreign = Recommend(spec);
  agent_id_ = saved_agent;
  // Expiring two seconds from now.
  const auto expires = std::chrono::system_clock::now() + 2s;
  const std::time_t t = std::chrono::system_clock::to_time_t(expires);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  const json rec = {
      {"agent_id", agent_id_},
      {"database", "shop"},
      {"kind", "create_index"},
      {"spec", spec},
      {"affected_queryids", json::array()},
      {"expires_at", stamp},
      {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 10}, {"auto_rollback", false}}}};
  const std::string expiring = control_plane_->Recommend(rec);
  control_plane_->Approve(expiring);
  ASSERT_TRUE(WaitFor([&] { return std::chrono::system_clock::now() > expires + 1s; }, 10s));
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((control_plane_->data_dir() + "/controlplane.db").c_str(), &db),
              SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    const std::string sql = "UPDATE recommendations SET agent_id = '" + agent_id_ +
                            "', expires_at = '2099-01-01T00:00:00.000Z' WHERE id IN ('" + foreign +
                            "', '" + expiring + "')";
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  agent_ = AgentProcess::Start(dir_, {Config(), {}});
  const auto rejected_with = [&](const std::string& id, const std::string& reason) {
    return WaitFor(
        [&] {
          const json r = Recommendation(id);
          return r.is_object() && r.value("status", "") == "rejected" &&
                 r["last_event"].value("detail", "").find(reason) != std::string::npos;
        },
        60s);
  };
  EXPECT_TRUE(rejected_with(foreign, "another agent")) << Recommendation(foreign).dump();
  EXPECT_TRUE(rejected_with(expiring, "expired")) << Recommendation(expiring).dump();
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname LIKE 'optischema%'"),
            "0");
}

}  // namespace
}  // namespace optischema::testing

namespace optischema::testing {
namespace {

// Rewrites are planned, and the agent plans nothing as a superuser.
class AgentRewriteTest : public AgentApplyTest {
 protected:
  AgentRewriteTest() { as_table_owner_ = true; }
};

TEST_F(AgentRewriteTest, RewriteIsEvaluatedAndItsAdoptionTracked) {
  const auto run = [&](const std::string& sql) { PQclear(PQexec(workload_.get(), sql.c_str())); };
  for (int i = 0; i < 5; ++i) run("SELECT * FROM orders WHERE id = " + std::to_string(i));
  const std::string queryid = cluster_->QueryValue(
      "SELECT queryid FROM pg_stat_statements WHERE query LIKE 'SELECT * FROM orders WHERE id%'");
  const json rec = {
      {"agent_id", agent_id_},
      {"database", "shop"},
      {"kind", "rewrite"},
      {"spec",
       {{"original", "SELECT * FROM orders WHERE id = $1"},
        {"rewritten", "SELECT payload FROM orders WHERE id = $1"}}},
      {"affected_queryids", {std::stoll(queryid)}},
      {"guard", {{"verify_window_s", 3}, {"max_regression_pct", 10}, {"auto_rollback", false}}}};
  const std::string id = control_plane_->Recommend(rec);
  control_plane_->Approve(id);
  // The application switches to the rewritten query.
  int key = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        run("SELECT payload FROM orders WHERE id = " + std::to_string(++key % 100));
        const json r = Recommendation(id);
        if (!r.is_object() || !r["last_event"].is_object()) return false;
        const std::string detail = r["last_event"].value("detail", "");
        return detail.find("rewritten") != std::string::npos &&
               detail.find("calls") != std::string::npos;
      },
      60s))
      << Recommendation(id).dump() << "\n"
      << agent_->Log();
  const std::string detail = Recommendation(id)["last_event"].value("detail", "");
  EXPECT_NE(detail.find("original 0 calls"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("rewritten 0 calls"), std::string::npos) << detail;
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM orders"), "200000");
}

// The advisor runs every second here, with HypoPG installed.
class AgentAdvisorTest : public AgentApplyTest {
 protected:
  AgentAdvisorTest() {
    extra_config_ = "[advisor]\ninterval = \"1s\"\n";
    as_table_owner_ = true;
  }
};

TEST_F(AgentAdvisorTest, ProposalIsListedApprovedAppliedAndAudited) {
  cluster_->Exec("CREATE EXTENSION hypopg");
  for (int i = 0; i < 20; ++i) {
    PQclear(
        PQexec(workload_.get(),
               ("SELECT count(*) FROM orders WHERE customer_id = " + std::to_string(i)).c_str()));
  }
  json proposal;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const json& rec : control_plane_->ListRecommendations()) {
          if (rec.value("source", "") == "agent" && rec.value("kind", "") == "create_index") {
            proposal = rec;
            return true;
          }
        }
        return false;
      },
      60s))
      << agent_->Log();
  EXPECT_EQ(proposal["status"], "proposed");
  EXPECT_NE(proposal.value("reason", "").find("customer_id"), std::string::npos) << proposal.dump();
  const std::string id = proposal["id"];
  EXPECT_EQ(IndexCount(), "1");  // nothing happens before a person approves

  control_plane_->Approve(id);
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "applied"; }, 60s)) << Status(id) << "\n"
                                                                     << agent_->Log();
  EXPECT_NE(cluster_
                ->QueryValue("SELECT indexdef FROM pg_indexes WHERE indexname LIKE "
                             "'optischema%'")
                .find("(customer_id)"),
            std::string::npos);
  EXPECT_EQ(cluster_->QueryValue("SELECT bool_and(i.indisvalid)::text FROM pg_index i JOIN "
                                 "pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE "
                                 "'optischema%'"),
            "true");
  const AgentRun verified = RunAgentCommand(dir_, "audit verify");
  EXPECT_EQ(verified.status, 0) << verified.out;
  // The applied index now serves the statement: the agent proposes it no more.
  const std::size_t proposals_after_apply = control_plane_->ListRecommendations().size();
  const std::size_t spooled = control_plane_->ListSnapshots().size();
  ASSERT_TRUE(WaitFor([&] { return control_plane_->ListSnapshots().size() >= spooled + 3; }, 30s));
  EXPECT_EQ(control_plane_->ListRecommendations().size(), proposals_after_apply);
}

}  // namespace
}  // namespace optischema::testing

namespace optischema::testing {
namespace {

// The vacuum advisor's loop: a table with a million dead tuples and autovacuum off for it gives a
// set_table_options proposal; approved and signed, it is applied and audited, and a rollback
// requested on the control plane restores the table's exact previous options.
TEST_F(AgentAdvisorTest, DeadTupleProposalIsAppliedAuditedAndRolledBackToThePreviousOptions) {
  cluster_->Exec(
      "CREATE TABLE events (id bigint, payload text) WITH (autovacuum_enabled = false, "
      "fillfactor = 90); ALTER TABLE events OWNER TO shop_owner; "
      "INSERT INTO events SELECT g, 'x' FROM generate_series(1, 1000000) g; DELETE FROM events; "
      "SELECT pg_stat_force_next_flush()");
  const std::string before = cluster_->QueryValue(
      "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'events'");
  ASSERT_EQ(before, "autovacuum_enabled=false,fillfactor=90");
  json proposal;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const json& rec : control_plane_->ListRecommendations()) {
          if (rec.value("source", "") == "agent" && rec.value("kind", "") == "set_table_options") {
            proposal = rec;
            return true;
          }
        }
        return false;
      },
      90s, 500ms))
      << agent_->Log();
  EXPECT_EQ(proposal["status"], "proposed");
  const std::string id = proposal["id"];

  control_plane_->Approve(id);
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "applied"; }, 60s, 500ms))
      << Status(id) << "\n"
      << agent_->Log();
  const std::string applied = cluster_->QueryValue(
      "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'events'");
  EXPECT_NE(applied.find("autovacuum_enabled=true"), std::string::npos) << applied;
  EXPECT_NE(applied.find("fillfactor=90"), std::string::npos) << applied;
  EXPECT_EQ(RunAgentCommand(dir_, "audit verify").status, 0);

  ASSERT_EQ(control_plane_->Run({"rollback", "--data", control_plane_->data_dir(), id}).exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "rolled_back"; }, 60s, 500ms))
      << Status(id) << "\n"
      << agent_->Log();
  // The same options, each with its previous value (PostgreSQL keeps them in the order set).
  const std::string after = cluster_->QueryValue(
      "SELECT string_agg(o, ',' ORDER BY o) FROM pg_class, unnest(reloptions) o WHERE relname = "
      "'events'");
  EXPECT_EQ(after, "autovacuum_enabled=false,fillfactor=90");
  EXPECT_EQ(RunAgentCommand(dir_, "audit verify").status, 0);
}

}  // namespace
}  // namespace optischema::testing
