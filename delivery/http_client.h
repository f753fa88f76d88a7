#pragma once

// HttpClient: the seam between the agent and the control plane. The agent always initiates; every
// exchange is one request and one response over HTTPS.
//
// Error contract of Send: a response with any HTTP status, 4xx and 5xx included, is a successful
// Send; deciding what a status means is the caller's job (see delivery/retry_policy.h). Send fails
// only when no complete response arrived:
//   kConnectionFailed  DNS lookup failed, the connection was refused or broke, or the TLS handshake
//                      failed; the message says which, and names `ca_file` when the server's
//                      certificate could not be verified.
//   kTimeout           connecting took longer than connect_timeout or the whole exchange longer
//                      than total_timeout.
//   kCancelled         HttpClientOptions::cancelled returned true during the exchange.
//   kConfig            the options cannot work (base_url not https://, unreadable ca_file…);
//                      retrying will not help until the configuration changes.
//   kInvalidArgument   the request itself is malformed (unknown method, line break in a header).
//   kParseFailed       the response body, after decompression, is larger than kMaxResponseBody,
//                      or could not be decompressed.
// Error messages never contain the API key.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/version.h"

namespace optischema::delivery {

struct HttpRequest {
  std::string method = "GET";  // GET (no body), POST, PUT, PATCH or DELETE
  std::string path;            // appended to the base URL: "/v1/agents/…", query string included
  // Extra headers, sent after the ones the client sets itself (Authorization, User-Agent,
  // Content-Type, Content-Encoding, Idempotency-Key), so they must not repeat those.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;             // JSON, already gzip-compressed when body_is_gzip
  bool body_is_gzip = false;    // adds Content-Encoding: gzip
  std::string idempotency_key;  // sent as Idempotency-Key when not empty
};

struct HttpResponse {
  int status = 0;
  std::string body;  // decompressed
  // Header names in lower case; repeated headers are joined with ", ".
  std::map<std::string, std::string> headers;
};

// Largest response body Send accepts, measured after decompression.
inline constexpr std::size_t kMaxResponseBody = std::size_t{4} << 20;

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends `request` and waits for the whole response. See the error contract above.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

struct HttpClientOptions {
  // "https://host[:port][/prefix]"; "http://" only for a loopback host (localhost, 127.0.0.0/8,
  // [::1]). No user name or password in the URL.
  std::string base_url;
  std::string api_key;  // sent as "Authorization: Bearer <api_key>" when not empty; never logged
  std::string ca_file;  // PEM file of the CA(s) to trust; empty: the system trust store
  // Proxy URL; empty: libcurl's defaults, i.e. the https_proxy / no_proxy environment variables.
  std::string proxy;
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds total_timeout = std::chrono::seconds(60);
  std::string user_agent = std::string("optischema-agent/") + kAgentVersion;
  // Polled several times a second during an exchange (from the thread calling Send); returning
  // true abandons it with kCancelled. Lets a stopping daemon leave a slow exchange at once.
  std::function<bool()> cancelled;
};

// Checks what can be checked without the network: the URL's scheme and host, and that the API key
// can go into a header. kConfig with a message naming the setting otherwise. Send runs the same
// check, so calling this at start-up is only a way to fail early.
Status ValidateHttpClientOptions(const HttpClientOptions& options);

// An HttpClient over libcurl. TLS 1.2 or later, peer and host name verification always on,
// redirects never followed, gzip responses accepted. Connections are kept alive between Sends.
// Thread safety: one client per thread; Send must not be called concurrently on one client.
std::unique_ptr<HttpClient> MakeCurlHttpClient(const HttpClientOptions& options);

}  // namespace optischema::delivery
