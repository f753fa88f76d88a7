// The console's router and pages (console.h) without HTTP: sessions, CSRF, roles, the two-person
// rule, escaping and export, on a temporary data directory with a manual clock.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>

#include "controlplane/console.h"
#include "controlplane/recommendation_commands.h"
#include "controlplane/series_extraction.h"
#include "controlplane/signing_key.h"
#include "controlplane/store.h"
#include "controlplane/user_management.h"
#include "core/time_format.h"
#include "protocol/sha256.h"
#include "tests/support/manual_clock.h"

namespace optischema::controlplane {
namespace {

namespace fs = std::filesystem;

constexpr char kAgent[] = "0b8a3c1e-1111-4222-8333-444455556666";
constexpr char kPassword[] = "a long enough password";

struct Browser {
  std::string cookie;
  std::string csrf;
};

std::string Header(const ApiReply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers) {
    if (key == name) return value;
  }
  return {};
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "optischema-console-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    data_ = dir_ + "/data";
    auto store = Store::Open(data_, Store::OpenMode::kCreate, clock_);
    if (!store.ok()) throw std::runtime_error(store.error().message);
    store_ = std::move(*store);
    ASSERT_TRUE(CreateSigningKey(data_, false).ok());
    ASSERT_TRUE(CreateUser(*store_, "alice", Role::kApprover, kPassword, "t", "cli").ok());
    ASSERT_TRUE(CreateUser(*store_, "carol", Role::kApprover, kPassword, "t", "cli").ok());
    ASSERT_TRUE(CreateUser(*store_, "bob", Role::kViewer, kPassword, "t", "cli").ok());
    MakeConsole({});
  }
  void TearDown() override {
    console_.reset();
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void MakeConsole(ApprovalPolicy policy) {
    console_ = std::make_unique<Console>(*store_, ConsoleOptions{data_, policy, ""}, clock_);
  }

  ApiReply Get(const std::string& path, const Browser& browser,
               std::map<std::string, std::string> query = {}) {
    WebRequest request{"GET", path, std::move(query), {}, "", "", "cp.example:8443", "192.0.2.1"};
    if (!browser.cookie.empty()) request.cookie = "optischema_session=" + browser.cookie;
    return console_->Handle(request);
  }

  ApiReply Post(const std::string& path, const Browser& browser,
                std::map<std::string, std::string> form, bool with_csrf = true,
                const std::string& origin = "https://cp.example:8443") {
    if (with_csrf) form["csrf"] = browser.csrf;
    WebRequest request{"POST", path, {}, std::move(form), "", origin, "cp.example:8443",
                       "192.0.2.1"};
    if (!browser.cookie.empty()) request.cookie = "theme=dark; optischema_session=" + browser.cookie;
    return console_->Handle(request);
  }

  Browser LogIn(const std::string& name) {
    const ApiReply reply =
        Post("/login", {}, {{"name", name}, {"password", kPassword}}, /*with_csrf=*/false);
    const std::string cookie = Header(reply, "Set-Cookie");
    if (reply.status != 303 || cookie.empty()) throw std::runtime_error("login failed");
    Browser browser;
    browser.cookie = cookie.substr(cookie.find('=') + 1, 64);
    auto session = store_->GetSession(protocol::Sha256Hex(browser.cookie));
    browser.csrf = (*session)->csrf_token;
    return browser;
  }

  std::string Propose(const std::string& kind, const nlohmann::json& spec) {
    const nlohmann::json proposal = {
        {"agent_id", kAgent},
        {"database", "orders"},
        {"kind", kind},
        {"spec", spec},
        {"affected_queryids", nlohmann::json::array({42})},
        {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 0}, {"auto_rollback", true}}},
        {"expires_at", FormatRfc3339(clock_.Now() + std::chrono::hours(24))}};
    const std::string file = dir_ + "/proposal.json";
    std::ofstream(file) << proposal.dump();
    std::ostringstream out, err;
    if (RunRecommend(data_, file, clock_, out, err) != 0) throw std::runtime_error(err.str());
    return out.str().substr(0, out.str().size() - 1);
  }

  std::string Status(const std::string& id) {
    return (*store_->GetRecommendation(id))->record.status;
  }

  int Count(const std::string& action) {
    int n = 0;
    const auto records = store_->ListConsoleAudit(1000);
    for (const ConsoleAuditRecord& r : *records) n += r.action == action;
    return n;
  }

  std::string dir_;
  std::string data_;
  testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Console> console_;
};

