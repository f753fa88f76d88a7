// A database user attacks the agent through what it plans and builds: operators, types, policies
// and functions the user wrote must never run in an agent session, whether the advisor plans the
// user's statements, the applier builds a partial index, or a signed rewrite is estimated; and
// nothing read from the database leaves through an error. Every attack runs against the real
// agent binary, a real PostgreSQL 15 and, for applying, the real control plane.
//
// The attacker is the ordinary role `mallory`, who owns schema `ms` and may create objects in
// `public` (the default before PostgreSQL 15). Every trap calls ms.mark(tag), which leaves the
// warning "optischema-pwned <tag>" in the server log whenever it runs as any other role, so a
// test sees that the attacker's code ran in an agent session; a trap may also try to make
// mallory a superuser.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/agent_command.h"
#include "tests/support/agent_process.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kMarker[] = "optischema-pwned";

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class AttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "attack-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cluster_ = PgCluster::Start();
    cluster_->Exec(
        "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg;"
        "CREATE ROLE mallory LOGIN; CREATE SCHEMA ms AUTHORIZATION mallory;"
        "GRANT CREATE ON SCHEMA public TO mallory;"
        "CREATE TABLE m (id int, b varchar); INSERT INTO m SELECT g, 'v' || (g % 10) FROM "
        "generate_series(1, 100000) g; ANALYZE m; GRANT SELECT ON m TO mallory");
    AsMallory(
        "CREATE FUNCTION ms.mark(tag text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$"
        "BEGIN IF current_user <> 'mallory' THEN RAISE WARNING 'optischema-pwned %', tag; END IF;"
        " RETURN true; END$$;"
        "GRANT USAGE ON SCHEMA ms TO PUBLIC");
    monitoring_dsn_ = cluster_->MonitoringConnectionString();
  }

  void TearDown() override {
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs `sql` as mallory.
  void AsMallory(const std::string& sql) { cluster_->Exec("SET ROLE mallory; " + sql); }

  // Runs `statement` as mallory `times` times, so that it is among the top statements.
  void RunAsMallory(const std::string& statement, int times = 5) {
    for (int i = 0; i < times; ++i) AsMallory(statement);
  }

  // Finding 1's trap: the operator ms.= of mallory's, whose function the planner calls on the
  // most common values of m.b, used by a statement mallory runs.
  void OperatorTrap() {
    AsMallory(
        "CREATE FUNCTION ms.eq(varchar, name) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$"
        "BEGIN PERFORM ms.mark('operator'); RETURN $1::text = $2::text; END$$;"
        "CREATE OPERATOR ms.= (LEFTARG = varchar, RIGHTARG = name, FUNCTION = ms.eq, "
        "RESTRICT = eqsel)");
    RunAsMallory("SELECT id FROM m WHERE id = 5 AND b OPERATOR(ms.=) current_user");
  }

  std::string QueryId(const std::string& pattern) {
    return cluster_->QueryValue("SELECT queryid FROM pg_stat_statements WHERE query LIKE " +
                                Quoted(pattern) + " LIMIT 1");
  }

  // `optischema-agent advise --format json` connected with `dsn`; the parsed advice of the one
  // database.
  json Advise(const std::string& dsn) {
    last_run_ = RunAgent("OPTISCHEMA_DATABASE_URL=" + Quoted(dsn) +
                             " OPTISCHEMA_STATE_DIR=" + Quoted(dir_ + "/state"),
                         "advise --format json");
    EXPECT_EQ(last_run_.status, 0) << last_run_.err;
    const json advice = json::parse(last_run_.out, nullptr, /*allow_exceptions=*/false);
    if (!advice.is_array() || advice.empty()) return json::object();
    return advice[0];
  }

  // A queryid as the advice writes it (a string or a number).
  static std::string Id(const json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
  }

  // The reason the advice gives for skipping `queryid`, "" when it is not skipped.
  static std::string SkipReason(const json& advice, const std::string& queryid) {
    for (const json& skipped : advice["advisor"].value("skipped", json::array())) {
      if (Id(skipped.value("queryid", json())) == queryid) return skipped.value("reason", "");
    }
    return "";
  }

  static bool Proposes(const json& advice, const std::string& queryid) {
    for (const json& proposal : advice.value("proposals", json::array())) {
      for (const json& statement : proposal.value("statements", json::array())) {
        if (Id(statement.value("queryid", json())) == queryid) return true;
      }
    }
    return false;
  }

  std::string ServerLog() const { return ReadFile(cluster_->socket_dir() + "/log"); }

  // Nothing the attacker wrote ran in an agent session.
  void ExpectNoTrapRan() const {
    EXPECT_EQ(ServerLog().find(kMarker), std::string::npos) << cluster_->LogTail();
    EXPECT_EQ(last_run_.out.find(kMarker), std::string::npos);
    EXPECT_EQ(last_run_.err.find(kMarker), std::string::npos) << last_run_.err;
    EXPECT_EQ(cluster_->QueryValue("SELECT rolsuper::text FROM pg_roles WHERE rolname = 'mallory'"),
              "false");
  }

  std::string dir_;
  std::unique_ptr<PgCluster> cluster_;
  std::string monitoring_dsn_;
  AgentRun last_run_;
};

