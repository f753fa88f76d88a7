// The executor against a real PostgreSQL 15: what it builds, what it refuses, what it leaves
// behind when a build fails, and that every step is in the audit log.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include <filesystem>

#include "applier/executor.h"
#include "applier/index_name.h"
#include "core/clock.h"
#include "tests/support/applier_fixtures.h"
#include "tests/support/pg_cluster.h"

namespace optischema::applier {
namespace {

using protocol::LifecycleEvent;
using testing::PgCluster;

class ExecutorPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "exec-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cluster_ = PgCluster::Start();
    cluster_->Exec(
        "CREATE TABLE orders (id int PRIMARY KEY, customer_id int, status text, note text);"
        "INSERT INTO orders SELECT g, g % 100, CASE WHEN g % 10 = 0 THEN 'open' ELSE 'done' END, "
        "'n' FROM generate_series(1, 2000) g");
    audit_ = AuditLog::Open(dir_ + "/audit.jsonl", clock_).value();
  }
  void TearDown() override {
    executor_.reset();
    audit_.reset();
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }

  Executor& Exec(ExecutorOptions options = {}) {
    pg::ConnectOptions connect;
    connect.dsn = dsn_.empty() ? cluster_->ConnectionString() : dsn_;
    connect.mode = pg::SessionMode::kApply;
    executor_ =
        std::make_unique<Executor>(pg::ConnectLibpq(connect).value(), *audit_, "shop", options);
    return *executor_;
  }

  // Built and read back with tests/support/applier_fixtures.h.
  static CheckedRecommendation CreateIndex(const std::string& id, const std::string& table,
                                           std::vector<std::string> columns) {
    return testing::CreateIndexRecommendation(id, table, std::move(columns));
  }
  std::vector<std::string> Steps(const std::string& id) const {
    return testing::AuditStepNames(*audit_, id);
  }
  std::string IndexState(const std::string& name) const {
    return testing::IndexState(*cluster_, name);
  }

  // Applies as a role that owns the table but is not a superuser (the agent plans nothing as
  // one), with pg_stat_statements installed.
  void ApplyAsTableOwner() {
    cluster_->Exec(
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE ROLE shop_owner LOGIN;"
        "GRANT pg_monitor TO shop_owner; GRANT CREATE ON SCHEMA public TO shop_owner;"
        "ALTER TABLE orders OWNER TO shop_owner");
    dsn_ = cluster_->ConnectionString("postgres", "shop_owner");
  }

  std::string dir_;
  std::string dsn_;  // empty: connect as postgres
  SystemClock clock_;
  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Executor> executor_;
};

TEST_F(ExecutorPgTest, CreateIndexBuildsAValidIndexAndRollbackRemovesIt) {
  auto outcome = Exec().Apply(CreateIndex("rec-a", "orders", {"customer_id"}));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied) << outcome->detail;
  EXPECT_FALSE(outcome->noop);
  const std::string name = IndexNameForRecommendation("rec-a");
  EXPECT_EQ(IndexState(name), "true");
  EXPECT_EQ(Steps("rec-a"), (std::vector<std::string>{"started", "applied"}));
  EXPECT_EQ(audit_->ForRecommendation("rec-a").back().sql,
            "CREATE INDEX CONCURRENTLY \"" + name +
                "\" ON \"public\".\"orders\" USING btree (\"customer_id\")");

  ASSERT_TRUE(executor_->Rollback("rec-a").ok());
  EXPECT_EQ(IndexState(name), "absent");
  EXPECT_EQ(Steps("rec-a").back(), "rolled_back");
  EXPECT_FALSE(audit_->Applied("rec-a"));
  EXPECT_TRUE(VerifyAuditFile(dir_ + "/audit.jsonl").ok);
}

TEST_F(ExecutorPgTest, HostileTableNameIsRejectedAndNothingRuns) {
  const std::string before = cluster_->QueryValue("SELECT count(*) FROM pg_class");
  auto outcome = Exec().Apply(CreateIndex("rec-x", "x\"; DROP TABLE orders; --", {"id"}));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->event, LifecycleEvent::kRejected);
  EXPECT_NE(outcome->detail.find("does not exist"), std::string::npos) << outcome->detail;
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM orders"), "2000");
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class"), before);
  EXPECT_EQ(Steps("rec-x"), std::vector<std::string>{"rejected"});
}