TEST_F(ConsoleTest, WithoutASessionPagesRedirectToLoginAndDataAndActionsAre401) {
  const ApiReply page = Get("/overview", {});
  EXPECT_EQ(page.status, 303);
  EXPECT_EQ(Header(page, "Location"), "/login");
  EXPECT_EQ(Get("/export", {}, {{"agent", kAgent}, {"database", "orders"}}).status, 401);
  EXPECT_EQ(Post("/recommendation/approve", {}, {{"id", "x"}}, false).status, 401);
  EXPECT_EQ(Get("/overview", Browser{std::string(64, 'a'), ""}).status, 303)
      << "an unknown session id";
}

TEST_F(ConsoleTest, EveryReplyCarriesAStrictContentSecurityPolicy) {
  const Browser alice = LogIn("alice");
  for (const ApiReply& reply : {Get("/login", {}), Get("/overview", alice),
                                Get("/static/console.js", {}), Get("/audit", alice)}) {
    const std::string csp = Header(reply, "Content-Security-Policy");
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
    EXPECT_EQ(csp.find("http"), std::string::npos) << "no other origin";
    EXPECT_EQ(Header(reply, "X-Content-Type-Options"), "nosniff");
  }
  const std::string cookie = Header(Post("/login", {}, {{"name", "alice"},
                                                        {"password", kPassword}},
                                         false),
                                    "Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("Secure"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
}

TEST_F(ConsoleTest, ViewerSeesNoActionsAndAForgedApproveIsRefusedAndAudited) {
  const std::string id = Propose("create_index", {{"schema", "public"},
                                                  {"table", "orders"},
                                                  {"columns", {"customer_id"}}});
  const Browser bob = LogIn("bob");
  const ApiReply page = Get("/recommendation", bob, {{"id", id}});
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body.find("/recommendation/approve"), std::string::npos);
  EXPECT_NE(page.body.find("create_index is low"), std::string::npos) << "the rule is written";
  const ApiReply forged = Post("/recommendation/approve", bob, {{"id", id}});
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(Status(id), "proposed");
  EXPECT_EQ(Count("forbidden"), 1);
}

TEST_F(ConsoleTest, PostsWithoutTheCsrfTokenOrFromAnotherOriginAreRefused) {
  const std::string id = Propose("create_index", {{"schema", "public"},
                                                  {"table", "orders"},
                                                  {"columns", {"customer_id"}}});
  const Browser alice = LogIn("alice");
  EXPECT_EQ(Post("/recommendation/approve", alice, {{"id", id}}, /*with_csrf=*/false).status, 403);
  EXPECT_EQ(
      Post("/recommendation/approve", alice, {{"id", id}, {"csrf", std::string(64, '0')}}, false)
          .status,
      403);
  EXPECT_EQ(Post("/recommendation/approve", alice, {{"id", id}}, true, "https://evil.example")
                .status,
            403);
  EXPECT_EQ(Status(id), "proposed");
  EXPECT_EQ(Count("csrf_refused"), 3);
  EXPECT_EQ(Post("/login", {}, {{"name", "alice"}, {"password", kPassword}}, false,
                 "https://evil.example")
                .status,
            403);
}

