// The libcurl HttpClient against a real HTTPS server on 127.0.0.1 with certificates made for the
// test: what reaches the server, how TLS failures, refusals and timeouts are reported, the
// response size cap, and that the API key never leaks into an error message.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/version.h"
#include "delivery/http_client.h"
#include "tests/support/connect_proxy.h"
#include "tests/support/tls_test_server.h"

namespace optischema::protocol {
namespace {

using optischema::testing::GzipForTest;
using optischema::testing::RecordedRequest;
using optischema::testing::TestResponse;
using optischema::testing::TlsTestServer;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kApiKey[] = "osk_test_5f1c0e9a7b3d4c2e8f6a";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

delivery::HttpClientOptions OptionsFor(const TlsTestServer& server) {
  delivery::HttpClientOptions options;
  options.base_url = server.base_url();
  options.api_key = kApiKey;
  options.ca_file = server.ca_file();
  options.connect_timeout = seconds(5);
  options.total_timeout = seconds(20);
  return options;
}

delivery::HttpRequest Post(std::string path, std::string body) {
  delivery::HttpRequest request;
  request.method = "POST";
  request.path = std::move(path);
  request.body = std::move(body);
  return request;
}

delivery::HttpRequest Get(std::string path) {
  delivery::HttpRequest request;
  request.path = std::move(path);
  return request;
}

// Checks that `result` failed with `code` and that its message does not contain the API key.
void ExpectError(const Result<delivery::HttpResponse>& result, ErrorCode code) {
  ASSERT_FALSE(result.ok()) << "status " << result->status;
  EXPECT_EQ(result.error().code, code) << result.error().message;
  EXPECT_FALSE(Contains(result.error().message, kApiKey)) << result.error().message;
}

// A port on 127.0.0.1 that refuses connections: bound, so nobody else takes it, but not listening.
class RefusingPort {
 public:
  RefusingPort() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    socklen_t length = sizeof address;
    if (fd_ < 0 || inet_pton(AF_INET, "127.0.0.1", &address.sin_addr) != 1 ||
        bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      if (fd_ >= 0) close(fd_);
      throw std::runtime_error("cannot reserve a port on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
  }
  ~RefusingPort() { close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

TEST(HttpsClient, PostCarriesCredentialsIdentityIdempotencyKeyAndGzipBody) {
  const auto server = TlsTestServer::Start();
  server->SetHandler([](const RecordedRequest&) {
    return TestResponse{202, R"({"ok":true})", {}};
  });
  const auto client = delivery::MakeCurlHttpClient(OptionsFor(*server));
  const std::string json = R"({"protocol":1,"snapshot_id":"s-1","statements":[]})";
  delivery::HttpRequest request = Post("/v1/agents/a-1/snapshots", GzipForTest(json));
  request.body_is_gzip = true;
  request.idempotency_key = "s-1";

  const Result<delivery::HttpResponse> response = client->Send(request);

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(response->body, R"({"ok":true})");
  const std::vector<RecordedRequest> requests = server->Requests();
  ASSERT_EQ(requests.size(), 1U);
  const RecordedRequest& got = requests[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.path, "/v1/agents/a-1/snapshots");
  EXPECT_EQ(got.headers.at("authorization"), std::string("Bearer ") + kApiKey);
  EXPECT_EQ(got.headers.at("user-agent"), std::string("optischema-agent/") + kAgentVersion);
  EXPECT_EQ(got.headers.at("idempotency-key"), "s-1");
  EXPECT_EQ(got.headers.at("content-type"), "application/json");
  EXPECT_EQ(got.headers.at("content-encoding"), "gzip");
  EXPECT_EQ(got.body, json);
}

TEST(HttpsClient, NextRequestOnTheSameClientCarriesNothingFromThePreviousOne) {
  const auto server = TlsTestServer::Start();
  const auto client = delivery::MakeCurlHttpClient(OptionsFor(*server));
  delivery::HttpRequest post = Post("/v1/agents/a-1/heartbeat", R"({"status":"ok"})");
  post.idempotency_key = "h-1";
  ASSERT_TRUE(client->Send(post).ok());

  const Result<delivery::HttpResponse> response =
      client->Send(Get("/v1/agents/a-1/recommendations?status=approved"));

  ASSERT_TRUE(response.ok()) << response.error().message;
  const std::vector<RecordedRequest> requests = server->Requests();
  ASSERT_EQ(requests.size(), 2U);
  const RecordedRequest& got = requests[1];
  EXPECT_EQ(got.method, "GET");
  EXPECT_EQ(got.path, "/v1/agents/a-1/recommendations?status=approved");
  EXPECT_TRUE(got.body.empty());
  EXPECT_FALSE(got.headers.contains("idempotency-key"));
  EXPECT_FALSE(got.headers.contains("content-type"));
  EXPECT_EQ(got.headers.at("authorization"), std::string("Bearer ") + kApiKey);
}

TEST(HttpsClient, CompressedResponseArrivesDecompressed) {
  const auto server = TlsTestServer::Start();
  std::string json = "[";
  for (int i = 0; i < 2000; ++i) json += R"({"id":"r-)" + std::to_string(i) + R"("},)";
  json.back() = ']';
  server->SetHandler([&json](const RecordedRequest&) { return TestResponse{200, json, {}}; });
  const auto client = delivery::MakeCurlHttpClient(OptionsFor(*server));

  const Result<delivery::HttpResponse> response =
      client->Send(Get("/v1/agents/a-1/recommendations"));

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_TRUE(Contains(server->Requests().at(0).headers.at("accept-encoding"), "gzip"));
  EXPECT_TRUE(response->headers.contains("content-encoding"));  // the server did compress
  EXPECT_EQ(response->body, json);
}

TEST(HttpsClient, ServerErrorIsAResponseNotAnError) {
  const auto server = TlsTestServer::Start();
  server->SetHandler([](const RecordedRequest&) {
    return TestResponse{500, R"({"error":"boom"})", {{"Retry-After", "7"}}};
  });
  const auto client = delivery::MakeCurlHttpClient(OptionsFor(*server));

  const Result<delivery::HttpResponse> response =
      client->Send(Post("/v1/agents/a-1/heartbeat", "{}"));

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->body, R"({"error":"boom"})");
  EXPECT_EQ(response->headers.at("retry-after"), "7");  // names in lower case
}

TEST(HttpsClient, RedirectIsReturnedNotFollowed) {
  const auto server = TlsTestServer::Start();
  server->SetHandler([](const RecordedRequest&) {
    return TestResponse{302, "{}", {{"Location", "/v1/elsewhere"}}};
  });
  const auto client = delivery::MakeCurlHttpClient(OptionsFor(*server));

  const Result<delivery::HttpResponse> response =
      client->Send(Get("/v1/agents/a-1/recommendations"));

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(server->Requests().size(), 1U);
}

TEST(HttpsClient, CertificateFromAnUnknownCaIsAConnectionFailureNamingCaFile) {
  const auto server = TlsTestServer::Start();
  delivery::HttpClientOptions options = OptionsFor(*server);
  options.ca_file = server->wrong_ca_file();
  const auto client = delivery::MakeCurlHttpClient(options);

  const Result<delivery::HttpResponse> response =
      client->Send(Post("/v1/agents/a-1/heartbeat", "{}"));

  ExpectError(response, ErrorCode::kConnectionFailed);
  EXPECT_TRUE(Contains(response.error().message, "ca_file")) << response.error().message;
  EXPECT_TRUE(server->Requests().empty());
}

TEST(HttpsClient, SystemTrustStoreDoesNotTrustAPrivateCa) {
  const auto server = TlsTestServer::Start();
  delivery::HttpClientOptions options = OptionsFor(*server);
  options.ca_file.clear();
  const auto client = delivery::MakeCurlHttpClient(options);

  const Result<delivery::HttpResponse> response =
      client->Send(Get("/v1/agents/a-1/recommendations"));

  ExpectError(response, ErrorCode::kConnectionFailed);
  EXPECT_TRUE(Contains(response.error().message, "ca_file")) << response.error().message;
  EXPECT_TRUE(server->Requests().empty());
}

TEST(HttpsClient, CertificateForAnotherHostNameIsRefused) {
  const auto server = TlsTestServer::Start(
      TlsTestServer::Options{.dns_names = {"other.example"}, .loopback_ip = false});
  const auto client =
      delivery::MakeCurlHttpClient(OptionsFor(*server));  // the right CA, the wrong name

  const Result<delivery::HttpResponse> response =
      client->Send(Post("/v1/agents/a-1/heartbeat", "{}"));

  ExpectError(response, ErrorCode::kConnectionFailed);
  EXPECT_TRUE(Contains(response.error().message, "host name")) << response.error().message;
  EXPECT_TRUE(server->Requests().empty());
}

TEST(HttpsClient, ClosedPortIsAConnectionFailure) {
  const RefusingPort port;
  delivery::HttpClientOptions options;
  options.base_url = "https://127.0.0.1:" + std::to_string(port.port());
  options.api_key = kApiKey;
  const auto client = delivery::MakeCurlHttpClient(options);

  const Result<delivery::HttpResponse> response =
      client->Send(Post("/v1/agents/a-1/heartbeat", "{}"));

  ExpectError(response, ErrorCode::kConnectionFailed);
  EXPECT_TRUE(Contains(response.error().message, "refused")) << response.error().message;
}

TEST(HttpsClient, ServerThatNeverAnswersTimesOutWithinTotalTimeout) {
  const auto server = TlsTestServer::Start();
  TlsTestServer* raw_server = server.get();
  server->SetHandler(
      [raw_server](const RecordedRequest&) { return raw_server->HoldUntilShutdown(); });
  delivery::HttpClientOptions options = OptionsFor(*server);
  options.total_timeout = seconds(1);
  const auto client = delivery::MakeCurlHttpClient(options);

  const auto start = std::chrono::steady_clock::now();
  const Result<delivery::HttpResponse> response =
      client->Send(Post("/v1/agents/a-1/heartbeat", "{}"));
  const auto elapsed = std::chrono::steady_clock::now() - start;

  ExpectError(response, ErrorCode::kTimeout);
  EXPECT_GE(elapsed, milliseconds(900));
  EXPECT_LT(elapsed, seconds(3));
  EXPECT_EQ(server->Requests().size(), 1U);  // it did arrive; the answer never came
}

TEST(HttpsClient, ResponseBodyOfExactly4MiBIsAccepted) {
  const auto server = TlsTestServer::Start();
  const std::string body(delivery::kMaxResponseBody, 'x');
  server->SetHandler([&body](const RecordedRequest&) { return TestResponse{200, body, {}}; });
  const auto client = delivery::MakeCurlHttpClient(OptionsFor(*server));

  const Result<delivery::HttpResponse> response =
      client->Send(Get("/v1/agents/a-1/recommendations"));

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->body.size(), delivery::kMaxResponseBody);
}

TEST(HttpsClient, ResponseBodyOver4MiBIsAnError) {
  const auto server = TlsTestServer::Start();
  const std::string body(delivery::kMaxResponseBody + 1, 'x');
  server->SetHandler([&body](const RecordedRequest&) { return TestResponse{200, body, {}}; });
  const auto client = delivery::MakeCurlHttpClient(OptionsFor(*server));

  const Result<delivery::HttpResponse> response =
      client->Send(Get("/v1/agents/a-1/recommendations"));

  ExpectError(response, ErrorCode::kParseFailed);
  EXPECT_TRUE(Contains(response.error().message, "larger than 4 MiB")) << response.error().message;
}

TEST(HttpsClient, PlainHttpIsAcceptedOnlyForLoopback) {
  delivery::HttpClientOptions remote;
  remote.base_url = "http://control.example.com";
  remote.api_key = kApiKey;
  const Result<delivery::HttpResponse> refused =
      delivery::MakeCurlHttpClient(remote)->Send(Get("/v1/x"));
  ExpectError(refused, ErrorCode::kConfig);
  EXPECT_TRUE(Contains(refused.error().message, "https://")) << refused.error().message;

  const RefusingPort port;  // accepted, so the failure comes from the network
  delivery::HttpClientOptions loopback = remote;
  loopback.base_url = "http://127.0.0.1:" + std::to_string(port.port());
  ExpectError(delivery::MakeCurlHttpClient(loopback)->Send(Get("/v1/x")),
              ErrorCode::kConnectionFailed);
}

TEST(HttpsClient, CredentialsInTheUrlAreRejectedWithoutEchoingThem) {
  delivery::HttpClientOptions options;
  options.base_url = std::string("https://agent:") + kApiKey + "@control.example.com";
  const Status status = delivery::ValidateHttpClientOptions(options);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kConfig);
  EXPECT_FALSE(Contains(status.error().message, kApiKey)) << status.error().message;
}

}  // namespace
}  // namespace optischema::protocol

