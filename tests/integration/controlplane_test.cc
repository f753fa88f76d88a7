// The optischema-controlplane binary, run with ControlPlaneProcess and driven by the agent's own
// HTTPS client: what it stores and answers, how it refuses bad requests, its listings while it
// runs, restarts and stopping.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/time_format.h"
#include "core/uuid.h"
#include "delivery/http_client.h"
#include "protocol/messages.h"
#include "protocol/recommendation.h"
#include "protocol/snapshot.h"
#include "protocol/snapshot_json.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/tls_test_server.h"

namespace optischema::protocol {
namespace {

using optischema::testing::ControlPlaneProcess;
using optischema::testing::GzipForTest;
using std::chrono::seconds;

constexpr char kDatabase[] = "orders";
constexpr int64_t kCalls = 7;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::unique_ptr<delivery::HttpClient> ClientFor(const ControlPlaneProcess& server,
                                                const std::string& key,
                                                const std::string& ca_file) {
  delivery::HttpClientOptions options;
  options.base_url = server.base_url();
  options.api_key = key;
  options.ca_file = ca_file;
  options.connect_timeout = seconds(5);
  options.total_timeout = seconds(30);
  return delivery::MakeCurlHttpClient(options);
}

std::string RegisterBody(const std::string& agent_id) {
  RegisterRequest request{agent_id, "db-host-1", "0.1.0", {}};
  request.databases.push_back({kDatabase, 150004, {"pg_stat_statements 1.10"}});
  return RegisterRequestToJson(request);
}

// A snapshot of `statement_count` statements, each with kCalls calls in the window.
std::string SnapshotBody(const std::string& agent_id, const std::string& snapshot_id,
                         int statement_count = 1) {
  Snapshot snapshot;
  snapshot.snapshot_id = snapshot_id;
  snapshot.agent_id = agent_id;
  snapshot.database = kDatabase;
  snapshot.collected_at = FormatRfc3339(std::chrono::system_clock::now());
  snapshot.window_s = 30;
  for (int i = 0; i < statement_count; ++i) {
    StatementMetrics s;
    s.queryid = -4'200'000'000'000 - i;
    s.fingerprint = "5d41402abc4b2a76";
    s.include_text = true;
    s.text = "SELECT * FROM orders WHERE id = $1";
    s.window.calls = kCalls;
    s.window.total_exec_time_ms = 3.5;
    s.mean_exec_time_ms = 0.5;
    snapshot.statements.push_back(s);
  }
  snapshot.remainder.window.total_exec_time_ms = -0.25;  // a correction may be negative
  return SnapshotToJson(snapshot);
}

delivery::HttpRequest Post(const std::string& path, std::string body) {
  delivery::HttpRequest request;
  request.method = "POST";
  request.path = path;
  request.body = std::move(body);
  return request;
}

delivery::HttpRequest SnapshotPost(const std::string& agent_id, const std::string& snapshot_id,
                                   std::string body) {
  delivery::HttpRequest request = Post("/v1/agents/" + agent_id + "/snapshots", GzipForTest(body));
  request.body_is_gzip = true;
  request.idempotency_key = snapshot_id;
  return request;
}

// The HTTP status, or -1 when no response arrived.
int StatusOf(const Result<delivery::HttpResponse>& response) {
  return response.ok() ? response->status : -1;
}

// The "error" of a JSON error reply, or "" when there is none.
std::string ErrorOf(const delivery::HttpResponse& response) {
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("error")) return "";
  return body["error"].get<std::string>();
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  // Starts `server_` (constructed with `options`), creates a key and a client for it and
  // registers agent_id_.
  void StartAndRegister(ControlPlaneProcess::Options options = {}) {
    server_ = std::make_unique<ControlPlaneProcess>(std::move(options));
    server_->Start();
    key_ = server_->CreateApiKey();
    client_ = ClientFor(*server_, key_, server_->ca_file());
    const Result<delivery::HttpResponse> registered =
        client_->Send(Post("/v1/agents/register", RegisterBody(agent_id_)));
    ASSERT_TRUE(registered.ok()) << registered.error().message;
    ASSERT_EQ(registered->status, 200) << registered->body;
    register_body_ = registered->body;
  }