TEST_F(ExecutorPgTest, EquivalentIndexMakesItANoOp) {
  cluster_->Exec("CREATE INDEX orders_customer ON orders (customer_id)");
  auto outcome = Exec().Apply(CreateIndex("rec-n", "orders", {"customer_id"}));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied);
  EXPECT_TRUE(outcome->noop);
  EXPECT_NE(outcome->detail.find("no-op"), std::string::npos);
  EXPECT_EQ(IndexState(IndexNameForRecommendation("rec-n")), "absent");
  EXPECT_EQ(Steps("rec-n"), std::vector<std::string>{"noop"});
}

TEST_F(ExecutorPgTest, LockHeldByAnotherSessionFailsCleanlyWithoutAnInvalidIndex) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> holder(
      PQconnectdb(cluster_->ConnectionString().c_str()), PQfinish);
  PQclear(PQexec(holder.get(), "BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"));
  auto outcome =
      Exec({.lock_attempts = 2, .lock_pause = std::chrono::milliseconds(0), .digest_key = {}})
          .Apply(CreateIndex("rec-l", "orders", {"status"}));
  PQclear(PQexec(holder.get(), "ROLLBACK"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kFailed);
  EXPECT_NE(outcome->detail.find("no INVALID index left behind"), std::string::npos)
      << outcome->detail;
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), "0");
  EXPECT_EQ(Steps("rec-l"), (std::vector<std::string>{"started", "failed"}));
}

TEST_F(ExecutorPgTest, IndexBackingAConstraintIsNeverDropped) {
  CheckedRecommendation checked;
  checked.recommendation.id = "rec-d";
  checked.recommendation.spec = protocol::DropIndexSpec{"public", "orders_pkey"};
  auto outcome = Exec().Apply(checked);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->event, LifecycleEvent::kRejected);
  EXPECT_EQ(IndexState("orders_pkey"), "true");
}

TEST_F(ExecutorPgTest, DropIndexRecordsTheDefinitionAndRollbackRebuildsIt) {
  cluster_->Exec("CREATE INDEX orders_status ON orders (status)");
  CheckedRecommendation checked;
  checked.recommendation.id = "rec-drop";
  checked.recommendation.spec = protocol::DropIndexSpec{"public", "orders_status"};
  auto outcome = Exec().Apply(checked);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied);
  EXPECT_EQ(IndexState("orders_status"), "absent");
  EXPECT_EQ(audit_->ForRecommendation("rec-drop").back().rollback_sql,
            "CREATE INDEX CONCURRENTLY orders_status ON public.orders USING btree (status)");
  ASSERT_TRUE(executor_->Rollback("rec-drop").ok());
  EXPECT_EQ(IndexState("orders_status"), "true");
}

TEST_F(ExecutorPgTest, InterruptedBuildIsCleanedUpAtStartAndAudited) {
  // An interrupted build: a `started` record and an INVALID index carrying the agent's prefix.
  const std::string name = IndexNameForRecommendation("rec-k");
  ASSERT_TRUE(audit_
                  ->Append({"rec-k",
                            "shop",
                            AuditStep::kStarted,
                            "building",
                            "CREATE INDEX CONCURRENTLY x",
                            "DROP INDEX x",
                            {}})
                  .ok());
  cluster_->Exec("CREATE TABLE dup (v int); INSERT INTO dup VALUES (1), (1)");
  try {
    cluster_->Exec("CREATE UNIQUE INDEX CONCURRENTLY " + name + " ON dup (v)");
  } catch (const std::exception&) {
    // Expected: the unique build fails and leaves the index INVALID.
  }
  ASSERT_EQ(IndexState(name), "false");
  auto recovery = Exec().CleanUpInterruptedBuilds();
  ASSERT_TRUE(recovery.ok()) << recovery.error().message;
  EXPECT_EQ(recovery->dropped, 1);
  ASSERT_EQ(recovery->outcomes.size(), 1u);
  EXPECT_EQ(recovery->outcomes[0].second.event, LifecycleEvent::kFailed);
  EXPECT_EQ(IndexState(name), "absent");
  EXPECT_EQ(Steps("rec-k"), (std::vector<std::string>{"started", "recovered", "failed"}));
  EXPECT_TRUE(audit_->InFlight().empty());
}

