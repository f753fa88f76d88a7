// The console in a real browser: headless Chromium (Debian) over WebDriver against the real
// optischema-controlplane over HTTPS with a test CA, and, for the whole loop, a real agent on a
// real PostgreSQL 15. A screenshot of every page goes to the test artifact directory.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "controlplane/store.h"
#include "core/time_format.h"
#include "protocol/sha256.h"
#include "protocol/snapshot_json.h"
#include "tests/support/agent_process.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/manual_clock.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/test_artifacts.h"
#include "tests/support/wait_for.h"
#include "tests/support/webdriver.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The last line of `text` without its newline.
std::string LastLine(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  return trimmed.substr(trimmed.rfind('\n') + 1);
}

class ConsoleBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    control_plane_ = std::make_unique<ControlPlaneProcess>();
    control_plane_->Start();
    public_key_ = control_plane_->InitKeys();
    driver_ = ChromeDriver::Start();
    BrowserSession::Options options;
    options.extra_args = {"--ignore-certificate-errors-spki-list=" +
                          SpkiSha256Base64(control_plane_->cert_file())};
    browser_ = BrowserSession::Start(*driver_, options);
  }
  void TearDown() override {
    browser_.reset();
    driver_.reset();
    control_plane_.reset();
  }

  // Creates a console user; returns the one-time password the command printed.
  std::string CreateUser(const std::string& name, const std::string& role) {
    const auto result = control_plane_->Run(
        {"users", "create", name, "--role", role, "--data", control_plane_->data_dir()});
    if (result.exit_code != 0) throw std::runtime_error("users create: " + result.err);
    return LastLine(result.out);
  }

  void Open(const std::string& path) { browser_->Navigate(control_plane_->base_url() + path); }

  // Clicks `css` (a submit button) and waits until the page it leads to has loaded: the old
  // document carries a mark the new one lacks.
  void ClickAndWaitForNextPage(const std::string& css) {
    browser_->ExecuteScript("window.optischemaOldPage = true");
    browser_->Click(*browser_->FindElement(css));
    const bool loaded = WaitFor(
        [&] {
          try {
            return browser_
                ->ExecuteScript("return window.optischemaOldPage !== true && "
                                "document.readyState === 'complete'")
                .get<bool>();
          } catch (const WebDriverError&) {
            return false;  // between documents
          }
        },
        15s);
    if (!loaded) throw std::runtime_error("no new page after clicking " + css);
  }

  // Fills and submits the login form; returns the path the browser ends on. A user whose
  // password was made for them is asked for their own first: it becomes `password` + " (own)".
  std::string LogIn(const std::string& name, const std::string& password) {
    Open("/login");
    browser_->SendKeys(*browser_->FindElement("#name"), name);
    browser_->SendKeys(*browser_->FindElement("#password"), password);
    ClickAndWaitForNextPage("#login");
    if (Path() == "/password") {
      Screenshot("password");
      browser_->SendKeys(*browser_->FindElement("#current"), password);
      browser_->SendKeys(*browser_->FindElement("#next"), password + " (own)");
      browser_->SendKeys(*browser_->FindElement("#again"), password + " (own)");
      ClickAndWaitForNextPage("#change-password");
    }
    return Path();
  }

  std::string Path() {
    return browser_->ExecuteScript("return location.pathname").get<std::string>();
  }

  std::string Text(const std::string& css) {
    const auto element = browser_->FindElement(css);
    return element ? browser_->ElementText(*element) : "";
  }

  void Screenshot(const std::string& name) {
    const std::string file = ArtifactDir() + "/console-" + name + ".png";
    browser_->Screenshot(file);
    EXPECT_GT(std::filesystem::file_size(file), 1000u) << file;
  }

  // Submits a POST from the page with fetch() (as a hand-made request would), carrying the
  // browser's cookie; returns the reply's status.
  int FetchPost(const std::string& path, const std::string& body) {
    return browser_
        ->ExecuteScript(
            "return fetch(arguments[0], {method: 'POST', headers: {'Content-Type': "
            "'application/x-www-form-urlencoded'}, body: arguments[1], redirect: 'manual'})"
            ".then(r => r.status)",
            json::array({path, body}))
        .get<int>();
  }

  // The CSRF token of the page's forms (every page has the logout form).
  std::string CsrfToken() {
    return browser_->ExecuteScript("return document.querySelector('input[name=csrf]').value")
        .get<std::string>();
  }

  // Points drawn and pixels painted on the chart canvas `id`: {drawn, painted}.
  json ChartPaint(const std::string& id) {
    return browser_->ExecuteScript(
        "const c = document.getElementById(arguments[0]);"
        "if (!c) return {drawn: 0, painted: 0};"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let painted = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) ++painted;"
        "return {drawn: Number(c.dataset.drawn || 0), painted: painted};",
        json::array({id}));
  }

  // Expects chart `id` to have drawn data: points and painted pixels, not an empty canvas.
  void ExpectChartDrawn(const std::string& id) {
    json paint;
    EXPECT_TRUE(WaitFor(
        [&] {
          paint = ChartPaint(id);
          return paint["drawn"].get<int>() > 0 && paint["painted"].get<int>() > 500;
        },
        10s))
        << id << ": " << paint.dump();
  }

  // Console audit records of `action` by `user`, read from the store.
  int ConsoleAuditCount(const std::string& action, const std::string& user) {
    ManualClock clock;
    auto store = controlplane::Store::Open(control_plane_->data_dir(),
                                           controlplane::Store::OpenMode::kExisting, clock);
    if (!store.ok()) throw std::runtime_error(store.error().message);
    const auto records = (*store)->ListConsoleAudit(10000);
    int n = 0;
    for (const auto& r : *records) n += r.action == action && r.user == user;
    return n;
  }

  std::unique_ptr<ControlPlaneProcess> control_plane_;
  std::string public_key_;
  std::unique_ptr<ChromeDriver> driver_;
  std::unique_ptr<BrowserSession> browser_;
};

