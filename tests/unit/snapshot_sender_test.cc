#include "delivery/snapshot_sender.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "tests/support/fake_http_client.h"

namespace optischema::agent {
namespace {

using optischema::testing::FakeHttpClient;
using Kind = delivery::SendOutcome::Kind;

class SnapshotSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/sender-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    spool_ = std::make_unique<delivery::Spool>(dir_ + "/spool");
    ASSERT_TRUE(spool_->Open().ok());
    sender_ = std::make_unique<delivery::SnapshotSender>(
        *spool_, http_, "agent-1",
        delivery::Backoff(std::chrono::seconds(1), std::chrono::minutes(5), 7));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Add(const std::string& id) {
    ASSERT_TRUE(spool_->Append(id, R"({"snapshot_id":")" + id + R"("})").ok());
  }
  std::size_t BadFiles() const {
    const auto bad = std::filesystem::path(dir_) / "spool" / "bad";
    if (!std::filesystem::exists(bad)) return 0;
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(bad),
                                                  std::filesystem::directory_iterator()));
  }

  std::string dir_;
  FakeHttpClient http_;
  std::unique_ptr<delivery::Spool> spool_;
  std::unique_ptr<delivery::SnapshotSender> sender_;
};

TEST_F(SnapshotSenderTest, DeliversOldestFirstAndRemovesOnlyAfterAcceptance) {
  Add("a");
  Add("b");
  EXPECT_EQ(sender_->DeliverOne().kind, Kind::kDelivered);
  EXPECT_EQ(sender_->DeliverOne().kind, Kind::kDelivered);
  EXPECT_EQ(sender_->DeliverOne().kind, Kind::kIdle);
  ASSERT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(http_.requests[0].idempotency_key, "a");
  EXPECT_EQ(http_.requests[1].idempotency_key, "b");
  EXPECT_EQ(http_.requests[0].method, "POST");
  EXPECT_EQ(http_.requests[0].path, "/v1/agents/agent-1/snapshots");
  EXPECT_TRUE(http_.requests[0].body_is_gzip);
  EXPECT_EQ(spool_->Depth(), 0u);
}

TEST_F(SnapshotSenderTest, ServerErrorsAndNetworkFailuresKeepTheSnapshotAndBackOff) {
  Add("a");
  http_.ThenStatus(500);
  http_.Then(MakeError(ErrorCode::kConnectionFailed, "connection refused"));
  http_.Then(MakeError(ErrorCode::kTimeout, "timed out"));
  // The server asking for a pause, then no answer at all.
  const Kind expected[] = {Kind::kRetryLater, Kind::kUnreachable, Kind::kUnreachable};
  for (int i = 0; i < 3; ++i) {
    delivery::SendOutcome out = sender_->DeliverOne();
    EXPECT_EQ(out.kind, expected[i]);
    EXPECT_EQ(out.WaitsOutOutage(), i > 0);
    // Full jitter under a ceiling that doubles from 1 s.
    EXPECT_LE(out.wait, std::chrono::seconds(1 << i));
    EXPECT_EQ(spool_->Depth(), 1u);
  }
  EXPECT_EQ(sender_->DeliverOne().kind, Kind::kDelivered);
  EXPECT_EQ(http_.requests.back().idempotency_key, "a");  // the same snapshot, same key
  EXPECT_EQ(spool_->Depth(), 0u);
}

TEST_F(SnapshotSenderTest, ThrottlingHonoursRetryAfter) {
  Add("a");
  http_.ThenStatus(429, {{"retry-after", "120"}});
  delivery::SendOutcome out = sender_->DeliverOne();
  EXPECT_EQ(out.kind, Kind::kRetryLater);
  EXPECT_GE(out.wait, std::chrono::seconds(120));
  EXPECT_EQ(spool_->Depth(), 1u);
}

TEST_F(SnapshotSenderTest, RejectedKeyIsAConfigurationProblemAndKeepsEverything) {
  Add("a");
  http_.ThenStatus(401);
  delivery::SendOutcome out = sender_->DeliverOne();
  EXPECT_EQ(out.kind, Kind::kConfigurationProblem);
  EXPECT_GE(out.wait, delivery::SnapshotSender::kConfigProblemWait);
  EXPECT_NE(out.detail.find("API key"), std::string::npos);
  EXPECT_EQ(spool_->Depth(), 1u);
}

