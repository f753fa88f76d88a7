// Recommendations in the optischema-controlplane binary, run with ControlPlaneProcess: the
// signing key, proposing, approving, what the agent is served over HTTPS (fetched with the
// agent's own client and checked with the agent's own verification), the agent's events, rollback
// requests and mirrored audit records.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/time_format.h"
#include "core/uuid.h"
#include "delivery/http_client.h"
#include "protocol/advice.h"
#include "protocol/ed25519.h"
#include "protocol/messages.h"
#include "protocol/recommendation.h"
#include "protocol/snapshot.h"
#include "protocol/snapshot_json.h"
#include "tests/support/controlplane_process.h"

namespace optischema::protocol {
namespace {

using optischema::testing::ControlPlaneProcess;
using std::chrono::seconds;
using std::chrono::system_clock;

constexpr char kDatabase[] = "orders";
constexpr char kNoRecommendations[] = R"({"protocol":"1","recommendations":[]})";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A proposal file's content: a create_index recommendation without id and approval fields.
nlohmann::json Proposal(const std::string& agent_id) {
  return {
      {"agent_id", agent_id},
      {"database", kDatabase},
      {"kind", "create_index"},
      {"spec", {{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}}},
      {"affected_queryids", {-4200000000000, 17}},
      {"guard", {{"verify_window_s", 600}, {"max_regression_pct", 20}, {"auto_rollback", true}}}};
}

// The "error" of a JSON error reply, or "" when there is none.
std::string ErrorOf(const delivery::HttpResponse& response) {
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("error")) return "";
  return body["error"].get<std::string>();
}

class ControlPlaneRecommendationsTest : public ::testing::Test {
 protected:
  // Starts the server, creates an API key and an HTTPS client trusting the fixture's CA, and
  // registers agent_id_.
  void SetUp() override {
    server_.Start();
    delivery::HttpClientOptions options;
    options.base_url = server_.base_url();
    options.api_key = server_.CreateApiKey();
    options.ca_file = server_.ca_file();
    options.connect_timeout = seconds(5);
    options.total_timeout = seconds(30);
    client_ = delivery::MakeCurlHttpClient(options);
    RegisterRequest request{agent_id_, "db-host-1", "0.1.0", {}};
    request.databases.push_back({kDatabase, 150004, {"pg_stat_statements 1.10"}});
    const delivery::HttpResponse registered =
        Send("POST", "/v1/agents/register", RegisterRequestToJson(request));
    ASSERT_EQ(registered.status, 200) << registered.body;
  }

  delivery::HttpResponse Send(const std::string& method, const std::string& path,
                              std::string body = "") {
    delivery::HttpRequest request;
    request.method = method;
    request.path = path;
    request.body = std::move(body);
    Result<delivery::HttpResponse> response = client_->Send(request);
    if (!response.ok()) throw std::runtime_error(response.error().message);
    return std::move(response).value();
  }

  // GET .../recommendations?status=`status`.
  delivery::HttpResponse Served(const std::string& status = "approved") {
    return Send("GET", "/v1/agents/" + agent_id_ + "/recommendations?status=" + status);
  }

  delivery::HttpResponse PostEvent(const std::string& id, const std::string& event,
                                   const std::string& detail = "") {
    const RecommendationEvent e{id, event, FormatRfc3339(system_clock::now()), detail};
    return Send("POST", "/v1/agents/" + agent_id_ + "/recommendations/" + id + "/events",
                RecommendationEventToJson(e));
  }

  // The listed object of recommendation `id`, or null.
  nlohmann::json Listed(const std::string& id) const {
    for (const nlohmann::json& r : server_.ListRecommendations()) {
      if (r["id"] == id) return r;
    }
    return nullptr;
  }