// Finding 1: a user-defined operator (not a function call) in a filter, whose function the
// planner would call on the column's most common values.
TEST_F(AttackTest, AdvisorNeverPlansAStatementWithAUserDefinedOperator) {
  OperatorTrap();
  const std::string queryid = QueryId("%OPERATOR(ms.=)%");

  const json advice = Advise(monitoring_dsn_);
  ExpectNoTrapRan();
  const std::string reason = SkipReason(advice, queryid);
  EXPECT_NE(reason.find("operator ms.="), std::string::npos) << advice.dump();
  EXPECT_NE(reason.find("not built in"), std::string::npos) << reason;
}

// An operator in public that matches the operand types better than the built-in one: the
// statement is planned, with pg_catalog's operator, and the attacker's never runs.
TEST_F(AttackTest, AdvisorPlansWithTheBuiltInOperatorWhateverPublicHolds) {
  AsMallory(
      "CREATE FUNCTION public.eq(varchar, name) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$"
      "BEGIN PERFORM ms.mark('public operator'); RETURN $1::text = $2::text; END$$;"
      "CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = name, FUNCTION = public.eq, "
      "RESTRICT = eqsel)");
  RunAsMallory("SELECT id FROM m WHERE id = 5 AND b = current_user");
  const std::string queryid = QueryId("%b = current_user%");

  const json advice = Advise(monitoring_dsn_);
  ExpectNoTrapRan();
  EXPECT_TRUE(Proposes(advice, queryid)) << advice.dump();
}

// A range type whose subtype_diff the planner's range selectivity would call.
TEST_F(AttackTest, AdvisorNeverPlansAStatementOverAUserDefinedType) {
  AsMallory(
      "CREATE FUNCTION ms.diff(float8, float8) RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS $$"
      "BEGIN PERFORM ms.mark('subtype_diff'); RETURN $1 - $2; END$$;"
      "CREATE TYPE ms.span AS RANGE (subtype = float8, subtype_diff = ms.diff);"
      "CREATE TABLE ms.r (id int, s ms.span); INSERT INTO ms.r SELECT g, ms.span(g, g + 10) "
      "FROM generate_series(1, 50000) g; ANALYZE ms.r; GRANT SELECT ON ms.r TO PUBLIC");
  RunAsMallory("SELECT id FROM ms.r WHERE id = 5 AND s && '[100,200)'");
  const std::string queryid = QueryId("%FROM ms.r WHERE%");

  const json advice = Advise(monitoring_dsn_);
  ExpectNoTrapRan();
  const std::string reason = SkipReason(advice, queryid);
  EXPECT_NE(reason.find("column s of a type that is not built in"), std::string::npos)
      << advice.dump();
}

// A row-level-security policy whose stable function planning would fold.
TEST_F(AttackTest, AdvisorNeverPlansAStatementOverATableWithRowSecurity) {
  AsMallory(
      "CREATE FUNCTION ms.who() RETURNS name LANGUAGE plpgsql STABLE AS $$"
      "BEGIN PERFORM ms.mark('policy'); RETURN current_user; END$$;"
      "CREATE TABLE ms.p (id int, owner name); INSERT INTO ms.p SELECT g, 'mallory' FROM "
      "generate_series(1, 50000) g; ANALYZE ms.p; GRANT SELECT ON ms.p TO PUBLIC;"
      "ALTER TABLE ms.p ENABLE ROW LEVEL SECURITY;"
      "CREATE POLICY mine ON ms.p USING (owner = ms.who())");
  RunAsMallory("SELECT id FROM ms.p WHERE id = 5");
  const std::string queryid = QueryId("%FROM ms.p WHERE%");

  const json advice = Advise(monitoring_dsn_);
  ExpectNoTrapRan();
  EXPECT_NE(SkipReason(advice, queryid).find("row-level security"), std::string::npos)
      << advice.dump();
}

