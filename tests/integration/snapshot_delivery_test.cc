// Spool → sender → libcurl → a real HTTPS server: nothing is lost while the server is down.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>

#include "delivery/snapshot_sender.h"
#include "tests/support/tls_test_server.h"

namespace optischema::agent {
namespace {

using optischema::testing::RecordedRequest;
using optischema::testing::TestResponse;
using optischema::testing::TlsTestServer;

TEST(SnapshotDelivery, SnapshotsSurviveAnOutageAndArriveInOrderOnce) {
  std::string dir = ::testing::TempDir() + "/delivery-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  auto server = TlsTestServer::Start();
  std::atomic<int> calls{0};
  server->SetHandler([&calls](const RecordedRequest&) {
    // Down for the first three attempts.
    return TestResponse{++calls <= 3 ? 503 : 202, "{}", {}};
  });
  delivery::HttpClientOptions options;
  options.base_url = server->base_url();
  options.ca_file = server->ca_file();
  options.api_key = "test-key";
  auto http = delivery::MakeCurlHttpClient(options);
  {
    delivery::Spool spool(dir + "/spool");
    ASSERT_TRUE(spool.Open().ok());
    for (const char* id : {"s1", "s2", "s3"}) {
      ASSERT_TRUE(spool.Append(id, std::string(R"({"snapshot_id":")") + id + "\"}").ok());
    }
  }
  // A restart: a new Spool over the same directory resumes where the old one stopped.
  delivery::Spool spool(dir + "/spool");
  ASSERT_TRUE(spool.Open().ok());
  ASSERT_EQ(spool.Depth(), 3u);
  delivery::SnapshotSender sender(spool, *http, "agent-1", delivery::Backoff());
  int attempts = 0;
  while (spool.Depth() > 0 && attempts < 20) {
    sender.DeliverOne();  // the wait it suggests is the scheduler's business, not this test's
    ++attempts;
  }
  EXPECT_EQ(spool.Depth(), 0u);
  EXPECT_EQ(sender.delivered(), 3u);
  const auto requests = server->Requests();
  ASSERT_EQ(requests.size(), 6u);  // 3 refused + 3 accepted
  std::vector<std::string> accepted;
  for (std::size_t i = 3; i < requests.size(); ++i) {
    accepted.push_back(requests[i].headers.at("idempotency-key"));
    EXPECT_EQ(requests[i].headers.at("authorization"), "Bearer test-key");
    EXPECT_EQ(requests[i].body,
              R"({"snapshot_id":")" + requests[i].headers.at("idempotency-key") + "\"}");
  }
  EXPECT_EQ(accepted, (std::vector<std::string>{"s1", "s2", "s3"}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace optischema::agent
