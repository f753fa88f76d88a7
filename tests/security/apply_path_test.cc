// Attacks on the apply path, end to end: the real agent daemon, a real PostgreSQL 15, the real
// control plane (or, where the attacker is the control plane's answer, an HTTPS server that
// answers as a hostile one would). Each test asserts that the side effect did not happen (no
// growth of the audit log or the agent's memory, no change in postgresql.auto.conf, no status on
// the control plane that hides a live change) and that the agent says why.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "delivery/http_client.h"
#include "protocol/ed25519.h"
#include "protocol/recommendation.h"
#include "tests/support/agent_command.h"
#include "tests/support/agent_process.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/tls_test_server.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<json> AuditLines(const std::string& state_dir) {
  std::vector<json> lines;
  std::ifstream in(state_dir + "/audit.jsonl");
  for (std::string line; std::getline(in, line);) {
    lines.push_back(json::parse(line, nullptr, /*allow_exceptions=*/false));
  }
  return lines;
}

class ApplyPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "security-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cluster_ = PgCluster::Start();
    cluster_->Exec("CREATE EXTENSION pg_stat_statements");
  }

  void TearDown() override {
    agent_.reset();
    control_plane_.reset();
    fake_.reset();
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Config(const std::string& url, const std::string& ca_file,
                     const std::string& public_key, const std::string& dsn) const {
    return "[agent]\nstate_dir = \"" + dir_ +
           "/state\"\ninterval = \"1s\"\nlog_format = " + "\"json\"\n[control_plane]\nurl = \"" +
           url + "\"\napi_key_file = \"" + dir_ + "/api-key\"\nca_file = \"" + ca_file +
           "\"\nrecommendations_interval = \"1s\"\nrecommendation_public_key = \"" + public_key +
           "\"\n[[database]]\nname = \"shop\"\ndsn = \"" + dsn + "\"\napply = true\n";
  }

  // The real control plane with a signing key, and the agent pointed at it, connecting as `role`
  // (empty: the cluster's superuser).
  void StartWithControlPlane(const std::string& role = "") {
    control_plane_ = std::make_unique<ControlPlaneProcess>();
    control_plane_->Start();
    std::ofstream(dir_ + "/api-key") << control_plane_->CreateApiKey() << "\n";
    public_key_ = control_plane_->InitKeys();
    const std::string dsn =
        role.empty() ? cluster_->ConnectionString() : cluster_->ConnectionString("postgres", role);
    config_ = Config(control_plane_->base_url(), control_plane_->ca_file(), public_key_, dsn);
    StartAgent();
    ASSERT_TRUE(WaitFor([&] { return !control_plane_->ListAgents().empty(); }, 30s))
        << agent_->Log();
  }

  void StartAgent() {
    agent_ = AgentProcess::Start(dir_, {config_, {}});
    ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ + "/state/agent_id"); }, 20s))
        << agent_->Log();
    std::ifstream(dir_ + "/state/agent_id") >> agent_id_;
  }

  // Stores and approves (signs) a recommendation on the real control plane.
  std::string Recommend(const std::string& kind, const json& spec) {
    return control_plane_->RecommendApproved(agent_id_, "shop", kind, spec);
  }
  json Recommendation(const std::string& id) const {
    return control_plane_->FindRecommendation(id);
  }
  std::string Status(const std::string& id) const {
    const json rec = Recommendation(id);
    return rec.is_object() ? rec.value("status", "") : "";
  }
  std::string Detail(const std::string& id) const { return control_plane_->LastEventDetail(id); }

  // Makes the control plane serve `id` again, as it does when a pull reaches it before the
  // agent's event (the status it shows is then still `approved`).
  void ServeAgain(const std::string& id) const {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((control_plane_->data_dir() + "/controlplane.db").c_str(), &db),
              SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    const std::string sql =
        "UPDATE recommendations SET status = 'approved' WHERE id = '" + id + "'";
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  std::string AutoConf() {
    return cluster_->QueryValue("SELECT pg_catalog.pg_read_file('postgresql.auto.conf')");
  }

  bool LogHas(const std::string& message) const {
    for (const json& line : agent_->JsonLog()) {
      if (line.value("msg", "") == message) return true;
    }
    return false;
  }
  std::size_t LogCount(const std::string& message) const {
    std::size_t count = 0;
    for (const json& line : agent_->JsonLog()) count += line.value("msg", "") == message;
    return count;
  }

  // Posts an event for `id` to the control plane's API as the agent would.
  bool PostEvent(const std::string& id, const std::string& event) const {
    delivery::HttpClientOptions options;
    options.base_url = control_plane_->base_url();
    options.ca_file = control_plane_->ca_file();
    std::ifstream(dir_ + "/api-key") >> options.api_key;
    auto http = delivery::MakeCurlHttpClient(options);
    delivery::HttpRequest request;
    request.method = "POST";
    request.path = "/v1/agents/" + agent_id_ + "/recommendations/" + id + "/events";
    request.body = protocol::RecommendationEventToJson(
        {id, event, "2026-12-04T12:00:00Z", "a late event from a racing pull"});
    auto response = http->Send(request);
    return response.ok() && response->status / 100 == 2;
  }

  std::string dir_;
  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<ControlPlaneProcess> control_plane_;
  std::unique_ptr<TlsTestServer> fake_;
  std::unique_ptr<AgentProcess> agent_;
  std::string config_;
  std::string public_key_;
  std::string agent_id_;
};

