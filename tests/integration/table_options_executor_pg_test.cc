// set_table_options and analyze_table against a real PostgreSQL 15, applied as a role that is
// not a superuser: what they change, what the audit log records, that a rollback puts the options
// back exactly, what is refused before anything runs, and crash recovery.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "applier/executor.h"
#include "core/clock.h"
#include "tests/support/applier_fixtures.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::applier {
namespace {

using protocol::LifecycleEvent;
using testing::PgCluster;
using OptionList = std::vector<std::pair<std::string, std::string>>;

CheckedRecommendation TableOptions(const std::string& id, const std::string& table,
                                   OptionList options) {
  CheckedRecommendation checked;
  checked.recommendation.id = id;
  checked.recommendation.database = "shop";
  checked.recommendation.spec = protocol::SetTableOptionsSpec{"public", table, std::move(options)};
  return checked;
}

CheckedRecommendation Analyze(const std::string& id, const std::string& table) {
  CheckedRecommendation checked;
  checked.recommendation.id = id;
  checked.recommendation.database = "shop";
  checked.recommendation.spec = protocol::AnalyzeTableSpec{"public", table};
  return checked;
}

class TableOptionsExecutorPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "tabopt-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cluster_ = PgCluster::Start();
    // The apply role owns its tables; `other` owns one the apply role is no member of.
    cluster_->Exec(
        "CREATE ROLE applier LOGIN; CREATE ROLE other; GRANT CREATE ON SCHEMA public TO applier;"
        "GRANT pg_read_all_stats TO applier;"
        "CREATE TABLE events (id int, payload text);"
        "CREATE TABLE docs (id int, body text);"
        "CREATE TABLE theirs (id int, body text);"
        "CREATE TABLE narrow (id int, at timestamptz);"
        "INSERT INTO events SELECT g, 'p' || g FROM generate_series(1, 500) g;"
        "ALTER TABLE events OWNER TO applier; ALTER TABLE docs OWNER TO applier;"
        "ALTER TABLE narrow OWNER TO applier; ALTER TABLE theirs OWNER TO other");
    audit_ = AuditLog::Open(dir_ + "/audit.jsonl", clock_).value();
  }
  void TearDown() override {
    executor_.reset();
    audit_.reset();
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }

  Executor& Exec() {
    pg::ConnectOptions connect;
    connect.dsn = cluster_->ConnectionString("postgres", "applier");
    connect.mode = pg::SessionMode::kApply;
    executor_ = std::make_unique<Executor>(pg::ConnectLibpq(connect).value(), *audit_, "shop");
    return *executor_;
  }

  std::vector<std::string> Steps(const std::string& id) const {
    return testing::AuditStepNames(*audit_, id);
  }

  // pg_class.reloptions of the table as text, "<none>" when NULL.
  std::string RawOptions(const std::string& table) {
    return cluster_->QueryValue(
        "SELECT coalesce(reloptions::text, '<none>') FROM pg_class WHERE "
        "oid = 'public." +
        table + "'::regclass");
  }
  // The table's options (name=value exactly as stored), sorted by name; the same of its TOAST
  // table after a '|'.
  std::string Options(const std::string& table) {
    const std::string sorted =
        "coalesce((SELECT string_agg(o, ',' ORDER BY o) FROM unnest(c.reloptions) o), '')";
    return cluster_->QueryValue("SELECT " + sorted + " || '|' || coalesce((SELECT " +
                                "coalesce((SELECT string_agg(o, ',' ORDER BY o) FROM "
                                "unnest(t.reloptions) o), '') FROM pg_class t WHERE t.oid = "
                                "c.reltoastrelid), '') FROM pg_class c WHERE c.oid = 'public." +
                                table + "'::regclass");
  }
  std::string Statistics(const std::string& table) {
    return cluster_->QueryValue("SELECT count(*) FROM pg_statistic WHERE starelid = 'public." +
                                table + "'::regclass");
  }

  std::string dir_;
  SystemClock clock_;
  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Executor> executor_;
};