TEST_F(ConsoleTest, ApproverApprovesAndTheAgentIsServedItSignedWithTheirName) {
  const std::string id = Propose("create_index", {{"schema", "public"},
                                                  {"table", "orders"},
                                                  {"columns", {"customer_id"}}});
  const Browser alice = LogIn("alice");
  const ApiReply reply = Post("/recommendation/approve", alice, {{"id", id}, {"note", "ok"}});
  EXPECT_EQ(reply.status, 303);
  EXPECT_EQ(Status(id), "approved");
  const nlohmann::json body =
      nlohmann::json::parse((*store_->GetRecommendation(id))->record.body_json);
  EXPECT_EQ(body["approved_by"], "alice");
  EXPECT_TRUE(body.contains("signature"));
  EXPECT_EQ(Count("approve"), 1);
  const ApiReply page = Get("/recommendation", alice, {{"id", id}});
  EXPECT_NE(page.body.find(">approve<"), std::string::npos) << "the timeline shows it";
  EXPECT_EQ(Post("/recommendation/approve", alice, {{"id", id}}).status, 409)
      << "approving twice";
}

TEST_F(ConsoleTest, TwoPersonRuleSignsOnlyAfterASecondDifferentApprover) {
  MakeConsole(ApprovalPolicy{{"drop_index"}});
  const std::string id = Propose("drop_index", {{"schema", "public"}, {"index", "orders_old"}});
  const Browser alice = LogIn("alice");
  const Browser carol = LogIn("carol");
  EXPECT_EQ(Post("/recommendation/approve", alice, {{"id", id}}).status, 303);
  EXPECT_EQ(Status(id), "awaiting_second_approval");
  EXPECT_EQ(Post("/recommendation/approve", alice, {{"id", id}}).status, 409);
  EXPECT_EQ(Status(id), "awaiting_second_approval");
  EXPECT_EQ(Post("/recommendation/approve", carol, {{"id", id}}).status, 303);
  EXPECT_EQ(Status(id), "approved");
  const nlohmann::json body =
      nlohmann::json::parse((*store_->GetRecommendation(id))->record.body_json);
  EXPECT_EQ(body["approved_by"], "alice, carol");

  const std::string create = Propose("create_index", {{"schema", "public"},
                                                      {"table", "orders"},
                                                      {"columns", {"id"}}});
  EXPECT_EQ(Post("/recommendation/approve", alice, {{"id", create}}).status, 303);
  EXPECT_EQ(Status(create), "approved") << "kinds outside the rule need one approver";
}

TEST_F(ConsoleTest, RejectNeedsAReasonAndRollbackNeedsAnAppliedChange) {
  const std::string id = Propose("create_index", {{"schema", "public"},
                                                  {"table", "orders"},
                                                  {"columns", {"customer_id"}}});
  const Browser alice = LogIn("alice");
  EXPECT_EQ(Post("/recommendation/rollback", alice, {{"id", id}}).status, 409);
  EXPECT_EQ(Post("/recommendation/reject", alice, {{"id", id}}).status, 400);
  EXPECT_EQ(Post("/recommendation/reject", alice, {{"id", id}, {"reason", "no"}}).status, 303);
  EXPECT_EQ(Status(id), "rejected");
  EXPECT_EQ(Post("/recommendation/approve", alice, {{"id", id}}).status, 409);
}

TEST_F(ConsoleTest, TextsFromAgentsAreEscaped) {
  nlohmann::json snapshot = {
      {"database", "orders"},
      {"window_s", 30},
      {"statements",
       {{{"queryid", "42"},
         {"fingerprint", "<b>fp</b>"},
         {"text", "SELECT '</pre><script>alert(1)</script>'"},
         {"calls", 1},
         {"total_exec_time_ms", 1.0}}}}};
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  const SnapshotSeries series = ExtractSeries(snapshot, kAgent, now_s);
  ASSERT_TRUE(store_->AddSeriesSamples(series.database, series.statements, std::nullopt).ok());
  const Browser bob = LogIn("bob");
  for (const ApiReply& page :
       {Get("/statement", bob, {{"agent", kAgent}, {"database", "orders"}, {"queryid", "42"}}),
        Get("/overview", bob)}) {
    ASSERT_EQ(page.status, 200);
    EXPECT_EQ(page.body.find("<script>alert"), std::string::npos);
    EXPECT_EQ(page.body.find("<b>fp"), std::string::npos);
  }
  const ApiReply statement =
      Get("/statement", bob, {{"agent", kAgent}, {"database", "orders"}, {"queryid", "42"}});
  EXPECT_NE(statement.body.find("&lt;script&gt;alert(1)"), std::string::npos);
}

