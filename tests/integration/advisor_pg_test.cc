// The index advisor against a real PostgreSQL 15 with HypoPG: proposals for a workload on an
// unindexed column (and none for one an index serves), unused/redundant/invalid findings, schema
// drift, the applier refusing a recommendation whose table drifted, and no second proposal for an
// index an approved recommendation is building.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "advisor/advisor.h"
#include "applier/executor.h"
#include "applier/index_name.h"
#include "core/clock.h"
#include "pg/plan_probe.h"
#include "pg/plan_safety.h"
#include "pg/table_schema.h"
#include "protocol/advice_json.h"
#include "tests/support/advisor_fixtures.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::advisor {
namespace {

using testing::FindingFor;
using testing::KeyedAdvisorOptions;
using testing::PgCluster;
using testing::TestDigestKey;

class AdvisorPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = PgCluster::Start();
    cluster_->Exec("CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg");
    monitoring_dsn_ = cluster_->MonitoringConnectionString();
  }

  // A session of the documented monitoring role (the agent plans nothing as a superuser); with
  // kApply, of postgres.
  std::unique_ptr<pg::PgSession> Session(pg::SessionMode mode = pg::SessionMode::kReadOnly) {
    return testing::ConnectSession(
        mode == pg::SessionMode::kReadOnly ? monitoring_dsn_ : cluster_->ConnectionString(), mode);
  }

  protocol::Advice Advise(Advisor& advisor) {
    return testing::AdviseOnce(advisor, monitoring_dsn_);
  }

  // The queryid of the statement whose text matches the LIKE `pattern`.
  std::string QueryId(const std::string& pattern) {
    return cluster_->QueryValue("SELECT queryid FROM pg_stat_statements WHERE query LIKE '" +
                                pattern + "' AND query NOT LIKE '%pg_stat_statements%' LIMIT 1");
  }

  SystemClock clock_;
  std::unique_ptr<PgCluster> cluster_;
  std::string monitoring_dsn_;
};

TEST_F(AdvisorPgTest, ProposesAnIndexForAFilterOnAnUnindexedColumnAndNoneForAnIndexedOne) {
  cluster_->Exec(
      "CREATE TABLE events (id int PRIMARY KEY, account int, kind int, payload text);"
      "INSERT INTO events SELECT g, g % 5000, g % 20000, md5(g::text) FROM "
      "generate_series(1, 200000) g;"
      "CREATE INDEX events_account ON events (account); ANALYZE events");
  for (int i = 0; i < 5; ++i) {
    cluster_->Exec("SELECT * FROM events WHERE kind = " + std::to_string(i * 7));
    cluster_->Exec("SELECT * FROM events WHERE account = " + std::to_string(i * 3));
  }
  // Its normalized text ("... AND $2 IS NULL") cannot be planned: $2 has no type.
  cluster_->Exec("SELECT * FROM events WHERE kind = 3 AND NULL IS NULL");
  const std::string unindexed = QueryId("%WHERE kind = $1");
  const std::string indexed = QueryId("%WHERE account = $1");
  const std::string unplannable = QueryId("%IS NULL");

  AdvisorOptions options = KeyedAdvisorOptions();
  Advisor advisor(options, clock_);
  const protocol::Advice advice = Advise(advisor);
  EXPECT_TRUE(advice.hypopg);

  std::vector<const protocol::IndexProposal*> creates;
  for (const auto& p : advice.proposals) {
    if (p.kind == "create_index") creates.push_back(&p);
  }
  ASSERT_EQ(creates.size(), 1u) << "proposals: " << advice.proposals.size();
  const protocol::IndexProposal& proposal = *creates[0];
  EXPECT_EQ(proposal.schema, "public");
  EXPECT_EQ(proposal.table, "events");
  EXPECT_EQ(proposal.columns, std::vector<std::string>{"kind"});
  EXPECT_GE(proposal.saving_pct, 50.0);
  EXPECT_GT(proposal.index_size_bytes, 0);
  EXPECT_FALSE(proposal.table_digest.empty());
  ASSERT_EQ(proposal.statements.size(), 1u);
  EXPECT_EQ(std::to_string(proposal.statements[0].queryid), unindexed);
  EXPECT_GT(proposal.statements[0].cost_before, proposal.statements[0].cost_after);
  for (const auto& p : advice.proposals) {
    for (const auto& s : p.statements) EXPECT_NE(std::to_string(s.queryid), indexed);
  }
  ASSERT_EQ(advice.skipped.size(), 1u);
  EXPECT_EQ(std::to_string(advice.skipped[0].queryid), unplannable);
  EXPECT_NE(advice.skipped[0].reason.find("EXPLAIN failed"), std::string::npos)
      << advice.skipped[0].reason;
  // Nothing was left behind in the session or the catalog.
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_indexes WHERE tablename = 'events'"),
            "2");
}