// A built-in function that runs a query: planning folds it (it is stable and its arguments
// fold), and the query runs a view that calls the attacker's code as the agent.
TEST_F(AttackTest, AdvisorNeverPlansAStatementCallingAQueryRunningBuiltIn) {
  AsMallory(
      "CREATE VIEW public.optischema_agent AS SELECT ms.mark('view') AS x;"
      "GRANT SELECT ON public.optischema_agent TO PUBLIC");
  RunAsMallory(
      "SELECT id FROM m WHERE id = 5 AND b::text = table_to_xml(to_regclass(current_user::text), "
      "current_user IS NOT NULL, current_user IS NULL, current_user::text)::text");
  const std::string queryid = QueryId("%table_to_xml%");

  const json advice = Advise(monitoring_dsn_);
  ExpectNoTrapRan();
  EXPECT_NE(SkipReason(advice, queryid).find("table_to_xml, which runs a query"), std::string::npos)
      << advice.dump();
}

// The agent plans nothing as a superuser, whatever the statement.
TEST_F(AttackTest, AdvisorPlansNothingAsASuperuser) {
  OperatorTrap();
  RunAsMallory("SELECT id FROM m WHERE id = 7");
  const std::string plain = QueryId("SELECT id FROM m WHERE id = $1");

  const json advice = Advise(cluster_->ConnectionString());
  ExpectNoTrapRan();
  EXPECT_NE(SkipReason(advice, plain).find("superuser"), std::string::npos) << advice.dump();
  EXPECT_TRUE(advice.value("proposals", json::array()).empty()) << advice.dump();
}

// A column default calling mallory's function, and a view over it: the function writes a row
// when it runs. The statement over the view is not planned (no plan of it is sent); the one over
// the table is (planning a SELECT never evaluates a column default); the function never ran as
// the agent.
TEST_F(AttackTest, AdvisorNeverRunsAUserFunctionOfAColumnDefaultOrAViewWhilePlanning) {
  AsMallory(
      "CREATE TABLE ms.ran (who name); GRANT INSERT, SELECT ON ms.ran TO PUBLIC;"
      "CREATE FUNCTION ms.logged() RETURNS int LANGUAGE plpgsql VOLATILE AS $$"
      "BEGIN INSERT INTO ms.ran VALUES (current_user); PERFORM ms.mark('default or view');"
      " RETURN 1; END$$;"
      "CREATE TABLE ms.d (id int, v int DEFAULT ms.logged()); INSERT INTO ms.d SELECT g, g FROM "
      "generate_series(1, 20000) g; ANALYZE ms.d; GRANT SELECT ON ms.d TO PUBLIC;"
      "CREATE VIEW ms.v AS SELECT id, ms.logged() AS x FROM ms.d; GRANT SELECT ON ms.v TO PUBLIC");
  RunAsMallory("SELECT id FROM ms.d WHERE id = 5");
  RunAsMallory("SELECT x FROM ms.v WHERE id = 6");
  const std::string over_default = QueryId("%FROM ms.d WHERE%");
  const std::string over_view = QueryId("%FROM ms.v WHERE%");

  const json advice = Advise(monitoring_dsn_);
  ExpectNoTrapRan();
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM ms.ran WHERE who <> 'mallory'"), "0");
  std::set<std::string> planned;
  for (const json& plan : advice.value("plans", json::array())) {
    planned.insert(Id(plan.value("queryid", json())));
  }
  EXPECT_FALSE(planned.contains(over_view)) << advice.dump();
  EXPECT_TRUE(planned.contains(over_default)) << advice.dump();
}

// The agent daemon applying and estimating signed recommendations for database "shop", with the
// reference control plane signing them.
class ApplyAttackTest : public AttackTest {
 protected:
  void SetUp() override {
    AttackTest::SetUp();
    if (HasFatalFailure()) return;
    control_plane_ = std::make_unique<ControlPlaneProcess>();
    control_plane_->Start();
    std::ofstream(dir_ + "/api-key") << control_plane_->CreateApiKey() << "\n";
    public_key_ = control_plane_->InitKeys();
  }

  void TearDown() override {
    agent_.reset();
    control_plane_.reset();
    AttackTest::TearDown();
  }

