// The control plane's API over a real store in a temporary directory, without HTTP: order of
// checks, what each route stores, which recommendations an agent is served, what its events do.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "controlplane/api.h"
#include "controlplane/api_keys.h"
#include "controlplane/store.h"
#include "core/time_format.h"
#include "protocol/advice.h"
#include "protocol/recommendation.h"
#include "protocol/snapshot_json.h"
#include "tests/support/manual_clock.h"

namespace optischema::controlplane {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

constexpr char kKey[] = "osk_unit-test-key";
constexpr char kAgent[] = "0b8a3c1e-1111-4222-8333-444455556666";
constexpr char kOtherAgent[] = "11111111-2222-4333-8444-555555555555";

std::string RegisterBody(const std::string& agent_id) {
  return nlohmann::json{{"protocol", "1.0"},
                        {"agent_id", agent_id},
                        {"hostname", "h"},
                        {"version", "0.1.0"},
                        {"databases", nlohmann::json::array()}}
      .dump();
}

// A snapshot `snapshot_id` of kAgent on database orders, as the agent serializes it, carrying
// `proposals` from the advisor.
std::string SnapshotBody(const std::string& snapshot_id,
                         const std::vector<protocol::IndexProposal>& proposals) {
  protocol::Snapshot snapshot;
  snapshot.snapshot_id = snapshot_id;
  snapshot.agent_id = kAgent;
  snapshot.database = "orders";
  snapshot.collected_at = "2026-11-21T22:30:05.123Z";
  snapshot.window_s = 30;
  snapshot.advice.emplace();
  snapshot.advice->proposals = proposals;
  return protocol::SnapshotToJson(snapshot);
}

protocol::IndexProposal CreateIndexProposal(const std::string& column) {
  protocol::IndexProposal p;
  p.kind = "create_index";
  p.schema = "public";
  p.table = "orders";
  p.columns = {column};
  p.table_digest = "9f86d081";
  p.statements = {{-123, 4800.5, 8.2}};
  p.cost_before = 4800.5;
  p.cost_after = 8.2;
  p.saving_pct = 99.8;
  p.reason = "sequential scans filter on " + column;
  return p;
}

std::string EventBody(const std::string& recommendation_id, const std::string& event) {
  return protocol::RecommendationEventToJson(
      {recommendation_id, event, "2026-01-31T12:00:00Z", "detail"});
}

class ControlPlaneApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "optischema-api-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    auto store = Store::Open(dir_ + "/data", Store::OpenMode::kCreate, clock_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(store_->AddApiKey("test", ApiKeySha256Hex(kKey)).ok());
    api_ = std::make_unique<Api>(*store_, ApiOptions{}, clock_);
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Handles `method path` with `body`; counts how often the body was read.
  ApiReply Call(const std::string& method, const std::string& path, const std::string& body = "{}",
                const std::string& key = kKey, const std::string& status_param = "") {
    ApiRequest request{method, path, status_param, key.empty() ? "" : "Bearer " + key, ""};
    return api_->Handle(request,
                        [this, body](std::size_t max_bytes) -> std::variant<std::string, ApiReply> {
                          ++body_reads_;
                          last_max_bytes_ = max_bytes;
                          return body;
                        });
  }

  std::string dir_;
  testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Api> api_;
  int body_reads_ = 0;
  std::size_t last_max_bytes_ = 0;  // the bound the Api gave the last body read
};

TEST_F(ControlPlaneApiTest, RouteThenKeyAreCheckedBeforeTheBodyIsRead) {
  const ApiReply unknown_route = Call("POST", "/v1/agents/register/extra", "{}", "");
  const ApiReply wrong_method = Call("GET", "/v1/agents/register", "{}", "");
  const ApiReply no_key = Call("POST", "/v1/agents/register", RegisterBody(kAgent), "");
  const ApiReply wrong_key = Call("POST", "/v1/agents/register", RegisterBody(kAgent), "osk_x");

  EXPECT_EQ(unknown_route.status, 404);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(no_key.status, 401);
  EXPECT_EQ(wrong_key.status, 401);
  EXPECT_EQ(nlohmann::json::parse(wrong_key.body),
            (nlohmann::json{{"protocol", "1"}, {"error", "missing or unknown API key"}}));
  EXPECT_EQ(body_reads_, 0);
}