  const std::string agent_id_ = NewUuidV4();
  ControlPlaneProcess server_;
  std::unique_ptr<delivery::HttpClient> client_;
};

TEST_F(ControlPlaneRecommendationsTest, KeysInitPrintsTheKeyThatVerifiesTheServedRecommendation) {
  const std::string public_key = server_.InitKeys();
  const std::string id = server_.Recommend(Proposal(agent_id_));
  server_.Approve(id);

  const delivery::HttpResponse served = Served();

  ASSERT_EQ(served.status, 200) << served.body;
  const Result<std::vector<RecommendationEnvelope>> list = ParseRecommendationList(served.body);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1U) << served.body;
  const RecommendationEnvelope& element = (*list)[0];
  const Status verified = VerifyRecommendationSignature(element.raw_json, public_key);
  EXPECT_TRUE(verified.ok()) << verified.error().message;
  ASSERT_TRUE(element.recommendation.ok()) << element.recommendation.error().message;
  EXPECT_EQ(element.recommendation->id, id);
  EXPECT_EQ(element.recommendation->agent_id, agent_id_);
  EXPECT_EQ(element.recommendation->approved_by, "tester");
  EXPECT_EQ(element.recommendation->affected_queryids, (std::vector<int64_t>{-4200000000000, 17}));
  const Result<Ed25519KeyPair> other = GenerateEd25519KeyPair();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(VerifyRecommendationSignature(element.raw_json, other->public_key_b64).error().code,
            ErrorCode::kPermissionDenied);
  const ControlPlaneProcess::CommandResult shown =
      server_.Run({"keys", "show", "--data", server_.data_dir()});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out, public_key + "\n");
}

TEST_F(ControlPlaneRecommendationsTest, AdvisorProposalInASnapshotIsListedApprovedAndServed) {
  const std::string public_key = server_.InitKeys();
  Snapshot snapshot;
  snapshot.snapshot_id = NewUuidV4();
  snapshot.agent_id = agent_id_;
  snapshot.database = kDatabase;
  snapshot.collected_at = FormatRfc3339(system_clock::now());
  snapshot.window_s = 30;
  IndexProposal proposal;
  proposal.kind = "create_index";
  proposal.schema = "public";
  proposal.table = "orders";
  proposal.columns = {"customer_id"};
  proposal.table_digest = "9f86d081";
  proposal.statements = {{-4200000000000, 4800.5, 8.25}};
  proposal.reason = "sequential scans of orders filter on customer_id";
  snapshot.advice.emplace();
  snapshot.advice->proposals = {proposal};

  const delivery::HttpResponse stored =
      Send("POST", "/v1/agents/" + agent_id_ + "/snapshots", SnapshotToJson(snapshot));
  const nlohmann::json listed = server_.ListRecommendations();

  ASSERT_EQ(stored.status, 202) << stored.body;
  EXPECT_EQ(nlohmann::json::parse(stored.body)["proposals_stored"], 1) << stored.body;
  ASSERT_EQ(listed.size(), 1U) << listed.dump();
  EXPECT_EQ(listed[0]["status"], "proposed");
  EXPECT_EQ(listed[0]["source"], "agent");
  EXPECT_EQ(listed[0]["reason"], proposal.reason);
  EXPECT_EQ(Served().body, kNoRecommendations);
  const std::string id = listed[0]["id"].get<std::string>();
  server_.Approve(id);
  const delivery::HttpResponse served = Served();
  const Result<std::vector<RecommendationEnvelope>> list = ParseRecommendationList(served.body);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1U) << served.body;
  EXPECT_TRUE(VerifyRecommendationSignature((*list)[0].raw_json, public_key).ok());
  ASSERT_TRUE((*list)[0].recommendation.ok()) << (*list)[0].recommendation.error().message;
  const Recommendation& r = *(*list)[0].recommendation;
  EXPECT_EQ(r.id, id);
  EXPECT_EQ(r.affected_queryids, std::vector<int64_t>{-4200000000000});
  EXPECT_EQ(r.table_digest, "9f86d081");
  EXPECT_EQ(r.reason, proposal.reason);
  EXPECT_TRUE(r.guard.auto_rollback);
}

TEST_F(ControlPlaneRecommendationsTest, ProposedRecommendationIsListedButNotServed) {
  server_.InitKeys();
  const std::string id = server_.Recommend(Proposal(agent_id_));

  const delivery::HttpResponse served = Served();
  const nlohmann::json listed = Listed(id);

  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, kNoRecommendations);
  ASSERT_TRUE(listed.is_object());
  EXPECT_EQ(listed["status"], "proposed");
  EXPECT_EQ(listed["kind"], "create_index");
  EXPECT_EQ(listed["agent_id"], agent_id_);
  EXPECT_EQ(listed["database"], kDatabase);
  EXPECT_TRUE(listed["approved_by"].is_null());
  EXPECT_TRUE(listed["last_event"].is_null());
}