  // Starts the daemon connected with `dsn` and waits for its registration.
  void StartAgent(const std::string& dsn) {
    const std::string config =
        "[agent]\nstate_dir = \"" + dir_ + "/state\"\ninterval = \"1s\"\nlog_format = \"json\"\n" +
        "[control_plane]\nurl = \"" + control_plane_->base_url() + "\"\napi_key_file = \"" + dir_ +
        "/api-key\"\nca_file = \"" + control_plane_->ca_file() +
        "\"\nrecommendations_interval = \"1s\"\nrecommendation_public_key = \"" + public_key_ +
        "\"\n[advisor]\nenabled = false\n[[database]]\nname = \"shop\"\ndsn = \"" + dsn +
        "\"\napply = true\n";
    agent_ = AgentProcess::Start(dir_, {config, {}});
    ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ + "/state/agent_id"); }, 20s))
        << agent_->Log();
    std::ifstream(dir_ + "/state/agent_id") >> agent_id_;
    ASSERT_TRUE(WaitFor([&] { return !control_plane_->ListAgents().empty(); }, 20s))
        << agent_->Log();
  }

  // Stores and approves a recommendation; returns its id.
  std::string Recommend(const std::string& kind, const json& spec,
                        const json& affected = json::array()) {
    return control_plane_->RecommendApproved(agent_id_, "shop", kind, spec, affected);
  }

  json Recommendation(const std::string& id) const {
    return control_plane_->FindRecommendation(id);
  }

  // Waits until `id` reaches a final status; returns it.
  std::string FinalStatus(const std::string& id) {
    std::string status;
    EXPECT_TRUE(WaitFor(
        [&] {
          status = Recommendation(id).value("status", "");
          return status == "applied" || status == "rejected" || status == "failed" ||
                 status == "verified";
        },
        60s))
        << Recommendation(id).dump() << "\n"
        << agent_->Log();
    return status;
  }

  std::string Detail(const std::string& id) const { return control_plane_->LastEventDetail(id); }

  // `secret` appears in no event detail, no audit record's detail (local or mirrored) and no line
  // of the agent's log.
  void ExpectNotReported(const std::string& secret) {
    EXPECT_EQ(agent_->Log().find(secret), std::string::npos);
    for (const json& rec : control_plane_->ListRecommendations()) {
      EXPECT_EQ(rec.value("last_event", json::object()).dump().find(secret), std::string::npos);
    }
    for (const json& record : control_plane_->ListAudit()) {
      EXPECT_EQ(record.value("detail", "").find(secret), std::string::npos) << record.dump();
    }
  }

  // `secret` appears nowhere: no event, audit record (local or mirrored), agent log or stored
  // recommendation.
  void ExpectNowhere(const std::string& secret) {
    EXPECT_EQ(control_plane_->ListRecommendations().dump().find(secret), std::string::npos);
    EXPECT_EQ(control_plane_->ListAudit().dump().find(secret), std::string::npos);
    EXPECT_EQ(ReadFile(dir_ + "/state/audit.jsonl").find(secret), std::string::npos);
    EXPECT_EQ(agent_->Log().find(secret), std::string::npos);
  }

  std::unique_ptr<ControlPlaneProcess> control_plane_;
  std::unique_ptr<AgentProcess> agent_;
  std::string public_key_;
  std::string agent_id_;
};

// Finding 2: a partial index whose predicate compares a varchar column with a string. An
// operator public.=(varchar, varchar) matches better than pg_catalog's, and building the index
// would run it, as the (here superuser) apply role, on every row.
TEST_F(ApplyAttackTest, PartialIndexPredicateUsesOnlyTheBuiltInOperator) {
  AsMallory(
      "CREATE FUNCTION ms.escalate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$"
      "BEGIN IF current_user <> 'mallory' THEN ALTER ROLE mallory SUPERUSER; END IF; "
      "RETURN true; END$$;"
      "CREATE FUNCTION public.eq(varchar, varchar) RETURNS boolean LANGUAGE plpgsql IMMUTABLE "
      "AS $$BEGIN PERFORM ms.mark('predicate'); PERFORM ms.escalate(); "
      "RETURN $1::text = $2::text; END$$;"
      "CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.eq)");
  StartAgent(cluster_->ConnectionString());
  const std::string equal = Recommend("create_index", {{"schema", "public"},
                                                       {"table", "m"},
                                                       {"columns", {"id"}},
                                                       {"where", "b = 'v2'"},
                                                       {"skip_hypopg_check", true}});
  EXPECT_EQ(FinalStatus(equal), "applied") << Detail(equal);
  const std::string in_list =
      Recommend("create_index", {{"schema", "public"},
                                 {"table", "m"},
                                 {"columns", {"b"}},
                                 {"where", "b IN ('v3', 'v4') AND NOT b <> 'v3'"},
                                 {"skip_hypopg_check", true}});
  EXPECT_EQ(FinalStatus(in_list), "applied") << Detail(in_list);
  ExpectNoTrapRan();
  // Both predicates compare with pg_catalog's operators: printed without public on the path,
  // an operator of public's would show as OPERATOR(public.=).
  EXPECT_EQ(cluster_->QueryValue(
                "SET search_path = pg_catalog; SELECT count(*) FROM pg_index i JOIN pg_class c ON "
                "c.oid = i.indexrelid WHERE c.relname LIKE 'optischema%' AND i.indpred IS NOT "
                "NULL AND pg_get_expr(i.indpred, i.indrelid) NOT LIKE '%public%'"),
            "2");
}