// A snapshot with activity (one blocking chain) and advice (table health, a vacuum finding, a
// plan) whose every name is hostile.
nlohmann::json ActivityAndAdviceSnapshot(bool attribution) {
  const std::string evil = "<img src=x onerror=alert(1)>";
  const nlohmann::json session = {{"pid", 4242},        {"level", 0},
                                  {"queryid", "42"},    {"state", "idle in transaction"},
                                  {"backend_type", evil}, {"wait_class", nullptr},
                                  {"wait_event", nullptr}, {"state_age_s", 30.5},
                                  {"xact_age_s", 31.0}};
  nlohmann::json blocked = session;
  blocked["pid"] = 4343;
  blocked["level"] = 1;
  blocked["state"] = "active";
  blocked["wait_class"] = "Lock";
  blocked["wait_event"] = evil;
  nlohmann::json activity = {
      {"samples", 30},
      {"sample_interval_s", 1},
      {"statement_attribution", attribution},
      {"load", 2.5},
      {"max_active", 3},
      {"by_wait_class", {{{"wait_class", "Lock"}, {"load", 1.5}}, {{"wait_class", "CPU"}, {"load", 1}}}},
      {"top_waits", {{{"wait_class", "Lock"}, {"wait_event", evil}, {"load", 1.5}}}},
      {"by_statement", {{{"queryid", "42"}, {"wait_class", "Lock"}, {"load", 1.5}}}},
      {"by_backend_type", nlohmann::json::array()},
      {"lock_wait_samples", 12},
      {"blocking",
       {{{"root", session}, {"blocked", nlohmann::json::array({blocked})}, {"depth", 1}, {"longest_wait_s", 30.5},
         {"samples", 12}}}},
      {"idle_in_transaction_warn_s", 10},
      {"idle_in_transaction",
       {{{"pid", 4242}, {"queryid", nullptr}, {"state", evil}, {"idle_s", 30.5},
         {"xact_age_s", 31.0}, {"locks_held", 2}, {"blocking", 1}}}}};
  if (!attribution) activity["attribution_note"] = "PostgreSQL 13 " + evil;
  nlohmann::json plan = {{"Node Type", "Nested Loop"},
                         {"Total Cost", 12.5},
                         {"Plans",
                          {{{"Node Type", "Index Scan"},
                            {"Index Name", evil},
                            {"Relation Name", "orders"},
                            {"Schema", "public"},
                            {"Startup Cost", 0.29},
                            {"Total Cost", 8.31},
                            {"Plan Rows", 1}}}}};
  return {{"database", "orders"},
          {"window_s", 30},
          {"statements",
           {{{"queryid", "42"},
             {"fingerprint", "aa"},
             {"text", "SELECT 1 /* " + evil + " */"},
             {"calls", 1},
             {"total_exec_time_ms", 1.0}}}},
          {"activity", activity},
          {"table_health",
           {{"settings", {{"autovacuum_freeze_max_age", 200000000}}},
            {"tables_omitted", 0},
            {"tables",
             {{{"schema", "public"}, {"table", "quiet"}, {"n_live_tup", 10}, {"n_dead_tup", 0}},
              {{"schema", "public"},
               {"table", evil},
               {"n_live_tup", 1000},
               {"n_dead_tup", 900},
               {"xid_age", 150000000},
               {"last_autovacuum_age_s", nullptr},
               {"table_bytes", 8192}}}}}},
          {"vacuum_findings",
           {{{"kind", "dead_tuples"}, {"schema", "public"}, {"table", evil},
             {"severity", "warning"}, {"reason", "dead tuples " + evil}}}},
          {"plans",
           {{{"queryid", "42"},
             {"fingerprint", "1111222233334444"},
             {"previous_fingerprint", "5555666677778888"},
             {"total_cost", 12.5},
             {"plan", plan}}}}};
}