namespace optischema::protocol {
namespace {

using optischema::testing::ConnectProxy;

TEST(HttpsClient, ConfiguredProxyCarriesTheTlsExchange) {
  auto server = TlsTestServer::Start();
  auto proxy = ConnectProxy::Start();
  delivery::HttpClientOptions options = OptionsFor(*server);
  options.proxy = proxy->url();
  auto client = delivery::MakeCurlHttpClient(options);
  const auto result = client->Send(Get("/v1/ping"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(proxy->Targets(),
            std::vector<std::string>{"127.0.0.1:" + std::to_string(server->port())});
  ASSERT_EQ(server->Requests().size(), 1u);
  // TLS ran end to end through the tunnel: the proxy saw only the CONNECT, never the key.
  EXPECT_EQ(server->Requests()[0].headers.at("authorization"), std::string("Bearer ") + kApiKey);
}

TEST(HttpsClient, HttpsProxyEnvironmentVariableIsHonouredAndNoProxyBypassesIt) {
  auto server = TlsTestServer::Start();
  auto proxy = ConnectProxy::Start();
  // ctest runs every test in its own process, so the environment change stays in this test.
  ASSERT_EQ(setenv("https_proxy", proxy->url().c_str(), 1), 0);
  {
    auto client = delivery::MakeCurlHttpClient(OptionsFor(*server));
    const auto result = client->Send(Get("/v1/ping"));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(proxy->Targets().size(), 1u);
  }
  ASSERT_EQ(setenv("no_proxy", "127.0.0.1", 1), 0);
  {
    auto client = delivery::MakeCurlHttpClient(OptionsFor(*server));
    const auto result = client->Send(Get("/v1/ping"));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(proxy->Targets().size(), 1u);  // went direct
  }
  unsetenv("https_proxy");
  unsetenv("no_proxy");
  EXPECT_EQ(server->Requests().size(), 2u);
}

}  // namespace
}  // namespace optischema::protocol