// A pulled element, unsigned or signed with `private_key` (empty: unsigned), `padding` bytes of
// marker text in a rewrite's texts.
std::string Element(const std::string& id, const std::string& agent_id, std::size_t padding,
                    const std::string& private_key = "") {
  const std::string text = "SELECT 1 /* " + std::string(padding, 'U') + " UNSIGNED-BODY */";
  const json rec = {
      {"id", id},
      {"agent_id", agent_id},
      {"database", "shop"},
      {"kind", "rewrite"},
      {"spec", {{"original", text}, {"rewritten", text}}},
      {"affected_queryids", json::array()},
      {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 10}, {"auto_rollback", false}}},
      {"approved_by", "mallory"},
      {"approved_at", "2026-12-01T00:00:00Z"},
      {"expires_at", "2099-01-01T00:00:00Z"}};
  if (private_key.empty()) return rec.dump();
  return protocol::SignRecommendationJson(rec.dump(), private_key).value();
}

// A control plane that answers every pull with `elements()`; everything else is accepted.
class HostileControlPlaneTest : public ApplyPathTest {
 protected:
  void StartHostile(std::function<std::vector<std::string>()> elements) {
    fake_ = TlsTestServer::Start();
    std::ofstream(dir_ + "/api-key") << "key-for-the-hostile-server\n";
    signing_keys_ = protocol::GenerateEd25519KeyPair().value();
    public_key_ = signing_keys_.public_key_b64;
    fake_->SetHandler([this, elements](const RecordedRequest& request) {
      TestResponse response;
      response.body = R"({"protocol":"1"})";
      if (request.path.find("/recommendations?status=approved") != std::string::npos) {
        ++pulls_;
        if (!flood_) {
          response.body = R"({"protocol":"1","recommendations":[]})";
          return response;
        }
        std::string body = R"({"protocol":"1","recommendations":[)";
        bool first = true;
        for (const std::string& element : elements()) {
          body += (first ? "" : ",") + element;
          first = false;
        }
        response.body = body + "]}";
      } else if (request.path.find("/recommendations?status=") != std::string::npos) {
        response.body = R"({"protocol":"1","recommendations":[]})";
      }
      return response;
    });
    config_ =
        Config(fake_->base_url(), fake_->ca_file(), public_key_, cluster_->ConnectionString());
    StartAgent();
    ASSERT_TRUE(WaitFor([&] { return pulls_ >= 2; }, 30s)) << agent_->Log();
  }