// The whole loop with a real agent: collect, propose, look, approve, apply, audit, roll back.
class ConsoleLoopTest : public ConsoleBrowserTest {
 protected:
  void SetUp() override {
    ConsoleBrowserTest::SetUp();
    std::string pattern = (std::filesystem::temp_directory_path() / "console-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cluster_ = PgCluster::Start();
    cluster_->Exec("CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg");
    cluster_->Exec(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, status text, payload text);"
        "INSERT INTO orders SELECT g, g % 5000, 'done', repeat('x', 80) FROM "
        "generate_series(1, 200000) g; ANALYZE orders;"
        "CREATE ROLE shop_owner LOGIN; GRANT pg_monitor TO shop_owner;"
        "GRANT CREATE ON SCHEMA public TO shop_owner; ALTER TABLE orders OWNER TO shop_owner");
    workload_.reset(PQconnectdb(cluster_->ConnectionString().c_str()));
    ASSERT_EQ(PQstatus(workload_.get()), CONNECTION_OK);
    std::ofstream(dir_ + "/api-key") << control_plane_->CreateApiKey() << "\n";
    const std::string config =
        "[agent]\nstate_dir = \"" + dir_ +
        "/state\"\ninterval = \"1s\"\nheartbeat_interval = \"1s\"\n[control_plane]\nurl = \"" +
        control_plane_->base_url() + "\"\napi_key_file = \"" + dir_ + "/api-key\"\nca_file = \"" +
        control_plane_->ca_file() +
        "\"\nrecommendations_interval = \"1s\"\nrecommendation_public_key = \"" +
        public_key_ +
        "\"\n[collector]\ntext_refresh_interval = \"1s\"\n[advisor]\ninterval = \"1s\"\n"
        "[[database]]\nname = \"shop\"\ndsn = \"" +
        cluster_->ConnectionString("postgres", "shop_owner") + "\"\napply = true\n";
    agent_ = AgentProcess::Start(dir_, {config, {}});
    ASSERT_TRUE(WaitFor([&] { return !control_plane_->ListAgents().empty(); }, 30s))
        << agent_->Log();
  }
  void TearDown() override {
    agent_.reset();
    workload_.reset();
    cluster_.reset();
    std::filesystem::remove_all(dir_);
    ConsoleBrowserTest::TearDown();
  }