TEST_F(AdvisorPgTest, WithoutHypopgThereAreNoProposalsAndANoteSaysHowToEnableIt) {
  cluster_->Exec(
      "DROP EXTENSION hypopg; CREATE TABLE t (a int); INSERT INTO t SELECT "
      "generate_series(1, 50000); ANALYZE t; SELECT * FROM t WHERE a = 5");
  Advisor advisor(KeyedAdvisorOptions(), clock_);
  const protocol::Advice advice = Advise(advisor);
  EXPECT_FALSE(advice.hypopg);
  EXPECT_TRUE(advice.proposals.empty());
  ASSERT_FALSE(advice.notes.empty());
  EXPECT_NE(advice.notes[0].find("CREATE EXTENSION hypopg"), std::string::npos);
}

TEST_F(AdvisorPgTest, PlanningStopsAtTheTimeBudgetWithANote) {
  cluster_->Exec(
      "CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 50000); "
      "ANALYZE t; SELECT * FROM t WHERE a = 5");
  AdvisorOptions options = KeyedAdvisorOptions();
  options.proposer.budget = std::chrono::milliseconds(0);
  Advisor advisor(options, clock_);
  const protocol::Advice advice = Advise(advisor);
  EXPECT_TRUE(advice.proposals.empty());
  ASSERT_EQ(advice.notes.size(), 1u);
  EXPECT_NE(advice.notes[0].find("time budget"), std::string::npos) << advice.notes[0];

  Advisor unhurried(KeyedAdvisorOptions(), clock_);
  EXPECT_EQ(Advise(unhurried).proposals.size(), 1u);
}

TEST_F(AdvisorPgTest, RoleThatMayNotReadTheTableGetsTheGrantToRunAndProposalsOnceGranted) {
  cluster_->Exec(
      "CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 50000); ANALYZE t;"
      "SELECT * FROM t WHERE a = 5; CREATE ROLE watcher LOGIN; GRANT pg_monitor TO watcher");
  pg::ConnectOptions connect;
  connect.dsn = cluster_->ConnectionString("postgres", "watcher");
  Advisor advisor(KeyedAdvisorOptions(), clock_);
  {
    auto session = pg::ConnectLibpq(connect).value();
    auto advice = advisor.Run(*session);
    ASSERT_TRUE(advice.ok()) << advice.error().ToString();
    EXPECT_TRUE(advice->proposals.empty());
    ASSERT_EQ(advice->skipped.size(), 1u);
    EXPECT_NE(advice->skipped[0].reason.find("GRANT USAGE on their schema and SELECT"),
              std::string::npos)
        << advice->skipped[0].reason;
  }
  cluster_->Exec("GRANT SELECT ON t TO watcher");
  auto session = pg::ConnectLibpq(connect).value();
  auto advice = advisor.Run(*session);
  ASSERT_TRUE(advice.ok()) << advice.error().ToString();
  EXPECT_EQ(advice->proposals.size(), 1u);
  EXPECT_TRUE(advice->skipped.empty());
}