  // Waits until the hostile server has answered `n` more pulls with its elements.
  bool FloodFor(int n) {
    const int from = pulls_;
    flood_ = true;
    return WaitFor([&] { return pulls_ >= from + n; }, 120s);
  }

  std::atomic<int> pulls_{0};
  std::atomic<bool> flood_{false};
  // The key pair whose public key the agent is configured with: what the real control plane's
  // signing key would be.
  protocol::Ed25519KeyPair signing_keys_;
};

// A set_table_options element for this agent, on public.`table`, with `options`.
json TableOptionsElement(const std::string& id, const std::string& agent_id,
                         const std::string& table, const json& options) {
  return {
      {"id", id},
      {"agent_id", agent_id},
      {"database", "shop"},
      {"kind", "set_table_options"},
      {"spec", {{"schema", "public"}, {"table", table}, {"options", options}}},
      {"affected_queryids", json::array()},
      {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 10}, {"auto_rollback", false}}},
      {"approved_by", "mallory"},
      {"approved_at", "2026-12-01T00:00:00Z"},
      {"expires_at", "2099-01-01T00:00:00Z"}};
}

// `rec` signed by `private_key` over its signing bytes, whether or not it is a valid
// recommendation: what a signer that does not validate would serve.
std::string SignedAnyway(const json& rec, const std::string& private_key) {
  const std::string bytes = protocol::RecommendationSigningBytes(rec.dump()).value();
  const std::string signature = protocol::Ed25519Sign(private_key, bytes).value();
  return bytes.substr(0, bytes.size() - 1) + ",\"signature\":\"" + signature + "\"}";
}

// Own attack: a set_table_options signed with the configured key, then changed (a scale factor
// ten times the one signed), and one whose option name carries SQL, signed with the
// configured key all the same. Neither runs anything: the first fails its signature, the second
// the strict parse, whose reason names the path and not the text.
TEST_F(HostileControlPlaneTest, TamperedOrSqlCarryingTableOptionsAreRefusedAndNothingChanges) {
  cluster_->Exec("CREATE TABLE x (id int, body text); CREATE TABLE orders (id int)");
  StartHostile([&] {
    std::string tampered = protocol::SignRecommendationJson(
                               TableOptionsElement("sec-tampered", agent_id_, "orders",
                                                   {{"autovacuum_vacuum_scale_factor", "0.05"}})
                                   .dump(),
                               signing_keys_.private_key_b64)
                               .value();
    tampered.replace(tampered.find("\"0.05\""), 6, "\"0.50\"");
    return std::vector<std::string>{
        tampered, SignedAnyway(TableOptionsElement(
                                   "sec-sql-option", agent_id_, "x",
                                   {{"autovacuum_enabled = true); DROP TABLE x; --", "true"}}),
                               signing_keys_.private_key_b64)};
  });
  ASSERT_TRUE(FloodFor(3)) << agent_->Log();
  ASSERT_TRUE(WaitFor([&] { return AuditLines(dir_ + "/state").size() >= 2; }, 30s))
      << agent_->Log();
  const std::vector<json> lines = AuditLines(dir_ + "/state");
  ASSERT_EQ(lines.size(), 2u) << agent_->Log();
  for (const json& line : lines) {
    EXPECT_EQ(line["step"], "rejected") << line.dump();
    const std::string detail = line.value("detail", "");
    if (line.value("recommendation_id", "") == "sec-tampered") {
      EXPECT_NE(detail.find("signature does not verify"), std::string::npos) << detail;
    } else {
      EXPECT_EQ(line.value("recommendation_id", ""), "sec-sql-option");
      EXPECT_NE(detail.find("spec.options: unknown option with an unusual name"), std::string::npos)
          << detail;
      EXPECT_EQ(detail.find("DROP"), std::string::npos) << detail;
    }
  }
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname IN ('x', 'orders') "
                                 "AND reloptions IS NULL"),
            "2");
}