TEST_F(SnapshotSenderTest, SnapshotRefusedForGoodIsSetAsideSoTheQueueMovesOn) {
  Add("bad");
  Add("good");
  http_.ThenStatus(400);
  delivery::SendOutcome out = sender_->DeliverOne();
  EXPECT_EQ(out.kind, Kind::kQuarantined);
  EXPECT_EQ(BadFiles(), 1u);  // kept for inspection, not lost
  EXPECT_EQ(sender_->DeliverOne().kind, Kind::kDelivered);
  EXPECT_EQ(http_.requests.back().idempotency_key, "good");
  EXPECT_EQ(sender_->quarantined(), 1u);
  EXPECT_EQ(sender_->delivered(), 1u);
}

TEST_F(SnapshotSenderTest, UnknownAgentKeepsTheSnapshotAndAsksForRegistration) {
  Add("a");
  http_.ThenStatus(404);
  delivery::SendOutcome out = sender_->DeliverOne();
  EXPECT_EQ(out.kind, Kind::kAgentUnknown);
  EXPECT_EQ(out.wait, std::chrono::milliseconds(0));
  EXPECT_EQ(BadFiles(), 0u);
  EXPECT_EQ(sender_->DeliverOne().kind, Kind::kDelivered);
}

TEST_F(SnapshotSenderTest, ReplayAnsweredWith200CountsAsDelivered) {
  Add("a");
  http_.ThenStatus(200);
  EXPECT_EQ(sender_->DeliverOne().kind, Kind::kDelivered);
  EXPECT_EQ(spool_->Depth(), 0u);
}

TEST_F(SnapshotSenderTest, TwoHundredWithoutAJsonAcknowledgementKeepsTheSnapshot) {
  Add("a");
  for (const char* body : {"<html><body>Welcome to the proxy</body></html>", "", "\x1f\x8b\xff",
                           "[1,2]", "{\"protocol\":\"1\""}) {
    delivery::HttpResponse reply;
    reply.status = 200;
    reply.body = body;
    http_.Then(reply);
    const delivery::SendOutcome out = sender_->DeliverOne();
    EXPECT_EQ(out.kind, Kind::kBadReply) << body;
    EXPECT_TRUE(out.WaitsOutOutage()) << body;
    EXPECT_NE(out.detail.find("acknowledgement"), std::string::npos) << out.detail;
    EXPECT_EQ(spool_->Depth(), 1u) << body;
  }
  EXPECT_EQ(BadFiles(), 0u);
  // The real acknowledgement then removes it.
  EXPECT_EQ(sender_->DeliverOne().kind, Kind::kDelivered);
  EXPECT_EQ(spool_->Depth(), 0u);
}

TEST(AcknowledgementTest, OnlyAJsonObjectIsAnAcknowledgement) {
  EXPECT_TRUE(delivery::IsAcknowledgement(R"({"protocol":"1","stored":true})"));
  EXPECT_TRUE(delivery::IsAcknowledgement(" {} \n"));
  EXPECT_FALSE(delivery::IsAcknowledgement(""));
  EXPECT_FALSE(delivery::IsAcknowledgement("null"));
  EXPECT_FALSE(delivery::IsAcknowledgement("\"ok\""));
  EXPECT_FALSE(delivery::IsAcknowledgement("<html></html>"));
  EXPECT_FALSE(delivery::IsAcknowledgement(R"({"protocol":"1")"));
}

TEST_F(SnapshotSenderTest, UnreadableSpoolFileIsSetAside) {
  Add("a");
  const auto entry = spool_->Oldest();
  ASSERT_TRUE(entry.has_value());
  std::filesystem::remove(entry->path);
  std::filesystem::create_directory(entry->path);  // exists but cannot be read as a file
  delivery::SendOutcome out = sender_->DeliverOne();
  EXPECT_EQ(out.kind, Kind::kQuarantined);
  EXPECT_TRUE(http_.requests.empty());
}

}  // namespace
}  // namespace optischema::agent