TEST_F(AdvisorPgTest, PrefixIndexIsRedundantButAUniqueIndexNeverIs) {
  cluster_->Exec(
      "CREATE TABLE pairs (a int, b int, c int);"
      "CREATE INDEX pairs_a ON pairs (a); CREATE INDEX pairs_a_b ON pairs (a, b);"
      "CREATE UNIQUE INDEX pairs_a_unique ON pairs (a); CREATE INDEX pairs_b ON pairs (b)");
  Advisor advisor(KeyedAdvisorOptions(), clock_);
  const protocol::Advice advice = Advise(advisor);
  const protocol::IndexFinding* redundant = FindingFor(advice, "pairs_a");
  ASSERT_NE(redundant, nullptr);
  EXPECT_EQ(redundant->kind, protocol::FindingKind::kRedundant);
  ASSERT_TRUE(redundant->covered_by.has_value());
  EXPECT_EQ(FindingFor(advice, "pairs_a_unique"), nullptr);
  EXPECT_EQ(FindingFor(advice, "pairs_a_b"), nullptr);
  EXPECT_EQ(FindingFor(advice, "pairs_b"), nullptr);
  // The finding becomes a drop proposal carrying the table's digest.
  const auto drop = std::find_if(advice.proposals.begin(), advice.proposals.end(),
                                 [](const auto& p) { return p.index == "pairs_a"; });
  ASSERT_NE(drop, advice.proposals.end());
  EXPECT_EQ(drop->kind, "drop_index");
  EXPECT_EQ(drop->table_digest, advice.schema->digests.at("public.pairs"));
}

TEST_F(AdvisorPgTest, LargeUnusedIndexIsReportedOnlyOnceTheStatisticsAreOldEnough) {
  cluster_->Exec(
      "CREATE TABLE wide (id int, token text);"
      "INSERT INTO wide SELECT g, md5(g::text) || md5((g + 1)::text) FROM "
      "generate_series(1, 150000) g;"
      "CREATE INDEX wide_token ON wide (token)");
  ASSERT_GE(std::stoll(cluster_->QueryValue("SELECT pg_relation_size('wide_token')")), 10ll << 20);

  AdvisorOptions young = KeyedAdvisorOptions();
  young.findings.unused_min_stats_age_s = 3600;  // statistics began at server start, seconds ago
  Advisor strict(young, clock_);
  const protocol::Advice first = Advise(strict);
  const protocol::IndexFinding* early = FindingFor(first, "wide_token");
  ASSERT_NE(early, nullptr);
  EXPECT_EQ(early->kind, protocol::FindingKind::kInsufficientHistory);
  EXPECT_EQ(first.stats.stats_since_source, "server_start");

  AdvisorOptions old_enough = KeyedAdvisorOptions();
  old_enough.findings.unused_min_stats_age_s = 0;
  Advisor lenient(old_enough, clock_);
  const protocol::Advice second = Advise(lenient);
  const protocol::IndexFinding* unused = FindingFor(second, "wide_token");
  ASSERT_NE(unused, nullptr);
  EXPECT_EQ(unused->kind, protocol::FindingKind::kUnused);
  EXPECT_GE(unused->bytes, 10ll << 20);

  // A scan makes it used.
  cluster_->Exec("SET enable_seqscan = off; SELECT * FROM wide WHERE token = 'x'");
  ASSERT_EQ(cluster_->QueryValue(
                "SELECT pg_stat_force_next_flush(); SELECT idx_scan FROM pg_stat_user_indexes "
                "WHERE indexrelname = 'wide_token'"),
            "1");
  Advisor again(old_enough, clock_);
  EXPECT_EQ(FindingFor(Advise(again), "wide_token"), nullptr);
}