TEST_F(ControlPlaneRecommendationsTest, ExpiredRecommendationIsNeitherServedNorApproved) {
  server_.InitKeys();
  const auto expires = system_clock::now() + seconds(3);
  nlohmann::json proposal = Proposal(agent_id_);
  proposal["expires_at"] = FormatRfc3339(expires);
  const std::string approved = server_.Recommend(proposal);
  const std::string late = server_.Recommend(proposal);
  server_.Approve(approved);
  ASSERT_NE(Served().body, kNoRecommendations);

  // The server's clock decides; poll it until the recommendation is withdrawn.
  const auto deadline = expires + seconds(20);
  while (Served().body != kNoRecommendations && system_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto withdrawn_at = system_clock::now();
  const ControlPlaneProcess::CommandResult approve_late =
      server_.Run({"approve", "--data", server_.data_dir(), late});

  EXPECT_EQ(Served().body, kNoRecommendations);
  EXPECT_GE(withdrawn_at, expires);
  EXPECT_EQ(approve_late.exit_code, 2);
  EXPECT_TRUE(Contains(approve_late.err, "expired")) << approve_late.err;
  EXPECT_EQ(Listed(late)["status"], "proposed");
}

TEST_F(ControlPlaneRecommendationsTest, AppliedEventChangesTheListedStatusAndEndsServing) {
  server_.InitKeys();
  const std::string id = server_.Recommend(Proposal(agent_id_));
  server_.Approve(id);

  const delivery::HttpResponse reply = PostEvent(id, "applied", "index built in 2 s");

  EXPECT_EQ(reply.status, 202) << reply.body;
  const nlohmann::json listed = Listed(id);
  EXPECT_EQ(listed["status"], "applied");
  EXPECT_EQ(listed["approved_by"], "tester");
  EXPECT_EQ(listed["last_event"]["event"], "applied");
  EXPECT_EQ(listed["last_event"]["detail"], "index built in 2 s");
  EXPECT_EQ(Served().body, kNoRecommendations);
}

TEST_F(ControlPlaneRecommendationsTest, RollbackRequestIsServedUntilTheAgentReportsRolledBack) {
  const std::string public_key = server_.InitKeys();
  const std::string id = server_.Recommend(Proposal(agent_id_));
  server_.Approve(id);
  const ControlPlaneProcess::CommandResult too_early =
      server_.Run({"rollback", "--data", server_.data_dir(), id});
  ASSERT_EQ(PostEvent(id, "applied").status, 202);

  const ControlPlaneProcess::CommandResult requested =
      server_.Run({"rollback", "--data", server_.data_dir(), id});
  const delivery::HttpResponse rollbacks = Served("rollback_requested");
  const delivery::HttpResponse approved = Served("approved");
  const delivery::HttpResponse done = PostEvent(id, "rolled_back");

  EXPECT_EQ(too_early.exit_code, 2);
  EXPECT_TRUE(Contains(too_early.err, "is approved")) << too_early.err;
  EXPECT_EQ(requested.exit_code, 0) << requested.err;
  const Result<std::vector<RecommendationEnvelope>> list = ParseRecommendationList(rollbacks.body);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1U) << rollbacks.body;
  EXPECT_EQ((*list)[0].id, id);
  EXPECT_TRUE(VerifyRecommendationSignature((*list)[0].raw_json, public_key).ok());
  EXPECT_EQ(approved.body, kNoRecommendations);
  EXPECT_EQ(done.status, 202) << done.body;
  EXPECT_EQ(Listed(id)["status"], "rolled_back");
  EXPECT_EQ(Served("rollback_requested").body, kNoRecommendations);
}