  void RunWorkload(int runs) {
    for (int i = 0; i < runs; ++i) {
      PQclear(PQexec(workload_.get(),
                     ("SELECT count(*) FROM orders WHERE customer_id = " + std::to_string(i))
                         .c_str()));
    }
  }

  // The control plane's log lines about its history (a snapshot it could not add).
  std::string HistoryWarnings() {
    std::string lines;
    std::istringstream log(control_plane_->ServerLog());
    for (std::string line; std::getline(log, line);) {
      if (line.find("history") != std::string::npos) lines += line + "\n";
    }
    return lines;
  }

  std::string OptischemaIndexes() {
    return cluster_->QueryValue(
        "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'optischema%'");
  }

  std::string dir_;
  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<PGconn, decltype(&PQfinish)> workload_{nullptr, PQfinish};
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(ConsoleLoopTest, ApproverApprovesTheAdvisorsProposalSeesItAppliedAuditedAndRolledBack) {
  const std::string password = CreateUser("alice", "approver");
  EXPECT_EQ(LogIn("alice", password), "/overview");
  Screenshot("login-done-overview-empty");

  // The advisor proposes an index for the statement the workload repeats.
  std::string id;
  ASSERT_TRUE(WaitFor(
      [&] {
        RunWorkload(20);
        Open("/recommendations?status=proposed");
        const auto links = browser_->FindElements("td a[href^='/recommendation?id=adv-']");
        if (links.empty()) return false;
        id = browser_->ElementText(links.front());
        return true;
      },
      120s))
      << agent_->Log();
  Screenshot("recommendations");

  // Enough history for charts: a few more snapshots with the workload running.
  const auto more = control_plane_->ListSnapshots().size() + 5;
  ASSERT_TRUE(WaitFor(
      [&] {
        RunWorkload(20);
        return control_plane_->ListSnapshots().size() >= more;
      },
      60s));
  Open("/overview");
  EXPECT_NE(Text("#kpi-tps"), "");
  for (const char* chart : {"chart-tps", "chart-connections", "chart-exec"}) {
    ExpectChartDrawn(chart);
  }
  EXPECT_FALSE(browser_->FindElements("td a[href^='/statement']").empty())
      << "top statements\n"
      << HistoryWarnings();
  Screenshot("overview");

  Open("/recommendation?id=" + id);
  EXPECT_EQ(Text("#status"), "proposed");
  EXPECT_EQ(Text("#risk"), "low");
  EXPECT_NE(Text("#risk-rule").find("CONCURRENTLY"), std::string::npos);
  Screenshot("recommendation-proposed");

  // The statement the proposal names, with its history.
  const auto statement_link = browser_->FindElement("a[href^='/statement']");
  ASSERT_TRUE(statement_link.has_value());
  ClickAndWaitForNextPage("a[href^='/statement']");
  EXPECT_NE(Text("#statement-text").find("customer_id"), std::string::npos);
  ExpectChartDrawn("chart-calls");
  ExpectChartDrawn("chart-mean");
  Screenshot("statement");

  Open("/advisor");
  Screenshot("advisor");

  // Approve it in the page.
  Open("/recommendation?id=" + id);
  browser_->SendKeys(*browser_->FindElement("#approve-note"), "looks right");
  ClickAndWaitForNextPage("form.approve button");
  EXPECT_EQ(Path(), "/recommendation");
  EXPECT_NE(Text("#done").find("approved"), std::string::npos);

  std::string status;
  ASSERT_TRUE(WaitFor(
      [&] {
        Open("/recommendation?id=" + id);
        status = Text("#status");
        return status == "applied" || status == "verified";
      },
      120s))
      << status << "\n"
      << agent_->Log();
  EXPECT_EQ(OptischemaIndexes(), "1") << "the agent really built the index";
  EXPECT_EQ(cluster_->QueryValue("SELECT bool_and(i.indisvalid)::text FROM pg_index i JOIN "
                                 "pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE "
                                 "'optischema%'"),
            "true");
  EXPECT_NE(Text("#timeline").find("applied"), std::string::npos);
  EXPECT_NE(Text("#timeline").find("alice"), std::string::npos);
  Screenshot("recommendation-applied");

  // The audit page: the approval by name, and the agent's records with the chain verified.
  ASSERT_TRUE(WaitFor(
      [&] {
        Open("/audit");
        return Text(".chain").find("chain verified") != std::string::npos &&
               Text("body").find("applied") != std::string::npos;
      },
      60s))
      << Text("body");
  const std::string people = Text("#console-audit");
  EXPECT_NE(people.find("alice"), std::string::npos);
  EXPECT_NE(people.find("approve"), std::string::npos);
  EXPECT_NE(people.find("looks right"), std::string::npos);
  Screenshot("audit");

  // Before and after: the guarded change, its statements' figures on both sides.
  RunWorkload(40);
  ASSERT_TRUE(WaitFor(
      [&] {
        Open("/before-after");
        return browser_->FindElement("#chart-before-after-0").has_value() &&
               ChartPaint("chart-before-after-0")["drawn"].get<int>() > 0;
      },
      60s))
      << Text("main");
  ExpectChartDrawn("chart-before-after-0");
  Screenshot("before-after");

  // Request the rollback: the agent drops the index.
  Open("/recommendation?id=" + id);
  ClickAndWaitForNextPage("form.rollback button");
  EXPECT_NE(Text("#done").find("rollback requested"), std::string::npos);
  ASSERT_TRUE(WaitFor(
      [&] {
        Open("/recommendation?id=" + id);
        status = Text("#status");
        return status == "rolled_back";
      },
      120s))
      << status << "\n"
      << agent_->Log();
  EXPECT_EQ(OptischemaIndexes(), "0") << "the index is gone from the database";
  Screenshot("recommendation-rolled-back");
  EXPECT_EQ(ConsoleAuditCount("rollback_request", "alice"), 1);
}

TEST_F(ConsoleBrowserTest, ViewerSeesNoActionsAndAForgedApproveIsRefusedAndAudited) {
  const json proposal = {
      {"agent_id", "0b8a3c1e-1111-4222-8333-444455556666"},
      {"database", "orders"},
      {"kind", "drop_index"},
      {"spec", {{"schema", "public"}, {"index", "orders_old_idx"}}},
      {"affected_queryids", json::array()},
      {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 10}, {"auto_rollback", false}}}};
  const std::string id = control_plane_->Recommend(proposal);
  const std::string password = CreateUser("bob", "viewer");
  EXPECT_EQ(LogIn("bob", password), "/overview");
  for (const char* page : {"/overview", "/recommendations", "/advisor", "/audit",
                           "/before-after"}) {
    Open(page);
    EXPECT_EQ(Path(), page) << "a viewer sees every page";
    EXPECT_TRUE(browser_->FindElements("form.approve, form.reject, form.rollback").empty());
  }
  Open("/recommendation?id=" + id);
  EXPECT_EQ(Text("#status"), "proposed");
  EXPECT_EQ(Text("#risk"), "high") << "a drop_index without evidence";
  EXPECT_TRUE(browser_->FindElements("form.approve, form.reject").empty());
  Screenshot("recommendation-viewer");

  // A hand-made approve with the viewer's own session and valid CSRF token.
  EXPECT_EQ(FetchPost("/recommendation/approve", "id=" + id + "&csrf=" + CsrfToken()), 403);
  EXPECT_EQ(control_plane_->FindRecommendation(id)["status"], "proposed");
  EXPECT_EQ(ConsoleAuditCount("forbidden", "bob"), 1);
  Open("/users");
  EXPECT_NE(Text("#message").find("may not"), std::string::npos);
}