TEST_F(AdvisorPgTest, IndexLeftInvalidByAFailedConcurrentUniqueBuildIsReported) {
  cluster_->Exec("CREATE TABLE dup (x int); INSERT INTO dup VALUES (1), (1), (2)");
  EXPECT_THROW(cluster_->Exec("CREATE UNIQUE INDEX CONCURRENTLY dup_x ON dup (x)"),
               std::runtime_error);
  ASSERT_EQ(cluster_->QueryValue(
                "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'dup_x'::regclass"),
            "false");
  Advisor advisor(KeyedAdvisorOptions(), clock_);
  const protocol::Advice advice = Advise(advisor);
  const protocol::IndexFinding* invalid = FindingFor(advice, "dup_x");
  ASSERT_NE(invalid, nullptr);
  EXPECT_EQ(invalid->kind, protocol::FindingKind::kInvalid);
  EXPECT_NE(invalid->reason.find("INVALID"), std::string::npos);
}

TEST_F(AdvisorPgTest, AddedColumnIsReportedAsDriftAndTheApplierRefusesTheOldDigest) {
  cluster_->Exec(
      "CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL DEFAULT 'nobody@x.org');"
      "CREATE TABLE other (id int)");
  Advisor advisor(KeyedAdvisorOptions(), clock_);
  const protocol::Advice first = Advise(advisor);
  ASSERT_TRUE(first.schema.has_value());
  EXPECT_TRUE(first.schema->full);
  EXPECT_TRUE(first.schema->drift.empty());
  const std::string old_digest = first.schema->digests.at("public.accounts");
  // Defaults are anonymized before they leave.
  for (const auto& table : first.schema->tables) {
    for (const auto& column : table.columns) {
      if (column.default_value) {
        EXPECT_EQ(column.default_value->find("nobody"), std::string::npos);
      }
    }
  }

  const protocol::Advice unchanged = Advise(advisor);
  EXPECT_FALSE(unchanged.schema->full);
  EXPECT_TRUE(unchanged.schema->tables.empty());
  EXPECT_TRUE(unchanged.schema->drift.empty());
  EXPECT_EQ(unchanged.schema->digests.at("public.accounts"), old_digest);

  cluster_->Exec("ALTER TABLE accounts ADD COLUMN plan text");
  const protocol::Advice changed = Advise(advisor);
  ASSERT_EQ(changed.schema->drift.size(), 1u);
  EXPECT_EQ(changed.schema->drift[0].table, "public.accounts");
  EXPECT_EQ(changed.schema->drift[0].change, "column_added");
  EXPECT_EQ(changed.schema->drift[0].name, "plan");
  ASSERT_EQ(changed.schema->tables.size(), 1u);
  EXPECT_EQ(changed.schema->tables[0].name, "accounts");
  const std::string new_digest = changed.schema->digests.at("public.accounts");
  EXPECT_NE(new_digest, old_digest);
  EXPECT_EQ(changed.schema->digests.at("public.other"), first.schema->digests.at("public.other"));

  // The applier: the old digest is refused, the current one applies.
  std::string dir = (std::filesystem::temp_directory_path() / "advisor-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  {
    auto audit = applier::AuditLog::Open(dir + "/audit.jsonl", clock_).value();
    {
      // Without the agent's key the digest cannot be checked: refused, never compared unkeyed.
      applier::Executor unkeyed(Session(pg::SessionMode::kApply), *audit, "shop");
      applier::CheckedRecommendation checked;
      checked.recommendation.id = "rec-no-key";
      checked.recommendation.database = "shop";
      protocol::CreateIndexSpec spec;
      spec.schema = "public";
      spec.table = "accounts";
      spec.columns = {"email"};
      checked.recommendation.spec = spec;
      checked.recommendation.table_digest = new_digest;
      auto refused = unkeyed.Apply(checked);
      ASSERT_TRUE(refused.ok());
      EXPECT_EQ(refused->event, protocol::LifecycleEvent::kRejected);
      EXPECT_NE(refused->detail.find("digest key is not available"), std::string::npos)
          << refused->detail;
    }
    applier::ExecutorOptions executor_options;
    executor_options.digest_key = TestDigestKey();
    applier::Executor executor(Session(pg::SessionMode::kApply), *audit, "shop", executor_options);
    applier::CheckedRecommendation checked;
    checked.recommendation.id = "rec-drift";
    checked.recommendation.database = "shop";
    protocol::CreateIndexSpec spec;
    spec.schema = "public";
    spec.table = "accounts";
    spec.columns = {"email"};
    checked.recommendation.spec = spec;
    checked.recommendation.table_digest = old_digest;
    auto refused = executor.Apply(checked);
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->event, protocol::LifecycleEvent::kRejected);
    EXPECT_NE(refused->detail.find("schema changed since the recommendation was made"),
              std::string::npos)
        << refused->detail;
    EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_indexes WHERE tablename = "
                                   "'accounts'"),
              "1");

    checked.recommendation.id = "rec-current";
    checked.recommendation.table_digest = new_digest;
    auto applied = executor.Apply(checked);
    ASSERT_TRUE(applied.ok());
    EXPECT_EQ(applied->event, protocol::LifecycleEvent::kApplied) << applied->detail;
    EXPECT_TRUE(applier::VerifyAuditFile(dir + "/audit.jsonl").ok);
  }
  std::filesystem::remove_all(dir);
}