// Own attack: a set_table_options applied and then served again (a replay of the same id, as a
// pull that races the `applied` event makes it) runs once; a proposal whose option name carries
// SQL is refused by the control plane before it is stored, so it can never be signed.
TEST_F(ApplyPathTest, TableOptionsServedAgainRunOnceAndSqlInAnOptionNameIsNeverStored) {
  cluster_->Exec("CREATE TABLE orders (id bigint PRIMARY KEY, note text)");
  StartWithControlPlane();
  const std::string id =
      Recommend("set_table_options", {{"schema", "public"},
                                      {"table", "orders"},
                                      {"options", {{"autovacuum_vacuum_threshold", "500"}}}});
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "applied"; }, 60s)) << agent_->Log();
  const std::string options = "SELECT reloptions::text FROM pg_class WHERE relname = 'orders'";
  EXPECT_EQ(cluster_->QueryValue(options), "{autovacuum_vacuum_threshold=500}");
  const auto started = [&] {
    std::size_t count = 0;
    for (const json& line : AuditLines(dir_ + "/state")) {
      count += line["step"] == "started" && line["recommendation_id"] == id;
    }
    return count;
  };
  EXPECT_EQ(started(), 1u);
  cluster_->Exec("ALTER TABLE orders SET (autovacuum_vacuum_threshold = 77)");  // by hand
  ServeAgain(id);
  ASSERT_TRUE(WaitFor([&] { return Status(id) != "approved"; }, 30s)) << agent_->Log();
  EXPECT_EQ(Status(id), "applied") << Detail(id);
  EXPECT_EQ(started(), 1u);
  EXPECT_EQ(cluster_->QueryValue(options), "{autovacuum_vacuum_threshold=77}");

  const json proposal = {
      {"agent_id", agent_id_},
      {"database", "shop"},
      {"kind", "set_table_options"},
      {"spec",
       {{"schema", "public"},
        {"table", "orders"},
        {"options", {{"autovacuum_enabled = true); DROP TABLE orders; --", "true"}}}}},
      {"affected_queryids", json::array()},
      {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 10}, {"auto_rollback", false}}}};
  const auto refused = control_plane_->RunRecommend(proposal.dump());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("spec.options: unknown option with an unusual name"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_class WHERE relname = 'orders'"), "1");
}

// Finding 6: 1,150 unsigned elements with fresh ids at every pull used to be written in full to
// audit.jsonl (34 MB in 30 s) and kept in memory (RSS 22 -> 86 MB).
TEST_F(HostileControlPlaneTest, UnsignedFloodWithFreshIdsKeepsTheAuditLogAndMemoryBounded) {
  std::atomic<int> next{0};
  StartHostile([&] {
    std::vector<std::string> out;
    for (int i = 0; i < 1150; ++i) {
      out.push_back(Element("flood-" + std::to_string(next++), agent_id_, 1300));
    }
    return out;
  });
  const long rss_before = agent_->RssKiB();
  // 15 replies of the hostile server (an agent that audits every element in full pulls far more
  // slowly: what it wrote by then is measured all the same).
  EXPECT_TRUE(FloodFor(15)) << pulls_;
  // The worker has looked at several of those replies (it says so once per reply over budget).
  EXPECT_TRUE(WaitFor(
      [&] {
        return LogCount(
                   "unverified recommendations refused without an audit record or "
                   "report: more than 100 were refused in the last hour (is the control "
                   "plane compromised, or its signing key not the one configured?)") >= 5;
      },
      60s))
      << agent_->Log().substr(0, 4000);
  const long rss_after = agent_->RssKiB();
  const auto audit_bytes = std::filesystem::file_size(dir_ + "/state/audit.jsonl");
  const std::string audit = ReadFile(dir_ + "/state/audit.jsonl");
  const std::vector<json> lines = AuditLines(dir_ + "/state");
  RecordProperty("audit_bytes", std::to_string(audit_bytes));
  RecordProperty("audit_lines", std::to_string(lines.size()));
  RecordProperty("rss_kib_before", std::to_string(rss_before));
  RecordProperty("rss_kib_after", std::to_string(rss_after));
  std::cout << "audit.jsonl " << audit_bytes << " bytes, " << lines.size() << " lines; RSS "
            << rss_before << " -> " << rss_after << " KiB after " << pulls_ << " pulls\n";

  EXPECT_EQ(audit.find("UNSIGNED-BODY"), std::string::npos);
  EXPECT_LE(lines.size(), 100u);
  EXPECT_LT(audit_bytes, 64u * 1024);
  EXPECT_LT(rss_after - rss_before, 40 * 1024) << rss_before << " -> " << rss_after << " KiB";
  // Each audited refusal says why, with the element's size and no content.
  ASSERT_FALSE(lines.empty());
  for (const json& line : lines) {
    EXPECT_EQ(line["step"], "rejected") << line.dump();
    EXPECT_NE(line["detail"].get<std::string>().find("not signed"), std::string::npos)
        << line.dump();
    EXPECT_GT(line["extra"].value("bytes", 0), 2600) << line.dump();
  }
  EXPECT_EQ(RunAgent("", "--config " + dir_ + "/agent.toml audit verify").status, 0);
}

