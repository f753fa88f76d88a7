// Attacks on the reference control plane by an API key holder or a local user, against the real
// optischema-controlplane binary over HTTPS (the test CA): JSON nested deep enough to overflow a
// recursive walk, bodies that cost far more memory than their size on the wire, request memory
// exhausted by concurrent requests, heartbeats and snapshots kept forever, and data files left
// readable by others. Each test asserts the refusal and its reason, that the server is still alive
// and answering, that nothing was stored, and where memory is the target, the server's peak RSS
// (VmHWM in /proc/<pid>/status).

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/time_format.h"
#include "core/uuid.h"
#include "delivery/http_client.h"
#include "protocol/messages.h"
#include "protocol/snapshot.h"
#include "protocol/snapshot_json.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/tls_test_server.h"
#include "tests/support/wait_for.h"

namespace optischema::protocol {
namespace {

using optischema::testing::ControlPlaneProcess;
using optischema::testing::GzipForTest;
using optischema::testing::WaitFor;
using std::chrono::seconds;

constexpr std::size_t kMiB = 1024 * 1024;
constexpr char kNestedError[] = "body: JSON nested deeper than 64 levels";
// The issue's body: 100,000 '[' then 100,000 ']' (200 KB) inside an object.
constexpr std::size_t kIssueDepth = 100'000;
// Peak RSS the server may reach under the memory attacks below. Idle it holds about 10 MiB; the
// attacks, unbounded, took it to gigabytes.
constexpr long kMaxPeakRssKib = 400 * 1024;

std::string Deep(std::size_t depth = kIssueDepth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// `json` dumped with the string member "@" of value "@" replaced by `raw` text.
std::string WithRaw(nlohmann::json json, const std::string& raw) {
  std::string text = json.dump();
  const std::string marker = "\"@RAW@\"";
  const auto at = text.find(marker);
  if (at == std::string::npos) throw std::logic_error("WithRaw: no @RAW@ in the JSON");
  return text.replace(at, marker.size(), raw);
}

// `[{},{},...]` of about `bytes` bytes: some 80 bytes of parsed tree for every 3 on the wire.
std::string EmptyObjects(std::size_t bytes) {
  std::string text;
  text.reserve(bytes + 2);
  text += "[{}";
  while (text.size() + 4 < bytes) text += ",{}";
  return text + "]";
}

std::string RegisterBody(const std::string& agent_id) {
  RegisterRequest request{agent_id, "db-host-1", "0.1.0", {}};
  request.databases.push_back({"orders", 150004, {"pg_stat_statements 1.10"}});
  return RegisterRequestToJson(request);
}

nlohmann::json HeartbeatJson() {
  Heartbeat heartbeat;
  heartbeat.status = "ok";
  heartbeat.uptime_s = 12;
  return nlohmann::json::parse(HeartbeatToJson(heartbeat));
}

nlohmann::json SnapshotJson(const std::string& agent_id, const std::string& snapshot_id) {
  Snapshot snapshot;
  snapshot.snapshot_id = snapshot_id;
  snapshot.agent_id = agent_id;
  snapshot.database = "orders";
  snapshot.collected_at = FormatRfc3339(std::chrono::system_clock::now());
  snapshot.window_s = 30;
  StatementMetrics s;
  s.queryid = 42;
  s.fingerprint = "5d41402abc4b2a76";
  s.window.calls = 3;
  snapshot.statements.push_back(s);
  return nlohmann::json::parse(SnapshotToJson(snapshot));
}

// The "error" of a JSON error reply, or "" when there is none.
std::string ErrorOf(const delivery::HttpResponse& response) {
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_string()) return "";
  return body["error"].get<std::string>();
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A field of /proc/<pid>/status in KiB ("VmRSS", "VmHWM"); -1 when unreadable.
long ProcStatusKib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

unsigned ModeOf(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) throw std::runtime_error("lstat " + path);
  return info.st_mode & 07777;
}

class ControlPlaneBoundsTest : public ::testing::Test {
 protected:
  // Starts the server with `serve_args`, creates a key and registers agent_;
  void StartAndRegister(std::vector<std::string> serve_args = {}) {
    server_ = std::make_unique<ControlPlaneProcess>(
        ControlPlaneProcess::Options{.certificate = {}, .serve_args = std::move(serve_args)});
    server_->Start();
    key_ = server_->CreateApiKey();
    const Result<delivery::HttpResponse> registered =
        Post("/v1/agents/register", RegisterBody(agent_));
    ASSERT_TRUE(registered.ok()) << registered.error().message;
    ASSERT_EQ(registered->status, 200) << registered->body;
  }

