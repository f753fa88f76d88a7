// The recommendation commands (recommendation_commands.h) on a temporary data directory with a
// manual clock: which transitions they allow, their exit statuses and what they print.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>

#include "controlplane/agent_proposals.h"
#include "controlplane/recommendation_commands.h"
#include "controlplane/store.h"
#include "core/time_format.h"
#include "protocol/recommendation.h"
#include "tests/support/manual_clock.h"

namespace optischema::controlplane {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

constexpr char kAgent[] = "0b8a3c1e-1111-4222-8333-444455556666";

class ControlPlaneRecommendationCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "optischema-cmd-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    data_ = dir_ + "/data";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Runs `recommend` on a drop_index proposal expiring at `expires_at`; returns the id.
  std::string Recommend(const std::string& expires_at) {
    const nlohmann::json proposal = {
        {"agent_id", kAgent},
        {"database", "orders"},
        {"kind", "drop_index"},
        {"spec", {{"schema", "public"}, {"index", "orders_unused_idx"}}},
        {"affected_queryids", nlohmann::json::array()},
        {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 0}, {"auto_rollback", true}}},
        {"expires_at", expires_at}};
    const std::string file = dir_ + "/proposal.json";
    std::ofstream(file) << proposal.dump();
    std::ostringstream out;
    if (RunRecommend(data_, file, clock_, out, err_) != 0) {
      throw std::runtime_error("recommend failed: " + err_.str());
    }
    return out.str().substr(0, out.str().size() - 1);
  }

  int Approve(const std::string& id) { return RunApprove(data_, id, "dba", clock_, err_); }

  int KeysInit() {
    std::ostringstream out;
    return RunKeysInit(data_, /*force=*/false, out, err_);
  }

  std::string Status(const std::string& id) {
    const SystemClock clock;
    auto store = Store::Open(data_, Store::OpenMode::kExisting, clock);
    if (!store.ok()) throw std::runtime_error(store.error().message);
    return (*store)->GetRecommendation(id).value().value().record.status;
  }

  // Stores an agent's event for `id` as the API would.
  void Report(const std::string& id, const std::string& event) {
    auto store = Store::Open(data_, Store::OpenMode::kExisting, clock_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
    const std::string body = protocol::RecommendationEventToJson(
        {id, event, FormatRfc3339(clock_.Now()), "by the test"});
    ASSERT_EQ((*store)->AddRecommendationEvent(kAgent, id, event, body).value(),
              StoreOutcome::kStored);
  }

  std::string dir_;
  std::string data_;
  testing::ManualClock clock_;
  std::ostringstream err_;
};

TEST_F(ControlPlaneRecommendationCommandsTest, ApprovalIsRefusedOnceTheRecommendationExpired) {
  ASSERT_EQ(KeysInit(), 0);
  const std::string id = Recommend(FormatRfc3339(clock_.Now() + hours(1)));
  clock_.Advance(hours(1));

  const int status = Approve(id);

  EXPECT_EQ(status, 2);
  EXPECT_NE(err_.str().find("expired"), std::string::npos) << err_.str();
  EXPECT_EQ(Status(id), kStatusProposed);
}

TEST_F(ControlPlaneRecommendationCommandsTest, RecommendationIsApprovedOnlyOnce) {
  ASSERT_EQ(KeysInit(), 0);
  const std::string id = Recommend(FormatRfc3339(clock_.Now() + hours(1)));

  const int first = Approve(id);
  const int second = Approve(id);
  const int unknown = Approve("no-such-id");

  EXPECT_EQ(first, 0) << err_.str();
  EXPECT_EQ(second, 2);
  EXPECT_NE(err_.str().find("is approved"), std::string::npos) << err_.str();
  EXPECT_EQ(unknown, 2);
  EXPECT_NE(err_.str().find("no recommendation with id no-such-id"), std::string::npos);
}

TEST_F(ControlPlaneRecommendationCommandsTest, RollbackIsRequestedOnlyForAChangeInPlace) {
  ASSERT_EQ(KeysInit(), 0);
  const std::string id = Recommend(FormatRfc3339(clock_.Now() + hours(1)));
  ASSERT_EQ(Approve(id), 0);
  const int before_applied = RunRollback(data_, id, clock_, err_);
  Report(id, "verified");

  const int requested = RunRollback(data_, id, clock_, err_);
  const int again = RunRollback(data_, id, clock_, err_);

  EXPECT_EQ(before_applied, 2);
  EXPECT_EQ(requested, 0) << err_.str();
  EXPECT_EQ(again, 0);
  EXPECT_NE(err_.str().find("requested already"), std::string::npos) << err_.str();
  EXPECT_EQ(Status(id), kStatusRollbackRequested);
}