  Result<delivery::HttpResponse> SendSnapshot(const std::string& snapshot_id) {
    return client_->Send(
        SnapshotPost(agent_id_, snapshot_id, SnapshotBody(agent_id_, snapshot_id)));
  }

  const std::string agent_id_ = NewUuidV4();
  std::unique_ptr<ControlPlaneProcess> server_;
  std::string key_;
  std::unique_ptr<delivery::HttpClient> client_;
  std::string register_body_;
};

TEST_F(ControlPlaneTest, RegisteredAgentsSnapshotIsStoredAndListedOnce) {
  StartAndRegister();
  const std::string snapshot_id = NewUuidV4();

  const Result<delivery::HttpResponse> response = SendSnapshot(snapshot_id);

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 202) << response->body;
  EXPECT_EQ(response->body,
            R"({"proposals_refused":0,"proposals_stored":0,"protocol":"1","stored":true})");
  const nlohmann::json listed = server_->ListSnapshots();
  ASSERT_EQ(listed.size(), 1U) << listed.dump();
  EXPECT_EQ(listed[0]["snapshot_id"], snapshot_id);
  EXPECT_EQ(listed[0]["agent_id"], agent_id_);
  EXPECT_EQ(listed[0]["database"], kDatabase);
  EXPECT_EQ(listed[0]["statements"], 1);
  EXPECT_EQ(listed[0]["body"]["statements"][0]["calls"], kCalls);
  EXPECT_EQ(listed[0]["body"]["statements"][0]["queryid"], "-4200000000000");
}

TEST_F(ControlPlaneTest, ReplayedSnapshotIdIsAcknowledgedAndStoredOnlyOnce) {
  StartAndRegister();
  const std::string snapshot_id = NewUuidV4();
  ASSERT_EQ(StatusOf(SendSnapshot(snapshot_id)), 202);

  const Result<delivery::HttpResponse> replay = SendSnapshot(snapshot_id);

  ASSERT_TRUE(replay.ok()) << replay.error().message;
  EXPECT_EQ(replay->status, 200) << replay->body;
  EXPECT_EQ(replay->body,
            R"({"proposals_refused":0,"proposals_stored":0,"protocol":"1","stored":false})");
  EXPECT_EQ(server_->ListSnapshots().size(), 1U);
}

TEST_F(ControlPlaneTest, NegativeCounterIsRefusedWith400NamingTheField) {
  StartAndRegister();
  const std::string snapshot_id = NewUuidV4();
  nlohmann::json body = nlohmann::json::parse(SnapshotBody(agent_id_, snapshot_id));
  body["statements"][0]["calls"] = -3;

  const Result<delivery::HttpResponse> response =
      client_->Send(SnapshotPost(agent_id_, snapshot_id, body.dump()));

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 400);
  EXPECT_TRUE(Contains(ErrorOf(*response), "statements[0].calls")) << response->body;
  EXPECT_TRUE(server_->ListSnapshots().empty());
}

TEST_F(ControlPlaneTest, BodyThatIsNotJsonIsRefusedWith400) {
  StartAndRegister();

  const Result<delivery::HttpResponse> response =
      client_->Send(SnapshotPost(agent_id_, "s-1", "{\"protocol\":\"1.0\","));

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(ErrorOf(*response), "body: not valid JSON");
}

TEST_F(ControlPlaneTest, SnapshotIdDifferentFromIdempotencyKeyIsRefused) {
  StartAndRegister();
  delivery::HttpRequest request =
      SnapshotPost(agent_id_, "other-id", SnapshotBody(agent_id_, "s-1"));

  const Result<delivery::HttpResponse> response = client_->Send(request);

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 400);
  EXPECT_TRUE(Contains(ErrorOf(*response), "Idempotency-Key")) << response->body;
}