TEST_F(ConsoleBrowserTest, PostsWithoutCsrfRequestsWithoutASessionAndIdleSessionsAreRefused) {
  const json proposal = {
      {"agent_id", "0b8a3c1e-1111-4222-8333-444455556666"},
      {"database", "orders"},
      {"kind", "create_index"},
      {"spec", {{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}}},
      {"affected_queryids", json::array()},
      {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 10}, {"auto_rollback", false}}}};
  const std::string id = control_plane_->Recommend(proposal);
  const std::string password = CreateUser("root", "admin");
  EXPECT_EQ(LogIn("root", password), "/overview");
  Open("/users");
  EXPECT_NE(Text("table").find("root"), std::string::npos);
  Screenshot("users");

  EXPECT_EQ(FetchPost("/recommendation/approve", "id=" + id), 403) << "no CSRF token";
  EXPECT_EQ(FetchPost("/recommendation/approve", "id=" + id + "&csrf=" + std::string(64, 'f')),
            403)
      << "someone else's token";
  EXPECT_EQ(control_plane_->FindRecommendation(id)["status"], "proposed");
  EXPECT_EQ(ConsoleAuditCount("csrf_refused", "root"), 2);

  // The session idles past its timeout: the store says so, the browser is sent to log in.
  const std::vector<Cookie> cookies = browser_->GetCookies();
  ASSERT_EQ(cookies.size(), 1u);
  EXPECT_TRUE(cookies[0].http_only);
  EXPECT_TRUE(cookies[0].secure);
  EXPECT_EQ(cookies[0].same_site, "Strict");
  {
    ManualClock clock;
    auto store = controlplane::Store::Open(control_plane_->data_dir(),
                                           controlplane::Store::OpenMode::kExisting, clock);
    ASSERT_TRUE(store.ok());
    const auto idle_since = std::chrono::duration_cast<std::chrono::seconds>(
                                (std::chrono::system_clock::now() - 31min).time_since_epoch())
                                .count();
    ASSERT_TRUE((*store)->TouchSession(protocol::Sha256Hex(cookies[0].value), idle_since).ok());
  }
  Open("/recommendations");
  EXPECT_EQ(Path(), "/login") << "an idle session is over";
  EXPECT_EQ(FetchPost("/recommendation/approve", "id=" + id), 401);

  // Without any session: pages send the browser to log in, the export answers 401.
  browser_->DeleteAllCookies();
  for (const char* page : {"/overview", "/audit", "/users"}) {
    Open(page);
    EXPECT_EQ(Path(), "/login") << page;
  }
  const int export_status =
      browser_
          ->ExecuteScript("return fetch('/export?agent=a&database=b&format=json')"
                          ".then(r => r.status)")
          .get<int>();
  EXPECT_EQ(export_status, 401);
  Screenshot("login");
}