// Own attack: the same ids, signed with a key that is not the configured one and partly larger
// than any real recommendation, served at every pull. Each id is audited once, by id, size and
// verdict; none of their bytes reaches the audit log, however often they are served.
TEST_F(HostileControlPlaneTest, ForgedAndOversizedElementsServedAgainAreAuditedOnceWithoutBody) {
  const std::string forger = protocol::GenerateEd25519KeyPair().value().private_key_b64;
  StartHostile([&] {
    std::vector<std::string> out;
    for (int i = 0; i < 20; ++i) {
      out.push_back(Element("forged-" + std::to_string(i), agent_id_, 500, forger));
    }
    for (int i = 0; i < 5; ++i) {
      out.push_back(Element("huge-" + std::to_string(i), agent_id_, 200 * 1024));
    }
    return out;
  });
  ASSERT_TRUE(FloodFor(8)) << agent_->Log();
  ASSERT_TRUE(WaitFor([&] { return AuditLines(dir_ + "/state").size() >= 25; }, 30s))
      << agent_->Log();
  ASSERT_TRUE(FloodFor(4));
  const std::vector<json> lines = AuditLines(dir_ + "/state");
  EXPECT_EQ(lines.size(), 25u);
  EXPECT_EQ(ReadFile(dir_ + "/state/audit.jsonl").find("UNSIGNED-BODY"), std::string::npos);
  for (const json& line : lines) {
    const std::string id = line.value("recommendation_id", "");
    const std::string detail = line.value("detail", "");
    EXPECT_EQ(line["step"], "rejected") << line.dump();
    if (id.starts_with("forged-")) {
      EXPECT_NE(detail.find("signature does not verify"), std::string::npos) << line.dump();
    } else {
      EXPECT_NE(detail.find("larger than 64 KiB"), std::string::npos) << line.dump();
      EXPECT_GT(line["extra"].value("bytes", 0), 200 * 1024) << line.dump();
    }
  }
  EXPECT_TRUE(LogHas("recommendation refused before verification")) << agent_->Log();
}