// A column of a type the attacker owns (here a domain; its constraints, and casts from a type the
// attacker owns, are the attacker's code): the agent builds no index over it.
TEST_F(ApplyAttackTest, IndexOverAColumnOfAUserDefinedTypeIsRefused) {
  AsMallory(
      "CREATE DOMAIN ms.code AS varchar;"
      "CREATE TABLE ms.t (id int, c ms.code); INSERT INTO ms.t SELECT g, 'c' || g FROM "
      "generate_series(1, 1000) g");
  cluster_->Exec("ALTER TABLE ms.t OWNER TO postgres");
  StartAgent(cluster_->ConnectionString());
  const std::string id = Recommend("create_index", {{"schema", "ms"},
                                                    {"table", "t"},
                                                    {"columns", {"id"}},
                                                    {"where", "c = 'c5'"},
                                                    {"skip_hypopg_check", true}});
  EXPECT_EQ(FinalStatus(id), "rejected");
  EXPECT_NE(Detail(id).find("has a type that is not built in"), std::string::npos) << Detail(id);
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_indexes WHERE tablename = 't'"), "0");
}

// The apply session reads pg_stat_statements only from the extension's own schema: a relation of
// that name in public, where the extension is not, would feed the HypoPG check texts to plan
// and run the attacker's code when read.
TEST_F(ApplyAttackTest, ApplySessionReadsPgStatStatementsFromTheExtensionSchemaOnly) {
  cluster_->Exec(
      "DROP EXTENSION pg_stat_statements; CREATE SCHEMA monitoring; "
      "GRANT USAGE ON SCHEMA monitoring TO PUBLIC;"
      "CREATE EXTENSION pg_stat_statements SCHEMA monitoring");
  AsMallory(
      "CREATE VIEW public.pg_stat_statements AS SELECT q.* FROM monitoring.pg_stat_statements q "
      "WHERE ms.mark('fake pg_stat_statements')");
  for (int i = 0; i < 5; ++i) cluster_->Exec("SELECT id FROM m WHERE id = " + std::to_string(i));
  const std::string queryid = cluster_->QueryValue(
      "SELECT queryid FROM monitoring.pg_stat_statements WHERE query LIKE 'SELECT id FROM m%'");
  StartAgent(cluster_->ConnectionString());
  const std::string id =
      Recommend("create_index", {{"schema", "public"}, {"table", "m"}, {"columns", {"id"}}},
                json::array({std::stoll(queryid)}));
  EXPECT_EQ(FinalStatus(id), "applied") << Detail(id);
  ExpectNoTrapRan();
}

// Rewrites are estimated by the monitoring role (a rewrite changes nothing), which here may also
// read every table and the catalogs (pg_read_all_data, as older setups granted).
class RewriteAttackTest : public ApplyAttackTest {
 protected:
  void SetUp() override {
    ApplyAttackTest::SetUp();
    if (HasFatalFailure()) return;
    cluster_->Exec(
        "CREATE TABLE secrets (s text); INSERT INTO secrets VALUES ('SECRET-ROW-7f3a');"
        "GRANT pg_read_all_data TO optischema_agent");
    for (int i = 0; i < 5; ++i) cluster_->Exec("SELECT id FROM m WHERE id = " + std::to_string(i));
    StartAgent(monitoring_dsn_);
  }

  std::string Rewrite(const std::string& original, const std::string& rewritten) {
    return Recommend("rewrite", {{"original", original}, {"rewritten", rewritten}});
  }
};