TEST_F(AdvisorPgTest, LiteralsInIndexExpressionsAndSkipReasonsNeverLeaveTheAgent) {
  cluster_->Exec(
      "CREATE TABLE docs (id int, body jsonb, tag text); INSERT INTO docs SELECT g, "
      "jsonb_build_object('k', g), 't' || g FROM generate_series(1, 20000) g; ANALYZE docs;"
      "CREATE INDEX docs_secret ON docs ((body ->> 'ssn_secret_key'));"
      "SELECT * FROM docs WHERE tag = 'x' AND NULL IS NULL /* mail: someone@example.com */");
  Advisor advisor(KeyedAdvisorOptions(), clock_);
  const protocol::Advice advice = Advise(advisor);
  const std::string json = protocol::AdviceToJson("db", advice);
  EXPECT_EQ(json.find("ssn_secret_key"), std::string::npos) << json;
  EXPECT_EQ(json.find("someone@example.com"), std::string::npos) << json;
  EXPECT_EQ(json.find("IS NULL"), std::string::npos) << json;
  ASSERT_EQ(advice.skipped.size(), 1u);
  EXPECT_NE(advice.skipped[0].reason.find("SQLSTATE"), std::string::npos)
      << advice.skipped[0].reason;
}

TEST_F(AdvisorPgTest, StatementCallingAUserDefinedFunctionIsNeverPlanned) {
  cluster_->Exec(
      "CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 50000); ANALYZE t;"
      "CREATE TABLE calls (n int);"
      "CREATE FUNCTION noisy(int) RETURNS int STABLE LANGUAGE plpgsql AS "
      "$$BEGIN RAISE WARNING 'noisy ran'; RETURN $1; END$$;"
      "SELECT * FROM t WHERE a = 5 AND noisy(1) = 1");
  Advisor advisor(KeyedAdvisorOptions(), clock_);
  const protocol::Advice advice = Advise(advisor);
  EXPECT_TRUE(advice.proposals.empty());
  ASSERT_EQ(advice.skipped.size(), 1u);
  EXPECT_NE(advice.skipped[0].reason.find("not built in"), std::string::npos)
      << advice.skipped[0].reason;
}