  std::unique_ptr<delivery::HttpClient> Client() const {
    delivery::HttpClientOptions options;
    options.base_url = server_->base_url();
    options.api_key = key_;
    options.ca_file = server_->ca_file();
    options.connect_timeout = seconds(5);
    options.total_timeout = seconds(120);
    return delivery::MakeCurlHttpClient(options);
  }

  Result<delivery::HttpResponse> Post(const std::string& path, std::string body, bool gzip = false,
                                      const std::string& idempotency_key = "") const {
    delivery::HttpRequest request;
    request.method = "POST";
    request.path = path;
    request.body = gzip ? GzipForTest(body) : std::move(body);
    request.body_is_gzip = gzip;
    request.idempotency_key = idempotency_key;
    return Client()->Send(request);
  }

  std::string AgentPath(const std::string& route) const {
    return "/v1/agents/" + agent_ + "/" + route;
  }

  // The server process is alive and still does its work: a registration is answered 200.
  void ExpectServerAnswers() const {
    const Result<delivery::HttpResponse> again = Post("/v1/agents/register", RegisterBody(agent_));
    ASSERT_TRUE(again.ok()) << "the server no longer answers: " << again.error().message
                            << "\n--- server log ---\n"
                            << server_->ServerLog();
    EXPECT_EQ(again->status, 200) << again->body;
  }

  // Expects `response` to be a refusal with `status` whose error contains `reason`.
  static void ExpectRefused(const Result<delivery::HttpResponse>& response, int status,
                            const std::string& reason) {
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->status, status) << response->body;
    EXPECT_TRUE(Contains(ErrorOf(*response), reason)) << response->body;
  }

  // The server's peak RSS so far, also recorded as the test property server_peak_rss_kib.
  long PeakRssKib() {
    const long kib = ProcStatusKib(server_->pid(), "VmHWM");
    RecordProperty("server_peak_rss_kib", std::to_string(kib));
    return kib;
  }

  int64_t Heartbeats() const {
    const nlohmann::json agents = server_->ListAgents();
    for (const auto& agent : agents) {
      if (agent["agent_id"] == agent_) return agent["heartbeats"].get<int64_t>();
    }
    return -1;
  }