// Finding 3: planning folds a stable function whose error text would carry a table's rows.
TEST_F(RewriteAttackTest, FoldedTableContentsNeverReachAnEventOrTheAuditLog) {
  const std::string leak =
      "SELECT 1 FROM pg_catalog.pg_class WHERE oid = CAST(translate(CAST(table_to_xml("
      "'public.secrets',true,true,'') AS text), chr(10),' ') AS oid)";
  const std::string as_original = Rewrite(leak, "SELECT id FROM m WHERE id = $1");
  EXPECT_EQ(FinalStatus(as_original), "rejected");
  EXPECT_NE(Detail(as_original).find("not a statement of this database"), std::string::npos)
      << Detail(as_original);
  const std::string as_rewritten = Rewrite(
      "SELECT id FROM m WHERE id = $1",
      "SELECT id FROM m WHERE id = CAST(CAST(table_to_xml('public.secrets', true, true, '') AS "
      "text) AS int)");
  EXPECT_EQ(FinalStatus(as_rewritten), "rejected");
  EXPECT_NE(Detail(as_rewritten).find("table_to_xml"), std::string::npos) << Detail(as_rewritten);
  ExpectNowhere("SECRET-ROW-7f3a");
}

// A value the planner folds from a constant and fails on: only the SQLSTATE is reported.
TEST_F(RewriteAttackTest, PlanningErrorIsReportedBySqlstateOnly) {
  const std::string id = Rewrite("SELECT id FROM m WHERE id = $1",
                                 "SELECT id FROM m WHERE id = CAST('QUOTED-VALUE-91c2' AS int)");
  EXPECT_EQ(FinalStatus(id), "rejected");
  EXPECT_NE(Detail(id).find("SQLSTATE 22P02"), std::string::npos) << Detail(id);
  // The value is the recommendation's own (it is in the audited recommendation), but the server's
  // message quoting it is reported nowhere.
  ExpectNotReported("QUOTED-VALUE-91c2");
}

// Finding 14: the costs of a rewritten text that reads another table encode what it folds.
TEST_F(RewriteAttackTest, RewrittenTextMayReadOnlyTheOriginalsRelations) {
  const std::string id =
      Rewrite("SELECT id FROM m WHERE id = $1",
              "SELECT id FROM m WHERE id = $1 AND EXISTS (SELECT 1 FROM secrets WHERE s > $2)");
  EXPECT_EQ(FinalStatus(id), "rejected");
  EXPECT_NE(Detail(id).find("reads a relation the original does not read"), std::string::npos)
      << Detail(id);
  const std::string stable =
      Rewrite("SELECT id FROM m WHERE id = $1",
              "SELECT id FROM m WHERE id = $1 AND b = pg_catalog.current_setting('my.secret', "
              "true)");
  EXPECT_EQ(FinalStatus(stable), "rejected");
  EXPECT_NE(Detail(stable).find("not immutable"), std::string::npos) << Detail(stable);
}

// Finding 13: nothing the agent plans may read a system catalog (pg_authid holds the password
// verifiers), whatever the role may read.
TEST_F(RewriteAttackTest, RewriteReadingASystemCatalogIsRefused) {
  const std::string id =
      Rewrite("SELECT id FROM m WHERE id = $1",
              "SELECT id FROM m WHERE id = $1 AND EXISTS (SELECT 1 FROM pg_catalog.pg_authid WHERE "
              "rolpassword > $2)");
  EXPECT_EQ(FinalStatus(id), "rejected");
  EXPECT_NE(Detail(id).find("system catalog pg_catalog.pg_authid"), std::string::npos)
      << Detail(id);
  const std::string unqualified =
      Rewrite("SELECT id FROM m WHERE id = $1",
              "SELECT id FROM m WHERE id = $1 AND EXISTS (SELECT 1 FROM pg_authid)");
  EXPECT_EQ(FinalStatus(unqualified), "rejected");
  EXPECT_NE(Detail(unqualified).find("system catalog"), std::string::npos) << Detail(unqualified);
}

// A rewrite of an observed statement that passes every rule is still estimated.
TEST_F(RewriteAttackTest, SafeRewriteOfAnObservedStatementIsEstimated) {
  const std::string id =
      Rewrite("SELECT id FROM m WHERE id = 42", "SELECT id FROM m WHERE id = $1 AND abs(id) = $1");
  EXPECT_EQ(FinalStatus(id), "verified") << Detail(id);
  EXPECT_NE(Detail(id).find("estimated cost"), std::string::npos) << Detail(id);
}

}  // namespace
}  // namespace optischema::testing