// Finding 9: signed changes of settings that move the server's files, switch off durability or
// replication safety were applied. Each is refused with the reason, and postgresql.auto.conf is
// untouched.
TEST_F(ApplyPathTest, SettingsOffTheAllowListAreRefusedAndAutoConfUnchanged) {
  StartWithControlPlane();
  const std::string auto_conf = AutoConf();
  std::vector<std::string> ids;
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"log_directory", "/tmp"},
           {"fsync", "off"},
           {"session_replication_role", "replica"},
           {"shared_preload_libraries", "pg_stat_statements,auto_explain"}}) {
    ids.push_back(Recommend("set_config", {{"name", name}, {"value", value}}));
  }
  for (const std::string& id : ids) {
    ASSERT_TRUE(WaitFor([&] { return Status(id) == "rejected"; }, 60s))
        << id << ": " << Status(id) << " " << Detail(id) << "\n"
        << agent_->Log();
    EXPECT_NE(Detail(id).find("is not on the agent's allow-list of settings safe to tune"),
              std::string::npos)
        << Detail(id);
  }
  EXPECT_EQ(AutoConf(), auto_conf);
  EXPECT_EQ(cluster_->QueryValue("SHOW log_directory"), "log");
}

// Own attack: names that a deny-list misses (other case, an extension's setting that blinds the
// agent's own monitoring, durability switches not named anywhere) are refused the same way,
// while an allow-listed setting is still applied.
TEST_F(ApplyPathTest, SettingsADenyListWouldMissAreRefusedAndAllowedOnesStillApply) {
  StartWithControlPlane();
  const std::string auto_conf = AutoConf();
  std::vector<std::string> refused;
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"Log_Directory", "/tmp"},
                                                        {"pg_stat_statements.track", "none"},
                                                        {"synchronous_commit", "off"},
                                                        {"full_page_writes", "off"},
                                                        {"default_transaction_read_only", "on"}}) {
    refused.push_back(Recommend("set_config", {{"name", name}, {"value", value}}));
  }
  for (const std::string& id : refused) {
    ASSERT_TRUE(WaitFor([&] { return Status(id) == "rejected"; }, 60s))
        << id << ": " << Status(id) << " " << Detail(id) << "\n"
        << agent_->Log();
    EXPECT_NE(Detail(id).find("allow-list"), std::string::npos) << Detail(id);
  }
  EXPECT_EQ(AutoConf(), auto_conf);
  const std::string allowed = Recommend("set_config", {{"name", "work_mem"}, {"value", "8MB"}});
  ASSERT_TRUE(WaitFor([&] { return Status(allowed) == "applied"; }, 60s)) << agent_->Log();
  EXPECT_NE(AutoConf().find("work_mem = '8MB'"), std::string::npos) << AutoConf();
}

// Finding 11: a pull that reaches the control plane before the `applied` event made the agent
// take the same recommendation as a replay, refuse it and report `rejected` for a live change.
TEST_F(ApplyPathTest, AppliedChangeServedAgainEndsAppliedNotRejected) {
  cluster_->Exec("CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int)");
  StartWithControlPlane();
  const std::string id = Recommend(
      "create_index", {{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}});
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "applied"; }, 60s)) << agent_->Log();
  const auto records_before = AuditLines(dir_ + "/state").size();
  ServeAgain(id);
  ASSERT_TRUE(WaitFor([&] { return Status(id) != "approved"; }, 30s)) << agent_->Log();
  EXPECT_EQ(Status(id), "applied") << Detail(id);
  EXPECT_TRUE(
      LogHas("recommendation served again after its outcome; not taken again, outcome "
             "reported again"))
      << agent_->Log();
  EXPECT_EQ(AuditLines(dir_ + "/state").size(), records_before);  // not taken again
  EXPECT_EQ(cluster_->QueryValue("SELECT count(*) FROM pg_indexes WHERE tablename = 'orders'"),
            "2");

  // The control plane's side: a late `rejected` (from an agent that still races) does not hide
  // the live change.
  EXPECT_TRUE(PostEvent(id, "rejected"));
  EXPECT_EQ(Status(id), "applied");
}