TEST_F(ControlPlaneApiTest, RefusalFromTheBodyReaderIsTheReply) {
  ApiRequest request{"POST", "/v1/agents/register", "", std::string("Bearer ") + kKey, ""};

  const ApiReply reply =
      api_->Handle(request, [](std::size_t) -> std::variant<std::string, ApiReply> {
        return ErrorReply(413, "too large");
      });

  EXPECT_EQ(reply.status, 413);
  auto agents = store_->ListAgents();
  ASSERT_TRUE(agents.ok());
  EXPECT_TRUE(agents->empty());
}

TEST_F(ControlPlaneApiTest, HeartbeatNeedsARegisteredAgent) {
  const std::string heartbeat =
      R"({"protocol":"1.0","status":"ok","uptime_s":1,"spool_depth":0,"recent_errors":[]})";
  const ApiReply before =
      Call("POST", std::string("/v1/agents/") + kAgent + "/heartbeat", heartbeat);
  ASSERT_EQ(Call("POST", "/v1/agents/register", RegisterBody(kAgent)).status, 200);

  const ApiReply after =
      Call("POST", std::string("/v1/agents/") + kAgent + "/heartbeat", heartbeat);

  EXPECT_EQ(before.status, 404);
  EXPECT_EQ(after.status, 200);
  auto agents = store_->ListAgents();
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 1U);
  EXPECT_EQ((*agents)[0].heartbeats, 1);
}

TEST_F(ControlPlaneApiTest, SameSnapshotIdFromAnotherAgentIsAnotherSnapshot) {
  SnapshotRecord record{kAgent, "s-1", "orders", "2026-01-01T00:00:00Z", 0, "{}"};
  ASSERT_TRUE(store_->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
  ASSERT_TRUE(store_->UpsertAgent({kOtherAgent, "h", "1", "[]"}).ok());

  auto first = store_->AddSnapshot(record);
  auto replay = store_->AddSnapshot(record);
  record.agent_id = kOtherAgent;
  auto other = store_->AddSnapshot(record);

  ASSERT_TRUE(first.ok() && replay.ok() && other.ok());
  EXPECT_EQ(*first, StoreOutcome::kStored);
  EXPECT_EQ(*replay, StoreOutcome::kDuplicate);
  EXPECT_EQ(*other, StoreOutcome::kStored);
  auto listed = store_->ListSnapshots({});
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2U);
}

TEST_F(ControlPlaneApiTest, SnapshotProposalsAreStoredOnceAsProposedRecommendations) {
  ASSERT_TRUE(store_->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
  const std::string path = std::string("/v1/agents/") + kAgent + "/snapshots";
  const std::vector<protocol::IndexProposal> proposals = {CreateIndexProposal("customer_id"),
                                                          CreateIndexProposal("created_at")};

  const ApiReply first = Call("POST", path, SnapshotBody("s-1", proposals));
  const ApiReply replay = Call("POST", path, SnapshotBody("s-1", proposals));
  clock_.Advance(hours(1));
  const ApiReply later = Call("POST", path, SnapshotBody("s-2", proposals));

  EXPECT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(
      nlohmann::json::parse(first.body),
      (nlohmann::json{
          {"protocol", "1"}, {"stored", true}, {"proposals_stored", 2}, {"proposals_refused", 0}}));
  EXPECT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(nlohmann::json::parse(replay.body)["proposals_stored"], 0);
  EXPECT_EQ(later.status, 202) << later.body;
  EXPECT_EQ(nlohmann::json::parse(later.body)["proposals_stored"], 0);
  EXPECT_EQ(nlohmann::json::parse(later.body)["proposals_refused"], 0);
  auto rows = store_->ListRecommendations(kAgent);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2U);
  for (const RecommendationRow& row : *rows) {
    EXPECT_EQ(row.record.status, kStatusProposed);
    EXPECT_EQ(row.record.id.rfind("adv-", 0), 0U) << row.record.id;
    nlohmann::json approved = nlohmann::json::parse(row.record.body_json);
    approved["approved_by"] = "dba";
    approved["approved_at"] = "2026-01-31T12:00:00Z";
    auto parsed = protocol::ParseRecommendation(approved.dump());
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->affected_queryids, std::vector<int64_t>{-123});
    EXPECT_EQ(parsed->table_digest, "9f86d081");
  }
  EXPECT_NE((*rows)[0].record.id, (*rows)[1].record.id);
}