TEST_F(ControlPlaneRecommendationCommandsTest, JsonListingCarriesStatusApproverAndLastEvent) {
  ASSERT_EQ(KeysInit(), 0);
  const std::string expires_at = FormatRfc3339(clock_.Now() + hours(1));
  const std::string id = Recommend(expires_at);
  ASSERT_EQ(Approve(id), 0);
  Report(id, "failed");
  std::ostringstream out;

  const int status = RunRecommendationsList({data_, /*json=*/true, std::nullopt}, out, err_);

  ASSERT_EQ(status, 0) << err_.str();
  const nlohmann::json listed = nlohmann::json::parse(out.str());
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(listed[0]["kind"], "drop_index");
  EXPECT_EQ(listed[0]["status"], "failed");
  EXPECT_EQ(listed[0]["agent_id"], kAgent);
  EXPECT_EQ(listed[0]["database"], "orders");
  EXPECT_EQ(listed[0]["approved_by"], "dba");
  EXPECT_EQ(listed[0]["expires_at"], expires_at);
  EXPECT_EQ(listed[0]["last_event"], (nlohmann::json{{"event", "failed"},
                                                     {"detail", "by the test"},
                                                     {"at", FormatRfc3339(clock_.Now())}}));
  EXPECT_EQ(listed[0]["source"], "operator");
  EXPECT_TRUE(listed[0]["reason"].is_null());
}

TEST_F(ControlPlaneRecommendationCommandsTest, AgentProposalIsListedWithSourceAgentAndItsReason) {
  const std::string reason =
      "index orders_status_idx\nwas not scanned in 30 days (" + std::string(40, 'x') + ")";
  const nlohmann::json proposals = {
      {{"kind", "drop_index"},
       {"spec", {{"schema", "public"}, {"index", "orders_status_idx"}}},
       {"affected_queryids", nlohmann::json::array()},
       {"reason", reason}}};
  {
    auto store = Store::Open(data_, Store::OpenMode::kCreate, clock_);
    ASSERT_TRUE(store.ok());
    const SnapshotRecord snapshot{kAgent, "s-1", "orders", FormatRfc3339(clock_.Now()), 0, ""};
    ASSERT_EQ(StoreAgentProposals(**store, snapshot, proposals, clock_.Now()).stored, 1);
  }
  std::ostringstream json_out;
  std::ostringstream text_out;

  const int json_status =
      RunRecommendationsList({data_, /*json=*/true, std::nullopt}, json_out, err_);
  const int text_status =
      RunRecommendationsList({data_, /*json=*/false, std::nullopt}, text_out, err_);

  ASSERT_EQ(json_status, 0) << err_.str();
  ASSERT_EQ(text_status, 0) << err_.str();
  const nlohmann::json listed = nlohmann::json::parse(json_out.str());
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0]["id"].get<std::string>().rfind("adv-", 0), 0U);
  EXPECT_EQ(listed[0]["kind"], "drop_index");
  EXPECT_EQ(listed[0]["status"], kStatusProposed);
  EXPECT_EQ(listed[0]["source"], "agent");
  EXPECT_EQ(listed[0]["reason"], reason);
  std::istringstream lines(text_out.str());
  std::string header;
  std::string row;
  std::string extra;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_FALSE(std::getline(lines, extra)) << "the reason's line break stays in its row";
  EXPECT_NE(header.find("  REASON"), std::string::npos) << header;
  const std::string shown = row.substr(row.find("index orders_status_idx"));
  EXPECT_EQ(shown, "index orders_status_idx was not scanned in 30 days (xxxxxxx\u2026");
}

TEST_F(ControlPlaneRecommendationCommandsTest, TextListingIsATableWithOneRowEach) {
  const std::string id = Recommend(FormatRfc3339(clock_.Now() + hours(1)));
  std::ostringstream out;

  const int status = RunRecommendationsList({data_, /*json=*/false, std::nullopt}, out, err_);

  ASSERT_EQ(status, 0) << err_.str();
  std::istringstream lines(out.str());
  std::string header;
  std::string row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(header.rfind("ID ", 0), 0U) << header;
  EXPECT_NE(header.find("STATUS"), std::string::npos);
  EXPECT_EQ(row.rfind(id + " ", 0), 0U) << row;
  EXPECT_NE(row.find("proposed"), std::string::npos) << row;
}

}  // namespace
}  // namespace optischema::controlplane