TEST_F(ControlPlaneTest, UnknownOrMissingApiKeyGets401AndStoresNothing) {
  StartAndRegister();
  const std::string snapshot_id = NewUuidV4();
  const auto wrong_key = ClientFor(*server_, "osk_not-a-key", server_->ca_file());
  const auto no_key = ClientFor(*server_, "", server_->ca_file());
  const std::string body = SnapshotBody(agent_id_, snapshot_id);

  const Result<delivery::HttpResponse> wrong =
      wrong_key->Send(SnapshotPost(agent_id_, snapshot_id, body));
  const Result<delivery::HttpResponse> missing =
      no_key->Send(SnapshotPost(agent_id_, snapshot_id, body));

  ASSERT_TRUE(wrong.ok()) << wrong.error().message;
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(ErrorOf(*wrong), "missing or unknown API key");
  EXPECT_TRUE(server_->ListSnapshots().empty());
}

TEST_F(ControlPlaneTest, SnapshotOfAnUnregisteredAgentGets404) {
  StartAndRegister();
  const std::string stranger = NewUuidV4();

  const Result<delivery::HttpResponse> response =
      client_->Send(SnapshotPost(stranger, "s-1", SnapshotBody(stranger, "s-1")));

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(ErrorOf(*response), "unknown agent; register first");
}

TEST_F(ControlPlaneTest, BodyOverTheLimitGets413CompressedOrDecompressed) {
  StartAndRegister({.certificate = {}, .serve_args = {"--max-body-bytes", "4096"}});
  delivery::HttpRequest plain = Post("/v1/agents/" + agent_id_ + "/snapshots",
                                     SnapshotBody(agent_id_, "s-big", /*statement_count=*/20));
  ASSERT_GT(plain.body.size(), 4096U);
  // Small on the wire, far over the limit once decompressed.
  delivery::HttpRequest bomb = SnapshotPost(agent_id_, "s-bomb", std::string(2 << 20, ' '));
  ASSERT_LT(bomb.body.size(), 4096U);

  const Result<delivery::HttpResponse> too_long = client_->Send(plain);
  const Result<delivery::HttpResponse> too_large_inflated = client_->Send(bomb);
  const Result<delivery::HttpResponse> small_after = SendSnapshot("s-small");

  ASSERT_TRUE(too_long.ok()) << too_long.error().message;
  ASSERT_TRUE(too_large_inflated.ok()) << too_large_inflated.error().message;
  EXPECT_EQ(too_long->status, 413) << too_long->body;
  EXPECT_EQ(too_large_inflated->status, 413) << too_large_inflated->body;
  EXPECT_TRUE(Contains(ErrorOf(*too_large_inflated), "4096 bytes")) << too_large_inflated->body;
  ASSERT_TRUE(small_after.ok()) << small_after.error().message;
  EXPECT_EQ(small_after->status, 202) << small_after->body;
}

TEST_F(ControlPlaneTest, UncompressedAndGzipBodiesAreStoredAlike) {
  StartAndRegister();
  const std::string body = SnapshotBody(agent_id_, "s-plain");
  delivery::HttpRequest plain = Post("/v1/agents/" + agent_id_ + "/snapshots", body);

  const Result<delivery::HttpResponse> plain_reply = client_->Send(plain);
  const Result<delivery::HttpResponse> gzip_reply = SendSnapshot("s-gzip");

  ASSERT_TRUE(plain_reply.ok()) << plain_reply.error().message;
  ASSERT_TRUE(gzip_reply.ok()) << gzip_reply.error().message;
  EXPECT_EQ(plain_reply->status, 202) << plain_reply->body;
  EXPECT_EQ(gzip_reply->status, 202) << gzip_reply->body;
  const nlohmann::json listed = server_->ListSnapshots();
  ASSERT_EQ(listed.size(), 2U);
  EXPECT_EQ(listed[0]["body"], nlohmann::json::parse(body));
  EXPECT_EQ(listed[1]["snapshot_id"], "s-gzip");
  EXPECT_EQ(listed[1]["body"]["statements"][0]["calls"], kCalls);
}