TEST_F(ExecutorPgTest, InterruptedDropThatLeftTheIndexInvalidIsCompletedAtStart) {
  // DROP INDEX CONCURRENTLY marks the index INVALID first, then waits for other transactions:
  // a stop there leaves an INVALID index that is not the agent's own build.
  cluster_->Exec("CREATE INDEX orders_note_idx ON orders (note)");
  cluster_->Exec(
      "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'orders_note_idx'::regclass");
  const std::string sql = "DROP INDEX CONCURRENTLY \"public\".\"orders_note_idx\"";
  ASSERT_TRUE(
      audit_->Append({"rec-d", "shop", AuditStep::kStarted, "dropping", sql, "CREATE INDEX x", {}})
          .ok());
  auto recovery = Exec().CleanUpInterruptedBuilds();
  ASSERT_TRUE(recovery.ok()) << recovery.error().message;
  ASSERT_EQ(recovery->outcomes.size(), 1u);
  EXPECT_EQ(recovery->outcomes[0].second.event, LifecycleEvent::kApplied);
  EXPECT_EQ(IndexState("orders_note_idx"), "absent");
  EXPECT_EQ(Steps("rec-d"), (std::vector<std::string>{"started", "recovered", "applied"}));
  EXPECT_EQ(audit_->ForRecommendation("rec-d").back().rollback_sql, "CREATE INDEX x");
}

TEST_F(ExecutorPgTest, RecommendationTakenButNotStartedIsClosedAsFailedAtStart) {
  ASSERT_TRUE(audit_->Append({"rec-t", "shop", AuditStep::kReceived, "pulled", "", "", {}}).ok());
  ASSERT_TRUE(
      audit_->Append({"rec-t", "shop", AuditStep::kVerified, "checks passed", "", "", {}}).ok());
  ASSERT_TRUE(audit_->Append({"rec-o", "other", AuditStep::kReceived, "pulled", "", "", {}}).ok());
  auto recovery = Exec().CleanUpInterruptedBuilds();
  ASSERT_TRUE(recovery.ok()) << recovery.error().message;
  ASSERT_EQ(recovery->outcomes.size(), 1u);  // another database's executor settles rec-o
  EXPECT_EQ(recovery->outcomes[0].first, "rec-t");
  EXPECT_EQ(recovery->outcomes[0].second.event, LifecycleEvent::kFailed);
  EXPECT_EQ(Steps("rec-t"),
            (std::vector<std::string>{"received", "verified", "recovered", "failed"}));
}

TEST_F(ExecutorPgTest, InterruptedDropThatNeverTouchedTheIndexFailsAndKeepsIt) {
  cluster_->Exec("CREATE INDEX orders_note_idx ON orders (note)");
  ASSERT_TRUE(audit_
                  ->Append({"rec-e",
                            "shop",
                            AuditStep::kStarted,
                            "dropping",
                            "DROP INDEX CONCURRENTLY \"public\".\"orders_note_idx\"",
                            "",
                            {}})
                  .ok());
  auto recovery = Exec().CleanUpInterruptedBuilds();
  ASSERT_TRUE(recovery.ok()) << recovery.error().message;
  ASSERT_EQ(recovery->outcomes.size(), 1u);
  EXPECT_EQ(recovery->outcomes[0].second.event, LifecycleEvent::kFailed);
  EXPECT_EQ(IndexState("orders_note_idx"), "true");
}

TEST_F(ExecutorPgTest, InterruptedSetConfigIsUndoneAtStartAndReportedFailed) {
  // The stop came after ALTER SYSTEM but before the outcome was recorded.
  cluster_->Exec("ALTER SYSTEM SET random_page_cost = '1.1'");
  cluster_->Exec("SELECT pg_reload_conf()");
  ASSERT_TRUE(audit_
                  ->Append({"rec-s",
                            "shop",
                            AuditStep::kStarted,
                            "changing random_page_cost",
                            "ALTER SYSTEM SET \"random_page_cost\" = '1.1'",
                            "ALTER SYSTEM RESET \"random_page_cost\"",
                            {}})
                  .ok());
  auto recovery = Exec().CleanUpInterruptedBuilds();
  ASSERT_TRUE(recovery.ok()) << recovery.error().message;
  ASSERT_EQ(recovery->outcomes.size(), 1u);
  EXPECT_EQ(recovery->outcomes[0].second.event, LifecycleEvent::kFailed);
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_file_settings WHERE name = "
                                 "'random_page_cost' AND sourcefile LIKE '%auto.conf'"),
            "0");
  EXPECT_EQ(cluster_->QueryValue("SHOW random_page_cost"), "4");
  EXPECT_EQ(Steps("rec-s"), (std::vector<std::string>{"started", "recovered", "failed"}));
}