TEST_F(ConsoleTest, ActivityTableHealthAndPlansAreShownEscaped) {
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  const SnapshotSeries series = ExtractSeries(ActivityAndAdviceSnapshot(true), kAgent, now_s - 60);
  ASSERT_TRUE(
      store_->AddSeriesSamples(series.database, series.statements, series.advice_json).ok());
  const Browser bob = LogIn("bob");
  const ApiReply overview = Get("/overview", bob, {{"agent", kAgent}, {"database", "orders"}});
  const ApiReply advisor = Get("/advisor", bob);
  const ApiReply statement =
      Get("/statement", bob, {{"agent", kAgent}, {"database", "orders"}, {"queryid", "42"}});
  for (const ApiReply* page : {&overview, &advisor, &statement}) {
    ASSERT_EQ(page->status, 200);
    EXPECT_EQ(page->body.find("<img"), std::string::npos);
  }
  EXPECT_NE(overview.body.find("id=\"chart-load\""), std::string::npos);
  // CPU first, then by load.
  const std::size_t cpu = overview.body.find("&quot;label&quot;:&quot;CPU&quot;");
  const std::size_t lock = overview.body.find("&quot;label&quot;:&quot;Lock&quot;");
  ASSERT_NE(cpu, std::string::npos);
  EXPECT_LT(cpu, lock);
  for (const char* section : {"top-waits", "load-by-statement", "blocking-chains",
                              "idle-in-transaction"}) {
    EXPECT_NE(overview.body.find(std::string("id=\"") + section + "\""), std::string::npos)
        << section;
  }
  EXPECT_NE(overview.body.find("pid 4242 (root)"), std::string::npos);
  EXPECT_NE(overview.body.find("↳ pid 4343"), std::string::npos);
  EXPECT_NE(overview.body.find("Lock: &lt;img src=x"), std::string::npos);
  EXPECT_NE(overview.body.find("/statement?agent="), std::string::npos);
  EXPECT_EQ(overview.body.find("attribution-note"), std::string::npos);

  EXPECT_NE(advisor.body.find("id=\"table-health\""), std::string::npos);
  EXPECT_LT(advisor.body.find("public.&lt;img"), advisor.body.find("public.quiet"))
      << "tables with findings first";
  EXPECT_NE(advisor.body.find("150.0 M / 200.0 M (75.0 %)"), std::string::npos);
  EXPECT_NE(advisor.body.find("dead tuples &lt;img"), std::string::npos);
  EXPECT_NE(advisor.body.find("Index Scan</span> using <code>&lt;img"), std::string::npos);
  EXPECT_NE(statement.body.find("id=\"plan\""), std::string::npos);
  EXPECT_NE(statement.body.find("id=\"statement-load\""), std::string::npos);
}

TEST_F(ConsoleTest, WithoutStatementAttributionTheOverviewShowsTheNote) {
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  nlohmann::json snapshot = ActivityAndAdviceSnapshot(false);
  snapshot["activity"]["blocking"] = nlohmann::json::array();
  snapshot["activity"]["top_waits"] = "not a list";
  const SnapshotSeries series = ExtractSeries(snapshot, kAgent, now_s - 60);
  ASSERT_TRUE(store_->AddSeriesSamples(series.database, series.statements, std::nullopt).ok());
  const ApiReply overview =
      Get("/overview", LogIn("bob"), {{"agent", kAgent}, {"database", "orders"}});
  ASSERT_EQ(overview.status, 200);
  EXPECT_NE(overview.body.find("id=\"attribution-note\">PostgreSQL 13 &lt;img"),
            std::string::npos);
  EXPECT_NE(overview.body.find("No blocking in the last window."), std::string::npos);
}