TEST_F(ControlPlaneTest, ListingsReadTheDataWhileTheServerRuns) {
  StartAndRegister();
  Heartbeat heartbeat;
  heartbeat.status = "degraded";
  heartbeat.uptime_s = 12;
  ASSERT_EQ(StatusOf(client_->Send(
                Post("/v1/agents/" + agent_id_ + "/heartbeat", HeartbeatToJson(heartbeat)))),
            200);
  ASSERT_EQ(StatusOf(SendSnapshot("s-1")), 202);

  const nlohmann::json agents = server_->ListAgents();
  const nlohmann::json mine =
      server_->ListSnapshots({"--agent", agent_id_, "--database", kDatabase});
  const nlohmann::json other_database = server_->ListSnapshots({"--database", "billing"});

  ASSERT_TRUE(server_->running());
  ASSERT_EQ(agents.size(), 1U) << agents.dump();
  EXPECT_EQ(agents[0]["agent_id"], agent_id_);
  EXPECT_EQ(agents[0]["hostname"], "db-host-1");
  EXPECT_EQ(agents[0]["databases"][0]["name"], kDatabase);
  EXPECT_EQ(agents[0]["heartbeats"], 1);
  EXPECT_EQ(agents[0]["last_heartbeat"]["status"], "degraded");
  ASSERT_EQ(mine.size(), 1U);
  EXPECT_EQ(mine[0]["snapshot_id"], "s-1");
  EXPECT_TRUE(other_database.empty());
}

TEST_F(ControlPlaneTest, RestartOnTheSamePortKeepsTheData) {
  StartAndRegister();
  ASSERT_EQ(StatusOf(SendSnapshot("s-1")), 202);
  const int port = server_->port();
  ASSERT_EQ(server_->Stop(), 0);
  ASSERT_FALSE(client_->Send(Post("/v1/agents/register", RegisterBody(agent_id_))).ok());

  server_->Start();
  const Result<delivery::HttpResponse> replay = SendSnapshot("s-1");
  const Result<delivery::HttpResponse> next = SendSnapshot("s-2");

  EXPECT_EQ(server_->port(), port);
  ASSERT_TRUE(replay.ok()) << replay.error().message;
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(replay->status, 200) << replay->body;
  EXPECT_EQ(next->status, 202) << next->body;
  EXPECT_EQ(server_->ListSnapshots().size(), 2U);
}

TEST_F(ControlPlaneTest, SigtermStopsTheServerWithStatusZero) {
  StartAndRegister();

  const int status = server_->Stop();

  EXPECT_EQ(status, 0);
  EXPECT_TRUE(Contains(server_->ServerLog(), "stopped")) << server_->ServerLog();
}

TEST_F(ControlPlaneTest, RegisterReplyCarriesIntervalsOnlyWhenConfigured) {
  StartAndRegister({.certificate = {}, .serve_args = {"--heartbeat-interval-s", "15"}});

  const Result<RegisterResponse> reply = ParseRegisterResponse(register_body_);

  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->heartbeat_interval, seconds(15));
  EXPECT_FALSE(reply->snapshot_interval.has_value());
  EXPECT_FALSE(reply->recommendations_interval.has_value());
}

