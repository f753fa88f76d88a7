// ControlPlaneLink against a scripted HTTP client: what it sends, in which order, and how it
// reacts to the control plane's answers. The link runs on a ManualClock: heartbeat intervals and
// backoff pass when a test advances it, never in real time.

#include "delivery/control_plane_link.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/fake_http_client.h"
#include "tests/support/manual_clock.h"
#include "tests/support/wait_for.h"

namespace optischema::agent {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpClient;

constexpr char kAgentId[] = "0b5d7c1e-9a7f-4c1e-8a55-2f0d9e3c4b6a";

bool WaitFor(const std::function<bool()>& condition) {
  return testing::WaitFor(condition, 10s, 10ms);
}

delivery::HttpResponse Reply(int status, std::string body = R"({"protocol":"1"})") {
  delivery::HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

class ControlPlaneLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "link-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    spool_ = std::make_unique<delivery::Spool>(dir_ + "/spool", max_bytes_);
    ASSERT_TRUE(spool_->Open().ok());
    http_ = std::make_shared<FakeHttpClient>();
    http_->SetResponder([](const delivery::HttpRequest& request) -> Result<delivery::HttpResponse> {
      if (request.path.find("/recommendations") != std::string::npos) {
        return Reply(200, R"({"protocol":"1","recommendations":[]})");
      }
      return Reply(request.path.ends_with("/snapshots") ? 202 : 200);
    });
  }
  void TearDown() override {
    link_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Advances the link's clock by `step` at a time until `condition` holds (false after `limit`
  // steps), polling the condition after each step while the link's thread catches up.
  bool AdvanceUntil(const std::function<bool()>& condition, std::chrono::milliseconds step,
                    int limit = 1000) {
    for (int i = 0; i < limit; ++i) {
      if (testing::WaitFor(condition, 20ms, 1ms)) return true;
      clock_.Advance(step);
    }
    return condition();
  }

  void StartLink(std::chrono::milliseconds send_backoff_base = 1s) {
    delivery::LinkSettings settings;
    settings.send_backoff_base = send_backoff_base;
    settings.http.base_url = "https://control.example";
    settings.heartbeat_interval = kHeartbeat;
    settings.recommendations_interval = 1h;
    auto http = http_;
    link_ = std::make_unique<delivery::ControlPlaneLink>(
        settings, kAgentId, "host", *spool_, status_,
        [http](const delivery::HttpClientOptions&) -> std::unique_ptr<delivery::HttpClient> {
          // The link owns its client; this one forwards to the shared fake.
          struct Forward final : delivery::HttpClient {
            std::shared_ptr<FakeHttpClient> fake;
            Result<delivery::HttpResponse> Send(const delivery::HttpRequest& r) override {
              return fake->Send(r);
            }
          };
          auto forward = std::make_unique<Forward>();
          forward->fake = http;
          return forward;
        },
        nullptr, nullptr, clock_);
  }

  std::vector<std::string> Paths() const {
    std::vector<std::string> paths;
    for (const auto& request : http_->Requests()) paths.push_back(request.path);
    return paths;
  }
  std::size_t Count(const std::string& suffix) const {
    std::size_t n = 0;
    for (const auto& path : Paths()) n += path.ends_with(suffix) ? 1 : 0;
    return n;
  }

  static constexpr std::chrono::milliseconds kHeartbeat = 60s;

  testing::ManualClock clock_;
  std::string dir_;
  std::uint64_t max_bytes_ = delivery::Spool::kDefaultMaxBytes;
  std::unique_ptr<delivery::Spool> spool_;
  delivery::AgentStatus status_;
  std::shared_ptr<FakeHttpClient> http_;
  std::unique_ptr<delivery::ControlPlaneLink> link_;
};

TEST_F(ControlPlaneLinkTest, RegistersBeforeDeliveringTheSpoolInOrder) {
  ASSERT_TRUE(spool_->Append("s1", R"({"n":1})").ok());
  ASSERT_TRUE(spool_->Append("s2", R"({"n":2})").ok());
  StartLink();
  ASSERT_TRUE(WaitFor([&] { return spool_->Depth() == 0; }));
  const auto requests = http_->Requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.front().path, "/v1/agents/register");
  std::vector<std::string> delivered;
  for (const auto& r : requests) {
    if (r.path.ends_with("/snapshots")) delivered.push_back(r.idempotency_key);
  }
  EXPECT_EQ(delivered, (std::vector<std::string>{"s1", "s2"}));
}

TEST_F(ControlPlaneLinkTest, BacklogGoesAsSoonAsAHeartbeatPassesAfterAnOutage) {
  std::atomic<bool> down{false};
  http_->SetResponder([&](const delivery::HttpRequest& request) -> Result<delivery::HttpResponse> {
    if (down) return MakeError(ErrorCode::kConnectionFailed, "connection refused");
    if (request.path.find("/recommendations") != std::string::npos) {
      return Reply(200, R"({"protocol":"1","recommendations":[]})");
    }
    return Reply(request.path.ends_with("/snapshots") ? 202 : 200);
  });
  // A long backoff step: after one failed delivery the sender waits up to two minutes.
  StartLink(1min);
  ASSERT_TRUE(WaitFor([&] { return Count("/register") >= 1; }));
  down = true;
  ASSERT_TRUE(spool_->Append("s1", "{}").ok());
  link_->Wake();
  ASSERT_TRUE(WaitFor([&] { return Count("/snapshots") >= 1; }));
  down = false;
  // The first heartbeat that passes ends the wait: within one heartbeat interval, not the
  // sender's backoff.
  const auto outage_over = clock_.Monotonic();
  ASSERT_TRUE(AdvanceUntil([&] { return spool_->Depth() == 0; }, 5s));
  EXPECT_LE(clock_.Monotonic() - outage_over, kHeartbeat + 5s);
}