TEST_F(ConsoleBrowserTest, FiveWrongPasswordsLockTheAccountAndTheRightOneIsThenRefused) {
  const std::string password = CreateUser("carol", "approver");
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(LogIn("carol", "wrong password " + std::to_string(i)), "/login");
    EXPECT_NE(Text("#login-error").find("wrong"), std::string::npos);
  }
  EXPECT_EQ(LogIn("carol", password), "/login") << "the sixth attempt, right password";
  EXPECT_NE(Text("#login-error").find("locked"), std::string::npos);
  Screenshot("login-locked");
  EXPECT_EQ(ConsoleAuditCount("login_failed", "carol"), 5);
  EXPECT_EQ(ConsoleAuditCount("lockout", "carol"), 1);
  EXPECT_EQ(ConsoleAuditCount("login_refused_locked", "carol"), 1);
  EXPECT_EQ(ConsoleAuditCount("login", "carol"), 0);
  const auto users = control_plane_->Run(
      {"users", "list", "--json", "--data", control_plane_->data_dir()});
  const json listed = json::parse(users.out);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["failed_login_attempts"], 5);
  EXPECT_TRUE(listed[0]["locked_until_s"].is_number());
}

// A snapshot of database orders collected `ago` before now, with activity (CPU and Lock, one
// blocking chain) and advice (one table with dead tuples and its finding).
protocol::Snapshot ActivitySnapshot(const std::string& agent_id, const std::string& id,
                                    std::chrono::seconds ago) {
  protocol::Snapshot snapshot;
  snapshot.snapshot_id = id;
  snapshot.agent_id = agent_id;
  snapshot.database = "orders";
  snapshot.collected_at = FormatRfc3339(std::chrono::system_clock::now() - ago);
  snapshot.window_s = 30;
  protocol::Activity& activity = snapshot.activity.emplace();
  activity.samples = 30;
  activity.sample_interval_s = 1;
  activity.statement_attribution = true;
  activity.load = 3;
  activity.max_active = 4;
  activity.by_wait_class = {{"Lock", 2}, {"CPU", 1}};
  activity.lock_wait_samples = 20;
  protocol::ChainSession root{4242, 0, std::nullopt, "idle in transaction", "client backend",
                              std::nullopt, std::nullopt, 25.0, 26.0};
  protocol::ChainSession blocked{4343, 1, 42, "active", "client backend", "Lock",
                                 "transactionid", 20.0, 20.5};
  activity.blocking = {{root, {blocked}, 1, 20.0, 20}};
  protocol::Advice& advice = snapshot.advice.emplace();
  protocol::TableHealth table;
  table.schema = "public";
  table.name = "orders";
  table.live_tuples = 1000;
  table.dead_tuples = 900;
  advice.table_health = protocol::TableHealthReport{{}, {table}, 0};
  protocol::VacuumFinding finding;
  finding.schema = "public";
  finding.table = "orders";
  finding.severity = "warning";
  finding.metric = "n_dead_tup";
  finding.reason = "900 dead tuples wait for a vacuum";
  advice.vacuum_findings = {finding};
  return snapshot;
}