TEST_F(AdvisorPgTest, PlanProbeRunsOneStatementOnlyWhateverTheServerSettings) {
  cluster_->Exec(
      "CREATE TABLE t (a int); ALTER DATABASE postgres SET standard_conforming_strings = off");
  auto session = Session();
  // With standard_conforming_strings off on the server, this text would be several statements.
  const std::string text =
      "SELECT 'x\\', ' ; COMMIT; START TRANSACTION READ WRITE; CREATE TABLE pwned (); COMMIT; "
      "--' AS y";
  auto proven = pg::ProveSafeToPlan(*session, text, pg::PlanPurpose::kAdvice);
  ASSERT_TRUE(proven.ok()) << proven.error().ToString();
  (void)pg::GenericPlanCost(*session, *proven);
  EXPECT_FALSE(
      pg::ProveSafeToPlan(*session, "SELECT 1; CREATE TABLE pwned ()", pg::PlanPurpose::kAdvice)
          .ok());
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname = 'pwned'"), "0");
  auto select =
      pg::ProveSafeToPlan(*session, "SELECT * FROM t WHERE a = $1", pg::PlanPurpose::kAdvice);
  ASSERT_TRUE(select.ok()) << select.error().ToString();
  auto cost = pg::GenericPlanCost(*session, *select);
  ASSERT_TRUE(cost.ok()) << cost.error().ToString();
  EXPECT_GT(*cost, 0);
}

TEST_F(AdvisorPgTest, PartitionedTablesGetNoUnappliableProposals) {
  cluster_->Exec(
      "CREATE TABLE p (k int, v int) PARTITION BY RANGE (k);"
      "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100000);"
      "CREATE INDEX p_k ON p (k); CREATE INDEX p1_k_v ON p1 (k, v);"
      "INSERT INTO p SELECT g, g FROM generate_series(1, 90000) g; ANALYZE p;"
      "SELECT * FROM p WHERE v = 5");
  AdvisorOptions options = KeyedAdvisorOptions();
  options.findings.unused_min_bytes = 0;
  options.findings.unused_min_stats_age_s = 0;
  Advisor advisor(options, clock_);
  const protocol::Advice advice = Advise(advisor);
  for (const auto& f : advice.findings) {
    EXPECT_NE(f.index, "p_k") << f.reason;
    EXPECT_NE(f.index.rfind("p1_k_idx", 0), 0u) << f.index << ": " << f.reason;
  }
  for (const auto& p : advice.proposals) {
    EXPECT_NE(p.table, "p") << p.reason;
    EXPECT_NE(p.index, "p_k");
  }
}

TEST_F(AdvisorPgTest, TableDigestIsTheSameWhateverTheSessionSettings) {
  cluster_->Exec(
      "CREATE TYPE mood AS ENUM ('ok', 'sad');"
      "CREATE TABLE s (d date DEFAULT '2020-01-31', p text DEFAULT 'C:\\dir', m mood, "
      "f float8 DEFAULT 0.1, c text COLLATE \"C\")");
  auto plain = Session();
  auto odd = Session(pg::SessionMode::kApply);
  ASSERT_TRUE(odd->Query("SET DateStyle = 'SQL, DMY'; SET search_path = public, pg_catalog; "
                         "SET extra_float_digits = 0; SET TimeZone = 'Asia/Kolkata'")
                  .ok());
  auto a = pg::ReadTableDigest(*plain, TestDigestKey(), {"public", "s"});
  auto b = pg::ReadTableDigest(*odd, TestDigestKey(), {"public", "s"});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ(**a, **b);
  cluster_->Exec("ALTER TABLE s ALTER COLUMN c TYPE text COLLATE \"POSIX\"");
  auto changed = pg::ReadTableDigest(*plain, TestDigestKey(), {"public", "s"});
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(**changed, **a);
}