TEST_F(ControlPlaneLinkTest, SpoolDropsAreReportedInTheNextHeartbeat) {
  // A tiny bound: every append beyond the first drops the oldest entry.
  spool_ = std::make_unique<delivery::Spool>(dir_ + "/small", 1);
  ASSERT_TRUE(spool_->Open().ok());
  for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(spool_->Append(id, "{}").ok());
  http_->Then(Reply(200));  // register
  StartLink();
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& request : http_->Requests()) {
      if (request.path.ends_with("/heartbeat") &&
          nlohmann::json::parse(request.body).value("spool_dropped", 0) == 2) {
        return true;
      }
    }
    return false;
  }));
}

TEST_F(ControlPlaneLinkTest, SnapshotsLostToAFullSpoolAreReportedInTheNextHeartbeat) {
  status_.AddDatabase("orders");
  status_.RecordSnapshotLost("orders", "spool: No space left on device");
  status_.RecordSnapshotLost("orders", "spool: No space left on device");
  StartLink();
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& request : http_->Requests()) {
      if (request.path.ends_with("/heartbeat") &&
          nlohmann::json::parse(request.body).value("snapshots_lost", 0) == 2) {
        return true;
      }
    }
    return false;
  }));
}

TEST_F(ControlPlaneLinkTest, DropsStayUnreportedWhileHeartbeatsGetNoAcknowledgement) {
  spool_ = std::make_unique<delivery::Spool>(dir_ + "/small", 1);
  ASSERT_TRUE(spool_->Open().ok());
  for (const char* id : {"a", "b"}) ASSERT_TRUE(spool_->Append(id, "{}").ok());
  std::atomic<bool> garbled{true};
  http_->SetResponder([&](const delivery::HttpRequest& request) -> Result<delivery::HttpResponse> {
    if (request.path.find("/recommendations") != std::string::npos) {
      return Reply(200, R"({"protocol":"1","recommendations":[]})");
    }
    if (request.path.ends_with("/heartbeat") && garbled) return Reply(200, "<html>hi</html>");
    return Reply(request.path.ends_with("/snapshots") ? 202 : 200);
  });
  StartLink();
  ASSERT_TRUE(AdvanceUntil([&] { return Count("/heartbeat") >= 3; }, kHeartbeat));
  garbled = false;
  // The first acknowledged heartbeat still carries the drop: it was never taken as reported.
  ASSERT_TRUE(AdvanceUntil([&] { return Count("/heartbeat") >= 5; }, kHeartbeat));
  std::vector<int> dropped;
  for (const auto& request : http_->Requests()) {
    if (request.path.ends_with("/heartbeat")) {
      dropped.push_back(nlohmann::json::parse(request.body).value("spool_dropped", -1));
    }
  }
  int acknowledged_with_drop = 0;
  for (std::size_t i = 3; i < dropped.size(); ++i) acknowledged_with_drop += dropped[i] == 1;
  EXPECT_GE(acknowledged_with_drop, 1);
}

TEST_F(ControlPlaneLinkTest, UnknownAgentRegistersAgainAndKeepsTheSnapshot) {
  ASSERT_TRUE(spool_->Append("s1", "{}").ok());
  http_->Then(Reply(200));  // register
  http_->Then(Reply(200));  // heartbeat
  http_->Then(Reply(200, R"({"protocol":"1","recommendations":[]})"));
  http_->Then(Reply(404, R"({"protocol":"1","error":"unknown agent; register first"})"));
  StartLink();
  // Registering again waits out a backoff of about a second on the link's clock.
  ASSERT_TRUE(AdvanceUntil([&] { return spool_->Depth() == 0; }, 500ms));
  EXPECT_GE(Count("/register"), 2u);
  EXPECT_EQ(Count("/snapshots"), 2u);  // refused once, then delivered: never set aside
}

TEST_F(ControlPlaneLinkTest, StopDeliversWhatIsLeftBeforeTheDeadline) {
  StartLink();
  ASSERT_TRUE(WaitFor([&] { return Count("/register") >= 1 && Count("/heartbeat") >= 1; }));
  // Spooled without a wake-up, as by a worker finishing its last reading at stop.
  ASSERT_TRUE(spool_->Append("last", "{}").ok());
  link_->RequestStop(clock_.Monotonic() + 5s);
  ASSERT_TRUE(link_->JoinUntil(clock_.Monotonic() + 10s));
  EXPECT_EQ(spool_->Depth(), 0u);
}

}  // namespace
}  // namespace optischema::agent