TEST_F(ConsoleTest, ExportsAStatementsHistoryAsCsvAndJson) {
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  nlohmann::json snapshot = {{"database", "orders"},
                             {"window_s", 30},
                             {"statements",
                              {{{"queryid", "42"},
                                {"fingerprint", "aa"},
                                {"calls", 10},
                                {"total_exec_time_ms", 25.0}}}}};
  const SnapshotSeries series = ExtractSeries(snapshot, kAgent, now_s - 120);
  ASSERT_TRUE(store_->AddSeriesSamples(series.database, series.statements, std::nullopt).ok());
  const Browser bob = LogIn("bob");
  const std::map<std::string, std::string> query = {
      {"agent", kAgent}, {"database", "orders"}, {"queryid", "42"}, {"format", "csv"}};
  const ApiReply csv = Get("/export", bob, query);
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body.rfind("bucket,calls,total_exec_time_ms,rows,mean_exec_time_ms", 0), 0u);
  EXPECT_NE(csv.body.find(",10,25,0,2.5,"), std::string::npos) << csv.body;
  std::map<std::string, std::string> json_query = query;
  json_query["format"] = "json";
  const nlohmann::json json = nlohmann::json::parse(Get("/export", bob, json_query).body);
  ASSERT_EQ(json["rows"].size(), 1u);
  EXPECT_EQ(json["rows"][0]["mean_exec_time_ms"], 2.5);
  EXPECT_EQ(json["queryid"], "42");
}

TEST_F(ConsoleTest, OnlyAdminsManageUsers) {
  const Browser alice = LogIn("alice");
  EXPECT_EQ(Get("/users", alice).status, 403);
  EXPECT_EQ(Post("/users/create", alice, {{"name", "eve"}, {"role", "admin"}}).status, 403);
  EXPECT_FALSE(store_->GetUser("eve")->has_value());
  ASSERT_TRUE(CreateUser(*store_, "root", Role::kAdmin, kPassword, "t", "cli").ok());
  const Browser root = LogIn("root");
  const ApiReply created = Post("/users/create", root, {{"name", "eve"}, {"role", "viewer"}});
  EXPECT_EQ(created.status, 200);
  EXPECT_NE(created.body.find("id=\"secret\""), std::string::npos);
  EXPECT_EQ((*store_->GetUser("eve"))->role, Role::kViewer);
  EXPECT_EQ(Count("user_create"), 5) << "alice, carol, bob, root and eve";
}

TEST_F(ConsoleTest, AOneTimePasswordMustBeReplacedBeforeAnythingElse) {
  ASSERT_TRUE(CreateUser(*store_, "dave", Role::kApprover, kPassword, "t", "cli",
                         /*one_time=*/true)
                  .ok());
  const Browser dave = LogIn("dave");
  const ApiReply page = Get("/overview", dave);
  EXPECT_EQ(page.status, 303);
  EXPECT_EQ(Header(page, "Location"), "/password");
  const std::string id = Propose("create_index", {{"schema", "public"},
                                                  {"table", "orders"},
                                                  {"columns", {"customer_id"}}});
  EXPECT_EQ(Post("/recommendation/approve", dave, {{"id", id}}).status, 403);
  EXPECT_EQ(Status(id), "proposed");
  EXPECT_EQ(Post("/password", dave,
                 {{"current", kPassword}, {"next", "dave's own password"}, {"again", "typo"}})
                .status,
            400);
  EXPECT_EQ(Post("/password", dave,
                 {{"current", kPassword},
                  {"next", "dave's own password"},
                  {"again", "dave's own password"}})
                .status,
            303);
  EXPECT_EQ(Get("/overview", dave).status, 200) << "the same session goes on";
  EXPECT_FALSE((*store_->GetUser("dave"))->must_change_password);
  EXPECT_EQ(Count("password_change"), 1);
}

TEST_F(ConsoleTest, AWrongCurrentPasswordEndsTheSession) {
  const Browser alice = LogIn("alice");
  EXPECT_EQ(Post("/password", alice,
                 {{"current", "a guess of mallory"}, {"next", "new password here"},
                  {"again", "new password here"}})
                .status,
            400);
  EXPECT_EQ(Get("/overview", alice).status, 303) << "sent to log in again";
  EXPECT_EQ(Count("password_change_refused"), 1);
}

}  // namespace
}  // namespace optischema::controlplane