TEST_F(AdvisorPgTest, IndexAnApprovedProposalIsBuildingIsNotProposedAgainDuringOrAfterTheBuild) {
  cluster_->Exec(
      "CREATE TABLE events (id int PRIMARY KEY, kind int, payload text);"
      "INSERT INTO events SELECT g, g % 20000, md5(g::text) FROM generate_series(1, 200000) g;"
      "ANALYZE events");
  for (int i = 0; i < 5; ++i) {
    cluster_->Exec("SELECT * FROM events WHERE kind = " + std::to_string(i * 7));
  }
  const auto on_kind = [](const protocol::Advice& advice) {
    std::vector<protocol::IndexProposal> out;
    for (const auto& p : advice.proposals) {
      if (p.kind == "create_index" && p.table == "events" &&
          p.columns == std::vector<std::string>{"kind"}) {
        out.push_back(p);
      }
    }
    return out;
  };
  AdvisorOptions options = KeyedAdvisorOptions();
  options.proposer.database = "shop";
  ChangesInProgress changes(clock_);
  Advisor advisor(options, clock_, &changes);
  const std::vector<protocol::IndexProposal> first = on_kind(Advise(advisor));
  ASSERT_EQ(first.size(), 1u);

  // Approved and taken by the apply worker, not in the catalog yet: held back by the worker's
  // record of it.
  protocol::CreateIndexSpec spec;
  spec.schema = "public";
  spec.table = "events";
  spec.columns = {"kind"};
  ChangesInProgress::InProgress taken = changes.Begin("shop", spec);
  EXPECT_TRUE(on_kind(Advise(advisor)).empty());

  std::string dir = (std::filesystem::temp_directory_path() / "advisor-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  auto audit = applier::AuditLog::Open(dir + "/audit.jsonl", clock_).value();
  applier::ExecutorOptions executor_options;
  executor_options.digest_key = TestDigestKey();
  auto apply_session = Session(pg::SessionMode::kApply);
  // The build is to wait for the writer below as long as it takes, not retry on a lock timeout.
  ASSERT_TRUE(apply_session->Query("SET lock_timeout = 0").ok());
  applier::Executor executor(std::move(apply_session), *audit, "shop", executor_options);
  applier::CheckedRecommendation checked;
  checked.recommendation.id = "rec-kind";
  checked.recommendation.database = "shop";
  checked.recommendation.spec = spec;
  checked.recommendation.table_digest = first[0].table_digest;
  Result<applier::ApplyOutcome> outcome = MakeError(ErrorCode::kInternal, "not run");
  std::jthread build;  // declared before the writer: the writer goes first, then the build ends
  // A transaction that writes to the table: CREATE INDEX CONCURRENTLY, once its index is in the
  // catalog, waits for it.
  std::unique_ptr<PGconn, decltype(&PQfinish)> writer(
      PQconnectdb(cluster_->ConnectionString().c_str()), PQfinish);
  PQclear(PQexec(writer.get(), "BEGIN; LOCK TABLE events IN ROW EXCLUSIVE MODE"));
  build = std::jthread([&] { outcome = executor.Apply(checked); });
  const std::string name = applier::IndexNameForRecommendation("rec-kind");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return cluster_->QueryValue(
                   "SELECT count(*) FROM pg_stat_progress_create_index p JOIN pg_class c ON "
                   "c.oid = p.index_relid WHERE c.relname = '" +
                   name + "'") == "1";
      },
      std::chrono::seconds(60)));

  // An advisor without the worker's record: the catalog alone keeps the index out, though the
  // table's digest (and so the id the control plane would give a proposal) changed.
  Advisor fresh(options, clock_);
  const protocol::Advice during = Advise(fresh);
  EXPECT_NE(during.schema->digests.at("public.events"), first[0].table_digest);
  const auto stat = std::find_if(during.indexes.begin(), during.indexes.end(),
                                 [&](const protocol::IndexStat& s) { return s.name == name; });
  ASSERT_NE(stat, during.indexes.end());
  EXPECT_TRUE(stat->being_built);
  EXPECT_FALSE(stat->valid);
  EXPECT_TRUE(on_kind(during).empty());
  EXPECT_TRUE(on_kind(Advise(advisor)).empty());

  PQclear(PQexec(writer.get(), "COMMIT"));
  build.join();
  ASSERT_TRUE(outcome.ok()) << outcome.error().ToString();
  EXPECT_EQ(outcome->event, protocol::LifecycleEvent::kApplied) << outcome->detail;
  taken = ChangesInProgress::InProgress();
  EXPECT_TRUE(on_kind(Advise(fresh)).empty());
  EXPECT_TRUE(on_kind(Advise(advisor)).empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace optischema::advisor
