#pragma once

// An HTTPS server on 127.0.0.1 for tests of the HTTP client, with certificates made for the test.
//
// Start() creates a private directory with mkdtemp ("$TMPDIR/optischema-tls-XXXXXX", /tmp when
// TMPDIR is unset) and writes into it, as PEM, freshly generated EC P-256 material:
//   ca.pem        a test CA (basicConstraints CA:TRUE), the one to pass as ca_file;
//   server.pem    the server's certificate, signed by that CA, for Options::dns_names and, unless
//   server.key    turned off, IP 127.0.0.1;
//   wrong-ca.pem  a second, unrelated CA, for tests expecting verification to fail.
// It then serves HTTPS on a free port of 127.0.0.1 from a thread of its own. The destructor stops
// the server, joins its threads and removes the directory, so holding the server in a
// std::unique_ptr cleans up on every path a test can leave by.
//
// Every request is recorded before the handler runs. The handler is called on the server's worker
// threads, possibly several at once. All member functions are thread-safe. Like any cpp-httplib
// server, it sets SIGPIPE to be ignored in the whole process.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace optischema::testing {

struct RecordedRequest {
  std::string method;
  std::string path;                            // the request target as sent: path and query string
  std::map<std::string, std::string> headers;  // lower-case names as the client sent them
  std::string body;                            // after gzip decompression when Content-Encoding
};

struct TestResponse {
  int status = 200;
  std::string body = "{}";  // sent as application/json
  std::vector<std::pair<std::string, std::string>> headers;
};

class TlsTestServer {
 public:
  using Handler = std::function<TestResponse(const RecordedRequest&)>;

  struct Options {
    // DNS names in the server certificate's subjectAltName.
    std::vector<std::string> dns_names = {"localhost"};
    // Whether the subjectAltName also lists IP 127.0.0.1, the address base_url() uses.
    bool loopback_ip = true;
  };

  // Generates the certificates and starts serving; until SetHandler, every request gets the
  // default TestResponse. Throws std::runtime_error naming the failed step; nothing is left
  // behind on failure.
  static std::unique_ptr<TlsTestServer> Start(const Options& options);
  static std::unique_ptr<TlsTestServer> Start() { return Start(Options{}); }

  // Releases handlers blocked in HoldUntilShutdown, stops the server, joins its threads and
  // removes the directory. Never throws.
  ~TlsTestServer();

  TlsTestServer(const TlsTestServer&) = delete;
  TlsTestServer& operator=(const TlsTestServer&) = delete;

  void SetHandler(Handler handler);

  // For handlers that must never answer while the test runs: blocks until the destructor starts,
  // then returns a 503 that nobody is waiting for any more.
  TestResponse HoldUntilShutdown();

  // Requests received so far, oldest first.
  std::vector<RecordedRequest> Requests() const;

  int port() const;
  std::string base_url() const;  // "https://127.0.0.1:<port>"
  const std::string& ca_file() const;
  const std::string& wrong_ca_file() const;

 private:
  struct State;
  explicit TlsTestServer(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

// `data` compressed in gzip format, for request bodies sent with body_is_gzip.
std::string GzipForTest(std::string_view data);

}  // namespace optischema::testing