// Own attack: the agent restarts after applying (its in-memory state is gone) while the control
// plane still serves the change; and a late `rejected` arrives after `verified`. The status ends
// equal to the audit log's last outcome, and nothing runs twice.
TEST_F(ApplyPathTest, RestartedAgentReportsTheRecordedOutcomeInsteadOfReplaying) {
  StartWithControlPlane();
  const std::string id = Recommend("set_config", {{"name", "work_mem"}, {"value", "12MB"}});
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "applied"; }, 60s)) << agent_->Log();
  agent_->Signal(SIGTERM);
  ASSERT_EQ(agent_->WaitExit(15s), std::optional<int>(0));
  ServeAgain(id);
  const auto started_before = [&] {
    std::size_t started = 0;
    for (const json& line : AuditLines(dir_ + "/state")) started += line["step"] == "started";
    return started;
  }();
  StartAgent();
  // At start it reports its recent outcomes; a control plane that still serves the change after
  // that (it lost the event) gets the outcome again, not a replay.
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "applied"; }, 30s))
      << Status(id) << " " << Detail(id) << "\n"
      << agent_->Log();
  ServeAgain(id);
  ASSERT_TRUE(WaitFor([&] { return Status(id) != "approved"; }, 30s)) << agent_->Log();
  EXPECT_EQ(Status(id), "applied") << Detail(id);
  std::size_t started = 0;
  for (const json& line : AuditLines(dir_ + "/state")) started += line["step"] == "started";
  EXPECT_EQ(started, started_before);
  EXPECT_EQ(cluster_->QueryValue("SHOW work_mem"), "12MB");

  EXPECT_TRUE(PostEvent(id, "verified"));
  EXPECT_TRUE(PostEvent(id, "rejected"));
  EXPECT_EQ(Status(id), "verified");
}

// Finding 12: with only the documented `GRANT ALTER SYSTEM ON PARAMETER`, the value was written to
// postgresql.auto.conf before pg_reload_conf() was refused, and the change was reported failed.
TEST_F(ApplyPathTest, SetConfigWithOnlyTheAlterSystemGrantIsRefusedBeforeAutoConfChanges) {
  cluster_->Exec(
      "CREATE ROLE tuner LOGIN; GRANT pg_monitor TO tuner; GRANT ALTER SYSTEM ON PARAMETER "
      "work_mem TO tuner");
  StartWithControlPlane("tuner");
  const std::string auto_conf = AutoConf();
  const std::string id = Recommend("set_config", {{"name", "work_mem"}, {"value", "64MB"}});
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "rejected"; }, 60s))
      << Status(id) << " " << Detail(id) << "\n"
      << agent_->Log();
  EXPECT_NE(Detail(id).find("GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO \"tuner\";"),
            std::string::npos)
      << Detail(id);
  EXPECT_NE(Detail(id).find("nothing was changed"), std::string::npos) << Detail(id);
  EXPECT_EQ(AutoConf(), auto_conf);
  EXPECT_EQ(AutoConf().find("64MB"), std::string::npos);
  for (const json& line : AuditLines(dir_ + "/state")) {
    EXPECT_NE(line["step"], "started") << line.dump();
  }
}

// The half-applied change itself: the way back is readable, so ALTER SYSTEM used to run and write
// postgresql.auto.conf, and only then was pg_reload_conf() refused (the value waited for the next
// reload, behind a `failed` report). Now the missing EXECUTE is found before anything runs.
TEST_F(ApplyPathTest, SetConfigWithoutReloadPrivilegeLeavesAutoConfUnchanged) {
  cluster_->Exec(
      "CREATE ROLE tuner LOGIN; GRANT pg_monitor TO tuner; GRANT ALTER SYSTEM ON PARAMETER "
      "work_mem TO tuner; GRANT SELECT ON pg_catalog.pg_file_settings TO tuner; GRANT EXECUTE ON "
      "FUNCTION pg_catalog.pg_show_all_file_settings() TO tuner");
  StartWithControlPlane("tuner");
  const std::string auto_conf = AutoConf();
  const std::string id = Recommend("set_config", {{"name", "work_mem"}, {"value", "64MB"}});
  ASSERT_TRUE(WaitFor([&] { return Status(id) != "approved" && Status(id) != "validated"; }, 60s))
      << agent_->Log();
  EXPECT_EQ(Status(id), "rejected") << Detail(id);
  EXPECT_NE(Detail(id).find("GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO \"tuner\";"),
            std::string::npos)
      << Detail(id);
  EXPECT_EQ(AutoConf(), auto_conf);
  EXPECT_EQ(AutoConf().find("64MB"), std::string::npos) << AutoConf();
}