TEST_F(TableOptionsExecutorPgTest, SetsOptionsOnATableWithNoneAndRollbackLeavesNoneAgain) {
  ASSERT_EQ(RawOptions("events"), "<none>");
  auto outcome = Exec().Apply(
      TableOptions("rec-a", "events",
                   {{"autovacuum_enabled", "false"}, {"autovacuum_vacuum_scale_factor", "0.050"}}));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied) << outcome->detail;
  EXPECT_FALSE(outcome->noop);
  EXPECT_EQ(RawOptions("events"), "{autovacuum_enabled=false,autovacuum_vacuum_scale_factor=0.05}");
  EXPECT_EQ(Steps("rec-a"), (std::vector<std::string>{"started", "applied"}));
  const AuditRecord applied = audit_->ForRecommendation("rec-a").back();
  EXPECT_EQ(applied.sql,
            "ALTER TABLE \"public\".\"events\" SET (autovacuum_enabled = 'false', "
            "autovacuum_vacuum_scale_factor = '0.05')");
  EXPECT_EQ(applied.rollback_sql,
            "ALTER TABLE \"public\".\"events\" RESET (autovacuum_enabled, "
            "autovacuum_vacuum_scale_factor)");
  for (const AuditRecord& record : audit_->ForRecommendation("rec-a")) {
    EXPECT_NE(record.detail.find("autovacuum_enabled false (was unset)"), std::string::npos)
        << record.detail;
  }

  ASSERT_TRUE(executor_->Rollback("rec-a").ok());
  EXPECT_EQ(RawOptions("events"), "<none>");
  EXPECT_EQ(Steps("rec-a").back(), "rolled_back");
  EXPECT_FALSE(audit_->Applied("rec-a"));
  EXPECT_TRUE(VerifyAuditFile(dir_ + "/audit.jsonl").ok);
}

TEST_F(TableOptionsExecutorPgTest, RollbackRestoresPreviousTableAndToastOptionsExactly) {
  cluster_->Exec(
      "ALTER TABLE docs SET (autovacuum_vacuum_scale_factor = .20, autovacuum_vacuum_threshold = "
      "100, toast.autovacuum_vacuum_cost_delay = 5)");
  const std::string before = Options("docs");
  ASSERT_EQ(before,
            "autovacuum_vacuum_scale_factor=.20,autovacuum_vacuum_threshold=100|"
            "autovacuum_vacuum_cost_delay=5");
  auto outcome = Exec().Apply(TableOptions("rec-d", "docs",
                                           {{"autovacuum_vacuum_scale_factor", "0.01"},
                                            {"toast.autovacuum_enabled", "false"},
                                            {"toast.autovacuum_vacuum_cost_delay", "7.5"}}));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  ASSERT_EQ(outcome->event, LifecycleEvent::kApplied) << outcome->detail;
  // The untouched option stays; the TOAST table's options are set on the TOAST table.
  EXPECT_EQ(Options("docs"),
            "autovacuum_vacuum_scale_factor=0.01,autovacuum_vacuum_threshold=100|"
            "autovacuum_enabled=false,autovacuum_vacuum_cost_delay=7.5");
  const AuditRecord applied = audit_->ForRecommendation("rec-d").back();
  EXPECT_EQ(applied.rollback_sql,
            "ALTER TABLE \"public\".\"docs\" SET (autovacuum_vacuum_scale_factor = '.20', "
            "toast.autovacuum_vacuum_cost_delay = '5'), RESET (toast.autovacuum_enabled)");
  EXPECT_NE(applied.detail.find("autovacuum_vacuum_scale_factor 0.01 (was .20)"), std::string::npos)
      << applied.detail;

  ASSERT_TRUE(executor_->Rollback("rec-d").ok());
  EXPECT_EQ(Options("docs"), before);
  EXPECT_EQ(Steps("rec-d"), (std::vector<std::string>{"started", "applied", "rolled_back"}));
}