  const std::string agent_ = NewUuidV4();
  std::unique_ptr<ControlPlaneProcess> server_;
  std::string key_;
};

// ---------------------------------------------------------------------------------------------
// Finding 4: JSON nested deep enough to overflow a recursive walk

TEST_F(ControlPlaneBoundsTest, IssuesDeeplyNestedAuditBodyIsRefusedAndTheServerSurvives) {
  StartAndRegister();

  const Result<delivery::HttpResponse> response =
      Post(AgentPath("audit"), "{\"a\":" + Deep() + "}");

  ExpectRefused(response, 400, kNestedError);
  ExpectServerAnswers();
  EXPECT_TRUE(server_->ListAudit().empty());
  EXPECT_TRUE(Contains(server_->ServerLog(), "audit refused: " + std::string(kNestedError)))
      << server_->ServerLog();
}

TEST_F(ControlPlaneBoundsTest, IssuesDeeplyNestedRegisterDatabaseIsRefusedAndNothingRegistered) {
  StartAndRegister();
  const std::string stranger = NewUuidV4();
  nlohmann::json body = nlohmann::json::parse(RegisterBody(stranger));
  body["databases"][0]["x"] = "@RAW@";

  const Result<delivery::HttpResponse> response =
      Post("/v1/agents/register", WithRaw(body, Deep()));

  ExpectRefused(response, 400, kNestedError);
  ExpectServerAnswers();
  for (const auto& agent : server_->ListAgents()) EXPECT_NE(agent["agent_id"], stranger);
}

TEST_F(ControlPlaneBoundsTest, DeeplyNestedProposalSpecInASnapshotIsRefusedAndNotStored) {
  StartAndRegister();
  nlohmann::json snapshot = SnapshotJson(agent_, "s-deep");
  snapshot["proposals"] = nlohmann::json::array({{{"kind", "create_index"}, {"spec", "@RAW@"}}});

  const Result<delivery::HttpResponse> response =
      Post(AgentPath("snapshots"), WithRaw(snapshot, "{\"x\":" + Deep() + "}"),
           /*gzip=*/true, "s-deep");

  ExpectRefused(response, 400, kNestedError);
  ExpectServerAnswers();
  EXPECT_TRUE(server_->ListSnapshots().empty());
  EXPECT_TRUE(server_->ListRecommendations().empty());
}

TEST_F(ControlPlaneBoundsTest, DeeplyNestedRecordInAnAuditBatchIsRefusedAndNothingStored) {
  StartAndRegister();
  const std::string batch =
      R"({"protocol":"1","records":[{"seq":1},{"seq":2,"detail":)" + Deep(kIssueDepth / 2) + "}]}";

  const Result<delivery::HttpResponse> response = Post(AgentPath("audit"), batch, /*gzip=*/true);

  ExpectRefused(response, 400, kNestedError);
  ExpectServerAnswers();
  EXPECT_TRUE(server_->ListAudit().empty());
}

// ---------------------------------------------------------------------------------------------
// Finding 5: memory amplification, request memory, retention

TEST_F(ControlPlaneBoundsTest, IssuesFourConcurrent32MiBHeartbeatsAreRefusedWithBoundedMemory) {
  StartAndRegister();
  nlohmann::json heartbeat = HeartbeatJson();
  heartbeat["pad"] = "@RAW@";
  // Just under the 32 MiB that bounded every body before routes had bounds of their own.
  const std::string body = WithRaw(heartbeat, EmptyObjects(32 * kMiB - 1024));
  ASSERT_GT(body.size(), 31 * kMiB);
  ASSERT_LT(body.size(), 32 * kMiB);

  std::vector<std::future<Result<delivery::HttpResponse>>> replies;
  for (int i = 0; i < 4; ++i) {
    replies.push_back(
        std::async(std::launch::async, [&] { return Post(AgentPath("heartbeat"), body); }));
  }
  for (auto& reply : replies) ExpectRefused(reply.get(), 413, "larger than 65536 bytes");

  ExpectServerAnswers();
  EXPECT_LT(PeakRssKib(), kMaxPeakRssKib);
  EXPECT_EQ(Heartbeats(), 0);
}

TEST_F(ControlPlaneBoundsTest, GzipHeartbeatInflatingPastItsRouteBoundIsRefused) {
  StartAndRegister();
  nlohmann::json heartbeat = HeartbeatJson();
  heartbeat["recent_errors"] = nlohmann::json::array({std::string(8 * kMiB, 'e')});
  const std::string body = heartbeat.dump();

  const Result<delivery::HttpResponse> response = Post(AgentPath("heartbeat"), body, /*gzip=*/true);

  ExpectRefused(response, 413, "larger than 65536 bytes (compressed or decompressed)");
  ExpectServerAnswers();
  EXPECT_EQ(Heartbeats(), 0);
}

TEST_F(ControlPlaneBoundsTest,
       ConcurrentGzipSnapshotsOfManySmallElementsAreRefusedWithBoundedMemory) {
  StartAndRegister();
  std::vector<std::string> bodies;
  for (int i = 0; i < 4; ++i) {
    nlohmann::json snapshot = SnapshotJson(agent_, "s-" + std::to_string(i));
    snapshot["schema"] = nlohmann::json{{"tables", "@RAW@"}};
    // 30 MiB once inflated, under the 32 MiB bound: some ten million elements.
    bodies.push_back(GzipForTest(WithRaw(snapshot, EmptyObjects(30 * kMiB))));
  }

  std::vector<std::future<Result<delivery::HttpResponse>>> replies;
  for (int i = 0; i < 4; ++i) {
    replies.push_back(std::async(std::launch::async, [&, i] {
      delivery::HttpRequest request;
      request.method = "POST";
      request.path = AgentPath("snapshots");
      request.body = bodies[i];
      request.body_is_gzip = true;
      request.idempotency_key = "s-" + std::to_string(i);
      return Client()->Send(request);
    }));
  }
  for (auto& reply : replies) {
    ExpectRefused(reply.get(), 400,
                  "body: more than 1000000 JSON elements (array elements and object members)");
  }

  ExpectServerAnswers();
  EXPECT_LT(PeakRssKib(), kMaxPeakRssKib);
  EXPECT_TRUE(server_->ListSnapshots().empty());
}

TEST_F(ControlPlaneBoundsTest, RequestsPastTheInflightBudgetGet503WithRetryAfterUntilItFrees) {
  StartAndRegister({"--max-inflight-bytes", std::to_string(kMiB)});
  // A snapshot whose first 8 MiB arrive, then the rest only once the test has seen the refusal.
  // Alone in flight it may pass the 1 MiB budget; while the server holds what it read, no other
  // request fits.
  const std::string snapshot = SnapshotJson(agent_, "s-held").dump();
  const std::string head = "{\"pad\":\"" + std::string(8 * kMiB, 'p');
  const std::string tail = "\"," + snapshot.substr(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  const long rss_before = ProcStatusKib(server_->pid(), "VmRSS");
  auto held = std::async(std::launch::async, [&] {
    httplib::SSLClient client("127.0.0.1", server_->port());
    client.set_ca_cert_path(server_->ca_file().c_str());
    client.enable_server_certificate_verification(true);
    client.set_read_timeout(seconds(30));
    const httplib::Headers headers = {{"Authorization", "Bearer " + key_},
                                      {"Idempotency-Key", "s-held"}};
    return client.Post(
        AgentPath("snapshots"), headers,
        [&](std::size_t offset, httplib::DataSink& sink) {
          if (offset == 0) return sink.write(head.data(), head.size());
          released.wait_for(seconds(4));  // the server waits 5 s for the rest of a request
          sink.write(tail.data(), tail.size());
          sink.done();
          return true;
        },
        "application/json");
  });
  // No other request runs until the server holds more than 4 MiB of the held body (its RSS),
  // so the held request was alone when it passed the budget.
  const bool holding =
      WaitFor([&] { return ProcStatusKib(server_->pid(), "VmRSS") > rss_before + 4 * 1024; },
              seconds(4), std::chrono::milliseconds(5));

  const Result<delivery::HttpResponse> refused =
      Post(AgentPath("heartbeat"), HeartbeatJson().dump());
  release.set_value();
  const httplib::Result held_reply = held.get();

  ASSERT_TRUE(holding) << "the server never read the held body\n--- server log ---\n"
                       << server_->ServerLog();
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_TRUE(Contains(ErrorOf(*refused), "control plane busy")) << refused->body;
  ASSERT_TRUE(refused->headers.count("retry-after")) << refused->body;
  EXPECT_EQ(refused->headers.at("retry-after"), "5");
  ASSERT_TRUE(held_reply) << "the held snapshot got no reply";
  EXPECT_EQ(held_reply->status, 202) << held_reply->body;
  const Result<delivery::HttpResponse> after = Post(AgentPath("heartbeat"), HeartbeatJson().dump());
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->status, 200) << after->body;
  EXPECT_EQ(Heartbeats(), 1);
}

// Sets received_at of every heartbeat and of snapshot `snapshot_id` to `days` days ago, with the
// server stopped.
void AgeRecords(const std::string& db_path, const std::string& snapshot_id, int days) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("sqlite open");
  const std::string at = FormatRfc3339(std::chrono::system_clock::now() - std::chrono::days(days));
  const std::string sql = "UPDATE heartbeats SET received_at = '" + at +
                          "'; UPDATE snapshots SET received_at = '" + at +
                          "' WHERE snapshot_id = '" + snapshot_id + "';";
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error("sqlite: " + message);
}