TEST_F(ControlPlaneApiTest, SnapshotWithABadProposalIsStoredWithTheGoodOne) {
  ASSERT_TRUE(store_->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
  protocol::IndexProposal bad = CreateIndexProposal("customer_id");
  bad.kind = "set_config";

  const ApiReply reply = Call("POST", std::string("/v1/agents/") + kAgent + "/snapshots",
                              SnapshotBody("s-1", {bad, CreateIndexProposal("created_at")}));

  EXPECT_EQ(reply.status, 202) << reply.body;
  EXPECT_EQ(nlohmann::json::parse(reply.body)["proposals_stored"], 1);
  EXPECT_EQ(nlohmann::json::parse(reply.body)["proposals_refused"], 1);
  auto snapshots = store_->ListSnapshots({});
  ASSERT_TRUE(snapshots.ok());
  EXPECT_EQ(snapshots->size(), 1U);
  auto rows = store_->ListRecommendations(kAgent);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1U);
  EXPECT_EQ((*rows)[0].record.status, kStatusProposed);
  EXPECT_EQ(nlohmann::json::parse((*rows)[0].record.body_json)["spec"]["columns"],
            nlohmann::json::array({"created_at"}));
}

TEST_F(ControlPlaneApiTest, AgentIsServedItsApprovedRecommendationsUntilTheyExpire) {
  ASSERT_TRUE(store_->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
  ASSERT_TRUE(store_->UpsertAgent({kOtherAgent, "h", "1", "[]"}).ok());
  const std::string in_an_hour = FormatRfc3339(clock_.Now() + hours(1));
  const std::string an_hour_ago = FormatRfc3339(clock_.Now() - hours(1));
  for (const RecommendationRecord& r :
       {RecommendationRecord{"r-forever", kAgent, "approved", std::nullopt,
                             R"({"id":"r-forever"})"},
        RecommendationRecord{"r-hour", kAgent, "approved", in_an_hour, R"({"id":"r-hour"})"},
        RecommendationRecord{"r-expired", kAgent, "approved", an_hour_ago, R"({"id":"r-expired"})"},
        RecommendationRecord{"r-proposed", kAgent, "proposed", std::nullopt,
                             R"({"id":"r-proposed"})"},
        RecommendationRecord{"r-other", kOtherAgent, "approved", std::nullopt,
                             R"({"id":"r-other"})"}}) {
    ASSERT_TRUE(store_->AddRecommendation(r).ok()) << r.id;
  }
  const std::string path = std::string("/v1/agents/") + kAgent + "/recommendations";

  const ApiReply now = Call("GET", path);
  clock_.Advance(hours(2));
  const ApiReply later = Call("GET", path);

  ASSERT_EQ(now.status, 200);
  EXPECT_EQ(nlohmann::json::parse(now.body)["recommendations"],
            nlohmann::json::parse(R"([{"id":"r-forever"},{"id":"r-hour"}])"));
  EXPECT_EQ(nlohmann::json::parse(later.body)["recommendations"],
            nlohmann::json::parse(R"([{"id":"r-forever"}])"));
  EXPECT_EQ(body_reads_, 0);
}

TEST_F(ControlPlaneApiTest, StoredRecommendationIsServedByteForByte) {
  ASSERT_TRUE(store_->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
  const std::string body = R"({"id":"r-1", "note":"spacing kept" })";
  ASSERT_TRUE(store_->AddRecommendation({"r-1", kAgent, "approved", std::nullopt, body}).ok());

  const ApiReply reply = Call("GET", std::string("/v1/agents/") + kAgent + "/recommendations");

  EXPECT_EQ(reply.body, R"({"protocol":"1","recommendations":[)" + body + "]}");
}

TEST_F(ControlPlaneApiTest, RollbackRequestsAreServedOnlyWhenAskedForAndEvenAfterExpiry) {
  ASSERT_TRUE(store_->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
  const std::string an_hour_ago = FormatRfc3339(clock_.Now() - hours(1));
  ASSERT_TRUE(store_
                  ->AddRecommendation({"r-undo", kAgent, kStatusRollbackRequested, an_hour_ago,
                                       R"({"id":"r-undo"})"})
                  .ok());
  const std::string path = std::string("/v1/agents/") + kAgent + "/recommendations";

  const ApiReply approved = Call("GET", path, "", kKey, "approved");
  const ApiReply rollbacks = Call("GET", path, "", kKey, "rollback_requested");
  const ApiReply unknown = Call("GET", path, "", kKey, "applied");

  EXPECT_EQ(nlohmann::json::parse(approved.body)["recommendations"], nlohmann::json::array());
  EXPECT_EQ(nlohmann::json::parse(rollbacks.body)["recommendations"],
            nlohmann::json::parse(R"([{"id":"r-undo"}])"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(nlohmann::json::parse(unknown.body)["error"],
            "status: expected \"approved\" or \"rollback_requested\"");
}

TEST_F(ControlPlaneApiTest, EventBecomesTheStatusOfTheRecommendation) {
  ASSERT_TRUE(store_->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
  ASSERT_TRUE(
      store_->AddRecommendation({"r-1", kAgent, "approved", std::nullopt, R"({"id":"r-1"})"}).ok());

  const ApiReply reply =
      Call("POST", std::string("/v1/agents/") + kAgent + "/recommendations/r-1/events",
           EventBody("r-1", "started"));

  EXPECT_EQ(reply.status, 202) << reply.body;
  auto row = store_->GetRecommendation("r-1");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->record.status, "started");
  EXPECT_EQ((*row)->last_event_json, EventBody("r-1", "started"));
}

TEST_F(ControlPlaneApiTest, EventIsRefusedWhenMalformedMisaddressedOrForNoServedRecommendation) {
  ASSERT_TRUE(store_->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
  ASSERT_TRUE(store_->UpsertAgent({kOtherAgent, "h", "1", "[]"}).ok());
  ASSERT_TRUE(
      store_->AddRecommendation({"r-proposed", kAgent, "proposed", std::nullopt, "{}"}).ok());
  ASSERT_TRUE(
      store_->AddRecommendation({"r-other", kOtherAgent, "approved", std::nullopt, "{}"}).ok());
  const std::string prefix = std::string("/v1/agents/") + kAgent + "/recommendations/";

  const ApiReply unknown_event =
      Call("POST", prefix + "r-proposed/events", EventBody("r-proposed", "exploded"));
  const ApiReply other_id = Call("POST", prefix + "r-proposed/events", EventBody("r-2", "applied"));
  const ApiReply proposed =
      Call("POST", prefix + "r-proposed/events", EventBody("r-proposed", "applied"));
  const ApiReply not_ours =
      Call("POST", prefix + "r-other/events", EventBody("r-other", "applied"));

  EXPECT_EQ(unknown_event.status, 400);
  EXPECT_NE(unknown_event.body.find("event: must be one of"), std::string::npos)
      << unknown_event.body;
  EXPECT_EQ(other_id.status, 400);
  EXPECT_NE(other_id.body.find("recommendation_id"), std::string::npos) << other_id.body;
  EXPECT_EQ(proposed.status, 404);
  EXPECT_EQ(not_ours.status, 404);
  auto rows = store_->ListRecommendations(std::nullopt);
  ASSERT_TRUE(rows.ok());
  for (const RecommendationRow& row : *rows) {
    EXPECT_FALSE(row.last_event_json.has_value()) << row.record.id;
    EXPECT_NE(row.record.status, "applied") << row.record.id;
  }
}

TEST_F(ControlPlaneApiTest, ListingNeedsAnExistingDatabase) {
  auto missing = Store::Open(dir_ + "/elsewhere", Store::OpenMode::kExisting, clock_);

  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kConfig);
  EXPECT_FALSE(fs::exists(dir_ + "/elsewhere"));
}

}  // namespace
}  // namespace optischema::controlplane