TEST_F(TableOptionsExecutorPgTest, OptionsAlreadyInPlaceMakeItANoOp) {
  cluster_->Exec(
      "ALTER TABLE events SET (autovacuum_vacuum_scale_factor = .050, "
      "autovacuum_enabled = true)");
  const std::string before = RawOptions("events");
  auto outcome = Exec().Apply(
      TableOptions("rec-n", "events",
                   {{"autovacuum_enabled", "true"}, {"autovacuum_vacuum_scale_factor", "0.05"}}));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied);
  EXPECT_TRUE(outcome->noop);
  EXPECT_NE(outcome->detail.find("no-op"), std::string::npos) << outcome->detail;
  EXPECT_EQ(RawOptions("events"), before);
  EXPECT_EQ(Steps("rec-n"), std::vector<std::string>{"noop"});
}

TEST_F(TableOptionsExecutorPgTest, TableOfAnotherRoleIsRefusedBeforeAnythingChanges) {
  auto outcome = Exec().Apply(TableOptions("rec-o", "theirs", {{"autovacuum_enabled", "false"}}));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kRejected);
  EXPECT_NE(outcome->detail.find("neither owns \"public\".\"theirs\""), std::string::npos)
      << outcome->detail;
  EXPECT_EQ(RawOptions("theirs"), "<none>");
  EXPECT_EQ(Steps("rec-o"), std::vector<std::string>{"rejected"});

  auto analyze = executor_->Apply(Analyze("rec-oa", "theirs"));
  ASSERT_TRUE(analyze.ok());
  EXPECT_EQ(analyze->event, LifecycleEvent::kRejected);
  EXPECT_NE(analyze->detail.find("may not ANALYZE it"), std::string::npos) << analyze->detail;
  EXPECT_EQ(Statistics("theirs"), "0");
}

TEST_F(TableOptionsExecutorPgTest, RelationsTheOptionsCannotApplyToAreRefused) {
  cluster_->Exec(
      "CREATE TABLE parted (id int) PARTITION BY RANGE (id); ALTER TABLE parted OWNER TO "
      "applier");
  const std::vector<std::tuple<std::string, std::string, OptionList, std::string>> cases = {
      {"rec-p", "parted", {{"autovacuum_enabled", "false"}}, "is a partitioned table"},
      {"rec-t", "narrow", {{"toast.autovacuum_enabled", "false"}}, "has no TOAST table"},
      {"rec-m", "missing", {{"autovacuum_enabled", "false"}}, "table does not exist"},
  };
  for (const auto& [id, table, options, reason] : cases) {
    auto outcome = Exec().Apply(TableOptions(id, table, options));
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
    EXPECT_EQ(outcome->event, LifecycleEvent::kRejected) << id;
    EXPECT_NE(outcome->detail.find(reason), std::string::npos) << outcome->detail;
  }
  CheckedRecommendation catalog =
      TableOptions("rec-c", "pg_class", {{"autovacuum_enabled", "false"}});
  std::get<protocol::SetTableOptionsSpec>(catalog.recommendation.spec).schema = "pg_catalog";
  auto outcome = Exec().Apply(catalog);
  ASSERT_TRUE(outcome.ok());
  EXPECT_NE(outcome->detail.find("system schema"), std::string::npos) << outcome->detail;
  EXPECT_EQ(RawOptions("narrow"), "<none>");
  EXPECT_EQ(cluster_->QueryValue("SELECT coalesce(reloptions::text, '<none>') FROM pg_class "
                                 "WHERE relname = 'parted'"),
            "<none>");
}