TEST_F(ControlPlaneRecommendationsTest, MalformedRecommendFileExits2NamingTheField) {
  nlohmann::json no_columns = Proposal(agent_id_);
  no_columns["spec"].erase("columns");
  nlohmann::json approved = Proposal(agent_id_);
  approved["approved_by"] = "someone";

  const ControlPlaneProcess::CommandResult missing = server_.RunRecommend(no_columns.dump());
  const ControlPlaneProcess::CommandResult fraction =
      server_.RunRecommend(R"({"guard":{"max_regression_pct":0.5}})");
  const ControlPlaneProcess::CommandResult preapproved = server_.RunRecommend(approved.dump());
  const ControlPlaneProcess::CommandResult not_json = server_.RunRecommend("{\"agent_id\":");

  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(Contains(missing.err, "spec.columns: missing")) << missing.err;
  EXPECT_EQ(fraction.exit_code, 2);
  EXPECT_TRUE(Contains(fraction.err, "guard.max_regression_pct")) << fraction.err;
  EXPECT_EQ(preapproved.exit_code, 2);
  EXPECT_TRUE(Contains(preapproved.err, "approved_by")) << preapproved.err;
  EXPECT_EQ(not_json.exit_code, 2);
  EXPECT_TRUE(Contains(not_json.err, "invalid JSON")) << not_json.err;
  EXPECT_TRUE(server_.ListRecommendations().empty());
}

TEST_F(ControlPlaneRecommendationsTest, ApproveWithoutKeysExits2TellingToRunKeysInit) {
  const std::string id = server_.Recommend(Proposal(agent_id_));

  const ControlPlaneProcess::CommandResult result =
      server_.Run({"approve", "--data", server_.data_dir(), id});

  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(Contains(result.err, "keys init")) << result.err;
  EXPECT_EQ(Listed(id)["status"], "proposed");
  EXPECT_EQ(Served().body, kNoRecommendations);
}

TEST_F(ControlPlaneRecommendationsTest, KeysInitKeepsTheKeyUnlessForced) {
  const std::string first = server_.InitKeys();

  const ControlPlaneProcess::CommandResult again =
      server_.Run({"keys", "init", "--data", server_.data_dir()});
  const ControlPlaneProcess::CommandResult kept =
      server_.Run({"keys", "show", "--data", server_.data_dir()});
  const ControlPlaneProcess::CommandResult forced =
      server_.Run({"keys", "init", "--data", server_.data_dir(), "--force"});

  EXPECT_EQ(again.exit_code, 2);
  EXPECT_TRUE(Contains(again.err, "--force")) << again.err;
  EXPECT_EQ(kept.out, first + "\n");
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.out, first + "\n");
  EXPECT_EQ(server_.Run({"keys", "show", "--data", server_.data_dir()}).out, forced.out);
}

TEST_F(ControlPlaneRecommendationsTest, RecommendationForAnUnregisteredAgentIsKeptWithAWarning) {
  const std::string stranger = NewUuidV4();

  const ControlPlaneProcess::CommandResult result = server_.RunRecommend(Proposal(stranger).dump());

  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.err, "has not registered")) << result.err;
  const nlohmann::json listed = server_.ListRecommendations({"--agent", stranger});
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0]["id"], result.out.substr(0, result.out.size() - 1));
}

TEST_F(ControlPlaneRecommendationsTest, AuditRecordsArriveOneOrSeveralAtATime) {
  const std::string path = "/v1/agents/" + agent_id_ + "/audit";

  const delivery::HttpResponse one = Send("POST", path, R"({"seq":1,"step":"baseline"})");
  const delivery::HttpResponse batch = Send("POST", path, R"({"records":[{"seq":2},{"seq":3}]})");
  const delivery::HttpResponse bad = Send("POST", path, R"({"records":[{"seq":4},5]})");

  EXPECT_EQ(one.status, 202) << one.body;
  EXPECT_EQ(one.body, R"({"protocol":"1","stored":1})");
  EXPECT_EQ(batch.status, 202) << batch.body;
  EXPECT_EQ(batch.body, R"({"protocol":"1","stored":2})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ErrorOf(bad), "records[1]: expected an object");
  const nlohmann::json listed = server_.ListAudit({"--agent", agent_id_});
  ASSERT_EQ(listed.size(), 3U) << listed.dump();
  EXPECT_EQ(listed[0]["record"], nlohmann::json::parse(R"({"seq":1,"step":"baseline"})"));
  EXPECT_EQ(listed[2]["record"]["seq"], 3);
  EXPECT_EQ(listed[2]["agent_id"], agent_id_);
}

}  // namespace
}  // namespace optischema::protocol