CheckedRecommendation SetConfig(const std::string& id, const std::string& name,
                                const std::string& value) {
  return testing::SetConfigRecommendation(id, name, value);
}

TEST_F(ExecutorPgTest, PostmasterSettingReportsPendingRestartAndRollbackRestoresTheOldValue) {
  cluster_->Exec("ALTER SYSTEM SET max_connections = 60");
  auto outcome = Exec().Apply(SetConfig("rec-pm", "max_connections", "70"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied);
  EXPECT_NE(outcome->detail.find("pending_restart"), std::string::npos) << outcome->detail;
  const std::string auto_conf =
      "SELECT setting FROM pg_file_settings WHERE name = 'max_connections' AND sourcefile LIKE "
      "'%auto.conf'";
  EXPECT_EQ(cluster_->QueryValue(auto_conf), "70");
  ASSERT_TRUE(executor_->Rollback("rec-pm").ok());
  EXPECT_EQ(cluster_->QueryValue(auto_conf), "60");
}

TEST_F(ExecutorPgTest, ReloadableSettingTakesEffectAndRollbackResetsIt) {
  auto outcome = Exec().Apply(SetConfig("rec-wm", "work_mem", "8MB"));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied);
  EXPECT_EQ(outcome->detail.find("pending_restart"), std::string::npos) << outcome->detail;
  EXPECT_EQ(cluster_->QueryValue("SHOW work_mem"), "8MB");
  ASSERT_TRUE(executor_->Rollback("rec-wm").ok());
  EXPECT_EQ(cluster_->QueryValue("SHOW work_mem"), "4MB");
  EXPECT_EQ(audit_->ForRecommendation("rec-wm").back().sql, "ALTER SYSTEM RESET \"work_mem\"");
}

TEST_F(ExecutorPgTest, SettingValuesOutsideWhatPostgresAllowsAreRejected) {
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"no_such_setting", "1"},
                                                        {"wal_level", "verbose"},
                                                        {"max_connections", "0"},
                                                        {"server_version", "99"}}) {
    auto outcome = Exec().Apply(SetConfig("rec-" + name, name, value));
    ASSERT_TRUE(outcome.ok()) << name;
    EXPECT_EQ(outcome->event, LifecycleEvent::kRejected) << name << ": " << outcome->detail;
  }
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE "
                                 "'%auto.conf'"),
            "0");
}

CheckedRecommendation Rewrite(const std::string& id, const std::string& original,
                              const std::string& rewritten) {
  CheckedRecommendation checked;
  checked.recommendation.id = id;
  checked.recommendation.spec = protocol::RewriteSpec{original, rewritten};
  return checked;
}

TEST_F(ExecutorPgTest, RewriteIsPlannedNotRunAndBothCostsAreReported) {
  ApplyAsTableOwner();
  cluster_->Exec("SELECT * FROM orders WHERE status = 'open' ORDER BY note");
  auto outcome =
      Exec().Apply(Rewrite("rec-rw", "SELECT * FROM orders WHERE status = $1 ORDER BY note",
                           "SELECT * FROM orders WHERE status = $1 ORDER BY note LIMIT 10"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kVerified) << outcome->detail;
  EXPECT_NE(outcome->detail.find("(original) vs"), std::string::npos) << outcome->detail;
  EXPECT_EQ(Steps("rec-rw"), std::vector<std::string>{"verify_passed"});
  // The session is left clean for the next change.
  EXPECT_EQ(Exec().Apply(CreateIndex("rec-after", "orders", {"note"}))->event,
            LifecycleEvent::kApplied);
}

TEST_F(ExecutorPgTest, RewriteThatIsNotAPlainSelectIsRejectedAndNothingRuns) {
  ApplyAsTableOwner();
  cluster_->Exec("SELECT 1");
  for (const char* bad : {"DELETE FROM orders", "SELECT 1; DROP TABLE orders",
                          "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
                          "SELECT * INTO copy FROM orders", "SELECT * FROM orders FOR UPDATE"}) {
    auto outcome = Exec().Apply(Rewrite("rec-bad", "SELECT 1", bad));
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->event, LifecycleEvent::kRejected) << bad;
  }
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM orders"), "2000");
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname = 'copy'"), "0");
}