TEST_F(ControlPlaneTest, RecommendationsEventsAndAuditRoutesAnswer) {
  StartAndRegister();
  delivery::HttpRequest get;
  get.path = "/v1/agents/" + agent_id_ + "/recommendations?status=approved";
  const std::string prefix = "/v1/agents/" + agent_id_;

  const Result<delivery::HttpResponse> recommendations = client_->Send(get);
  const Result<delivery::HttpResponse> event = client_->Send(
      Post(prefix + "/recommendations/r-1/events",
           RecommendationEventToJson({"r-1", "validated", "2026-01-31T12:00:00Z", ""})));
  const Result<delivery::HttpResponse> audit =
      client_->Send(Post(prefix + "/audit", R"({"seq":1})"));
  const Result<delivery::HttpResponse> not_object = client_->Send(Post(prefix + "/audit", "[1]"));
  const Result<delivery::HttpResponse> unknown = client_->Send(Post(prefix + "/elsewhere", "{}"));
  get.path = prefix + "/heartbeat";
  const Result<delivery::HttpResponse> wrong_method = client_->Send(get);

  ASSERT_TRUE(recommendations.ok() && event.ok() && audit.ok() && not_object.ok() && unknown.ok() &&
              wrong_method.ok());
  EXPECT_EQ(recommendations->status, 200);
  EXPECT_EQ(recommendations->body, R"({"protocol":"1","recommendations":[]})");
  EXPECT_EQ(event->status, 404) << event->body;
  EXPECT_EQ(ErrorOf(*event), "unknown recommendation for this agent");
  EXPECT_EQ(audit->status, 202) << audit->body;
  EXPECT_EQ(not_object->status, 400);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->headers.at("allow"), "POST");
}

TEST_F(ControlPlaneTest, ServerLogNamesRequestsButNeverTheKeyOrBody) {
  StartAndRegister();
  ASSERT_EQ(StatusOf(SendSnapshot("s-logged")), 202);

  const std::string log = server_->ServerLog();

  EXPECT_TRUE(Contains(log, "POST /v1/agents/" + agent_id_ + "/snapshots 202")) << log;
  EXPECT_FALSE(Contains(log, key_)) << log;
  EXPECT_FALSE(Contains(log, "SELECT * FROM orders")) << log;
}

// The fixture's certificates for tests that expect the agent to refuse a server.
TEST(ControlPlaneCertificates, ClientRefusesExpiredCertificateAnotherHostAndAnUnknownCa) {
  ControlPlaneProcess expired({.certificate = {.expired = true}, .serve_args = {}});
  ControlPlaneProcess elsewhere(
      {.certificate = {.dns_names = {"elsewhere.example"}, .loopback_ip = false},
       .serve_args = {}});
  ControlPlaneProcess untrusted;
  expired.Start();
  elsewhere.Start();
  untrusted.Start();
  const delivery::HttpRequest request = Post("/v1/agents/register", "{}");

  const Result<delivery::HttpResponse> to_expired =
      ClientFor(expired, "k", expired.ca_file())->Send(request);
  const Result<delivery::HttpResponse> to_elsewhere =
      ClientFor(elsewhere, "k", elsewhere.ca_file())->Send(request);
  const Result<delivery::HttpResponse> to_untrusted =
      ClientFor(untrusted, "k", untrusted.wrong_ca_file())->Send(request);
  const Result<delivery::HttpResponse> trusted =
      ClientFor(untrusted, "k", untrusted.ca_file())->Send(request);

  ASSERT_FALSE(to_expired.ok());
  ASSERT_FALSE(to_elsewhere.ok());
  ASSERT_FALSE(to_untrusted.ok());
  EXPECT_EQ(to_expired.error().code, ErrorCode::kConnectionFailed) << to_expired.error().message;
  EXPECT_EQ(to_elsewhere.error().code, ErrorCode::kConnectionFailed);
  EXPECT_EQ(to_untrusted.error().code, ErrorCode::kConnectionFailed);
  ASSERT_TRUE(trusted.ok()) << trusted.error().message;
  EXPECT_EQ(trusted->status, 401);
}

}  // namespace
}  // namespace optischema::protocol