TEST_F(ControlPlaneBoundsTest, HeartbeatsAndSnapshotsPastTheRetentionAreDeletedAtStart) {
  StartAndRegister({"--retention-days", "7"});
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Post(AgentPath("heartbeat"), HeartbeatJson().dump())->status, 200);
  }
  for (const char* id : {"s-old", "s-new"}) {
    ASSERT_EQ(Post(AgentPath("snapshots"), SnapshotJson(agent_, id).dump(), true, id)->status, 202);
  }
  ASSERT_EQ(server_->Stop(), 0);
  AgeRecords(server_->data_dir() + "/controlplane.db", "s-old", 8);

  server_->Start();

  EXPECT_TRUE(WaitFor([&] { return server_->ListSnapshots().size() == 1; }, seconds(15)))
      << server_->ListSnapshots().dump();
  EXPECT_EQ(server_->ListSnapshots()[0]["snapshot_id"], "s-new");
  EXPECT_EQ(Heartbeats(), 1);  // each agent's latest heartbeat stays
  EXPECT_TRUE(Contains(server_->ServerLog(),
                       "retention: deleted 2 heartbeats and 1 snapshots older than 7 days"))
      << server_->ServerLog();
}

// ---------------------------------------------------------------------------------------------
// Finding 10: data files readable by others