TEST_F(ConsoleBrowserTest, OverviewChartsLoadByWaitClassAndBlockingAdvisorShowsTableHealth) {
  const std::string agent = "0b8a3c1e-1111-4222-8333-444455556666";
  const std::string key = control_plane_->CreateApiKey();
  EXPECT_EQ(LogIn("bob", CreateUser("bob", "viewer")), "/overview");
  // The agent's requests, made from the page with fetch() and the API key.
  const auto post = [&](const std::string& path, const std::string& body) {
    return browser_
        ->ExecuteScript("return fetch(arguments[0], {method: 'POST', headers: {'Authorization': "
                        "'Bearer ' + arguments[2], 'Content-Type': 'application/json'}, "
                        "body: arguments[1]}).then(r => r.status)",
                        json::array({path, body, key}))
        .get<int>();
  };
  EXPECT_EQ(post("/v1/agents/register", json{{"protocol", "1.0"},
                                             {"agent_id", agent},
                                             {"hostname", "h"},
                                             {"version", "0.1.0"},
                                             {"databases", json::array()}}
                                            .dump()),
            200);
  for (const auto& [id, ago] : {std::pair{"s-1", 150s}, std::pair{"s-2", 30s}}) {
    EXPECT_EQ(post("/v1/agents/" + agent + "/snapshots",
                   protocol::SnapshotToJson(ActivitySnapshot(agent, id, ago))),
              202)
        << id;
  }

  Open("/overview?agent=" + agent + "&database=orders");
  ExpectChartDrawn("chart-load");
  EXPECT_EQ(browser_->ExecuteScript("return document.getElementById('chart-load').chart.data"
                                    ".datasets.map(d => d.label)"),
            json::array({"CPU", "Lock"}));
  const auto sessions = browser_->FindElements("#blocking-chains tr.chain-session");
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_NE(browser_->ElementText(sessions[0]).find("pid 4242 (root)"), std::string::npos);
  EXPECT_NE(browser_->ElementText(sessions[1]).find("Lock: transactionid"), std::string::npos);
  Screenshot("overview-activity");

  Open("/advisor");
  EXPECT_NE(Text("#table-health tbody").find("public.orders"), std::string::npos);
  EXPECT_NE(Text("#vacuum-findings tbody").find("900 dead tuples wait"), std::string::npos);
  Screenshot("advisor-table-health");
}

}  // namespace
}  // namespace optischema::testing