TEST_F(TableOptionsExecutorPgTest, InterruptedSetTableOptionsIsUndoneAtStartAndReportedFailed) {
  // The stop came after the ALTER TABLE but before the outcome was recorded.
  cluster_->Exec("ALTER TABLE docs SET (autovacuum_vacuum_threshold = 100)");
  const std::string before = Options("docs");
  cluster_->Exec(
      "ALTER TABLE docs SET (autovacuum_vacuum_threshold = 5, autovacuum_enabled = false)");
  ASSERT_TRUE(audit_
                  ->Append({"rec-s",
                            "shop",
                            AuditStep::kStarted,
                            "setting options",
                            "ALTER TABLE \"public\".\"docs\" SET (autovacuum_enabled = 'false', "
                            "autovacuum_vacuum_threshold = '5')",
                            "ALTER TABLE \"public\".\"docs\" SET (autovacuum_vacuum_threshold = "
                            "'100'), RESET (autovacuum_enabled)",
                            {}})
                  .ok());
  auto recovery = Exec().CleanUpInterruptedBuilds();
  ASSERT_TRUE(recovery.ok()) << recovery.error().message;
  ASSERT_EQ(recovery->outcomes.size(), 1u);
  EXPECT_EQ(recovery->outcomes[0].second.event, LifecycleEvent::kFailed);
  EXPECT_EQ(Options("docs"), before);
  EXPECT_EQ(Steps("rec-s"), (std::vector<std::string>{"started", "recovered", "failed"}));
}

TEST_F(TableOptionsExecutorPgTest, AnalyzeTableRunsAndCannotBeRolledBack) {
  cluster_->Exec("CREATE TYPE mood AS ENUM ('ok', 'sad'); ALTER TABLE events ADD COLUMN m mood");
  ASSERT_EQ(Statistics("events"), "0");
  auto outcome = Exec().Apply(Analyze("rec-z", "events"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->event, LifecycleEvent::kApplied) << outcome->detail;
  EXPECT_NE(Statistics("events"), "0");
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        return cluster_->QueryValue(
                   "SELECT analyze_count FROM pg_stat_user_tables WHERE relid = "
                   "'public.events'::regclass") == "1";
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(Steps("rec-z"), (std::vector<std::string>{"started", "applied"}));
  EXPECT_EQ(audit_->ForRecommendation("rec-z").back().sql, "ANALYZE \"public\".\"events\"");

  const Status undone = executor_->Rollback("rec-z");
  ASSERT_FALSE(undone.ok());
  EXPECT_EQ(undone.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(undone.error().message, "analyze_table changes nothing that can be rolled back");
  EXPECT_EQ(Steps("rec-z"), (std::vector<std::string>{"started", "applied"}));
}

TEST_F(TableOptionsExecutorPgTest, AnalyzeRefusesTablesWhoseAnalysisWouldRunUserCode) {
  cluster_->Exec(
      "CREATE TABLE by_expr (id int, name text); CREATE INDEX ON by_expr (lower(name));"
      "CREATE TABLE by_pred (id int); CREATE INDEX ON by_pred (id) WHERE id > 0;"
      "CREATE TYPE pair AS (a int, b int); CREATE TABLE by_type (id int, p pair);"
      "CREATE TABLE by_stats (a int, b int); CREATE STATISTICS by_stats_s ON (a + b), a FROM "
      "by_stats;"
      "INSERT INTO by_expr SELECT g, 'n' FROM generate_series(1, 100) g;"
      "INSERT INTO by_type SELECT g, NULL FROM generate_series(1, 100) g;"
      "INSERT INTO by_pred SELECT g FROM generate_series(1, 100) g;"
      "INSERT INTO by_stats SELECT g, g FROM generate_series(1, 100) g;"
      "ALTER TABLE by_expr OWNER TO applier; ALTER TABLE by_pred OWNER TO applier;"
      "ALTER TABLE by_type OWNER TO applier; ALTER TABLE by_stats OWNER TO applier");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"by_expr", "expression or partial index"},
      {"by_pred", "expression or partial index"},
      {"by_type", "neither built in nor an enum"},
      {"by_stats", "extended statistics on expressions"},
  };
  for (const auto& [table, reason] : cases) {
    auto outcome = Exec().Apply(Analyze("rec-" + table, table));
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
    EXPECT_EQ(outcome->event, LifecycleEvent::kRejected) << table;
    EXPECT_NE(outcome->detail.find(reason), std::string::npos) << outcome->detail;
    EXPECT_NE(outcome->detail.find("nothing was run"), std::string::npos) << outcome->detail;
    EXPECT_EQ(Statistics(table), "0") << table;
    EXPECT_EQ(Steps("rec-" + table), std::vector<std::string>{"rejected"});
  }
}

}  // namespace
}  // namespace optischema::applier