TEST_F(ControlPlaneBoundsTest, PreExistingOpenDataDirectoryAndFilesBecomePrivateAtStart) {
  server_ = std::make_unique<ControlPlaneProcess>();
  const std::string data = server_->data_dir();
  ASSERT_EQ(::mkdir(data.c_str(), 0755), 0);
  key_ = server_->CreateApiKey();
  server_->InitKeys();
  const std::string db = data + "/controlplane.db";
  const std::string signing_key = data + "/signing.key";
  for (const std::string& file : {db, signing_key}) ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  ASSERT_EQ(::chmod(data.c_str(), 0755), 0);

  server_->Start();
  const Result<delivery::HttpResponse> registered =
      Post("/v1/agents/register", RegisterBody(agent_));

  ASSERT_TRUE(registered.ok()) << registered.error().message;
  EXPECT_EQ(registered->status, 200);
  EXPECT_EQ(ModeOf(data), 0700U);
  EXPECT_EQ(ModeOf(db), 0600U);
  EXPECT_EQ(ModeOf(signing_key), 0600U);
  for (const char* suffix : {"-wal", "-shm"}) {
    ASSERT_TRUE(std::filesystem::exists(db + suffix)) << suffix;  // WAL mode, open by serve
    EXPECT_EQ(ModeOf(db + suffix), 0600U) << suffix;
  }
}

TEST_F(ControlPlaneBoundsTest, FilesMadeUnderAPermissiveUmaskArePrivate) {
  server_ = std::make_unique<ControlPlaneProcess>();
  const mode_t previous = ::umask(0);  // inherited by the commands and by serve
  key_ = server_->CreateApiKey();
  server_->InitKeys();
  server_->Start();
  ::umask(previous);
  const std::string data = server_->data_dir();

  ExpectServerAnswers();
  EXPECT_EQ(ModeOf(data), 0700U);
  for (const char* file :
       {"controlplane.db", "controlplane.db-wal", "controlplane.db-shm", "signing.key"}) {
    EXPECT_EQ(ModeOf(data + "/" + file), 0600U) << file;
  }
}

}  // namespace
}  // namespace optischema::protocol