// Own attack on the same class: a role granted ALTER SYSTEM and pg_reload_conf() but not the
// pg_file_settings read that records the way back. The change is refused with that grant
// before anything changes, and `check` FAILs the role with the same fix.
TEST_F(ApplyPathTest, SetConfigWithoutTheWayBackIsRefusedAndCheckFailsTheRole) {
  cluster_->Exec(
      "CREATE ROLE tuner LOGIN; GRANT pg_monitor TO tuner; GRANT ALTER SYSTEM ON PARAMETER "
      "work_mem TO tuner; GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO tuner");
  StartWithControlPlane("tuner");
  const std::string auto_conf = AutoConf();
  const std::string id = Recommend("set_config", {{"name", "work_mem"}, {"value", "64MB"}});
  ASSERT_TRUE(WaitFor([&] { return Status(id) == "rejected"; }, 60s))
      << Status(id) << " " << Detail(id) << "\n"
      << agent_->Log();
  EXPECT_NE(Detail(id).find("GRANT SELECT ON pg_catalog.pg_file_settings TO \"tuner\";"),
            std::string::npos)
      << Detail(id);
  EXPECT_EQ(AutoConf(), auto_conf);

  const AgentRun check = RunAgent("", "--config " + dir_ + "/agent.toml check --format json");
  const json items = json::parse(check.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(items.is_array()) << check.out;
  bool seen = false;
  for (const json& item : items) {
    if (item["check"] != "alter_system") continue;
    seen = true;
    EXPECT_EQ(item["status"], "FAIL") << item.dump();
    EXPECT_NE(item["fix"].get<std::string>().find(
                  "GRANT EXECUTE ON FUNCTION pg_catalog.pg_show_all_file_settings() TO \"tuner\";"),
              std::string::npos)
        << item.dump();
  }
  EXPECT_TRUE(seen) << check.out;
  EXPECT_EQ(check.status, 1);
}

// check used to call a superuser role OK. The agent refuses to plan as a superuser: FAIL with
// apply = true, WARN for monitoring only.
TEST_F(ApplyPathTest, CheckFailsASuperuserWithApplyAndWarnsWithoutIt) {
  control_plane_ = std::make_unique<ControlPlaneProcess>();
  control_plane_->Start();
  std::ofstream(dir_ + "/api-key") << control_plane_->CreateApiKey() << "\n";
  for (const bool apply : {true, false}) {
    std::string config = Config(control_plane_->base_url(), control_plane_->ca_file(),
                                protocol::GenerateEd25519KeyPair().value().public_key_b64,
                                cluster_->ConnectionString());
    if (!apply) config.replace(config.find("apply = true"), 12, "apply = false");
    std::ofstream(dir_ + "/agent.toml") << config;
    const AgentRun check = RunAgent("", "--config " + dir_ + "/agent.toml check --format json");
    const json items = json::parse(check.out, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(items.is_array()) << check.out;
    json superuser;
    for (const json& item : items) {
      if (item["check"] == "superuser") superuser = item;
    }
    ASSERT_TRUE(superuser.is_object()) << check.out;
    EXPECT_EQ(superuser["status"], apply ? "FAIL" : "WARN") << superuser.dump();
    EXPECT_NE(superuser["message"].get<std::string>().find("refuses to plan statements as a "
                                                           "superuser"),
              std::string::npos)
        << superuser.dump();
    EXPECT_EQ(check.status, apply ? 1 : 0) << check.out;
  }
}

}  // namespace
}  // namespace optischema::testing