TEST_F(ExecutorPgTest, HypoPgEstimateDecidesWhetherAnIndexIsWorthBuilding) {
  ApplyAsTableOwner();
  cluster_->Exec("CREATE EXTENSION hypopg");
  cluster_->Exec(
      "INSERT INTO orders SELECT g, g % 100, 'done', 'n' FROM generate_series(2001, "
      "60000) g; ANALYZE orders");
  for (int i = 0; i < 5; ++i) {
    cluster_->Exec("SELECT count(*) FROM orders WHERE customer_id = " + std::to_string(i));
  }
  const int64_t queryid = std::stoll(cluster_->QueryValue(
      "SELECT queryid FROM pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM orders "
      "WHERE customer_id%'"));

  CheckedRecommendation useless = CreateIndex("rec-useless", "orders", {"note"});
  useless.recommendation.affected_queryids = {queryid};
  auto refused = Exec().Apply(useless);
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  EXPECT_EQ(refused->event, LifecycleEvent::kRejected);
  EXPECT_NE(refused->detail.find("HypoPG estimates a saving of"), std::string::npos)
      << refused->detail;
  EXPECT_EQ(IndexState(IndexNameForRecommendation("rec-useless")), "absent");

  CheckedRecommendation forced = useless;
  forced.recommendation.id = "rec-forced";
  std::get<protocol::CreateIndexSpec>(forced.recommendation.spec).skip_hypopg_check = true;
  EXPECT_EQ(Exec().Apply(forced)->event, LifecycleEvent::kApplied);

  CheckedRecommendation useful = CreateIndex("rec-useful", "orders", {"customer_id"});
  useful.recommendation.affected_queryids = {queryid};
  auto applied = Exec().Apply(useful);
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(applied->event, LifecycleEvent::kApplied) << applied->detail;
  EXPECT_NE(audit_->ForRecommendation("rec-useful")[0].detail.find("HypoPG estimated saving"),
            std::string::npos);
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM hypopg_list_indexes"), "0");
}

TEST_F(ExecutorPgTest, UniqueReplicaIdentityAndPartitionIndexesAreNeverDropped) {
  cluster_->Exec(
      "CREATE UNIQUE INDEX orders_note_unique ON orders (note, id);"
      "CREATE UNIQUE INDEX orders_replica ON orders (id);"
      "ALTER TABLE orders REPLICA IDENTITY USING INDEX orders_replica;"
      "CREATE TABLE p (k int) PARTITION BY RANGE (k);"
      "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10); CREATE INDEX p_k ON p (k)");
  const std::string p1_index = cluster_->QueryValue(
      "SELECT c.relname FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid JOIN pg_class "
      "parent ON parent.oid = h.inhparent WHERE parent.relname = 'p_k'");
  const std::string before = cluster_->QueryValue(
      "SELECT count(*) FROM pg_class WHERE relkind IN "
      "('i', 'I')");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"orders_note_unique", "is unique"},
      {"orders_replica", "is unique"},
      {"p_k", "partitioned table"},
      {p1_index, "partitioned table"}};
  int n = 0;
  for (const auto& [index, reason] : cases) {
    CheckedRecommendation checked;
    checked.recommendation.id = "rec-drop-" + std::to_string(n++);
    checked.recommendation.database = "shop";
    checked.recommendation.spec = protocol::DropIndexSpec{"public", index};
    auto outcome = Exec().Apply(checked);
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->event, LifecycleEvent::kRejected) << index << ": " << outcome->detail;
    EXPECT_NE(outcome->detail.find(reason), std::string::npos) << index << ": " << outcome->detail;
  }
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relkind IN ('i', 'I')"),
            before);
}

}  // namespace
}  // namespace optischema::applier
