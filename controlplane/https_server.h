#pragma once

// Carries the Api over HTTPS with cpp-httplib: TLS 1.2 or later, request bodies decompressed
// (gzip, deflate) by the library and bounded, one log line per request on the default spdlog
// logger: method, path (no query string), status, duration. Never the headers or the body.
//
// Body bounds, per route (Api::MaxBodyBytes, input_limits.h): a body whose size, declared or
// decompressed, passes the route's bound is refused (413) as soon as it does, so a zip bomb costs
// at most that bound of memory; the rest is read and dropped (no memory held) so that the client
// reads the reply, unless the whole body passes the largest bound of any route, whose declared
// length is refused before anything is read. Bodies are claimed, as they are read, on one budget
// of max_inflight_bytes shared by every request in flight (request_budget.h); a request the
// budget cannot take is answered 503 with Retry-After. A reply decided before the body was
// needed (unknown route, bad key) still reads and drops the body, within the same bounds.
// One request per connection.
//
// Paths under /v1/ go to the Api; every other path to the console (console.h) when there is one,
// its POST bodies bounded by kMaxConsoleBodyBytes; without a console they go to the Api (404).
//
// Thread safety: Serve runs the accept loop on the calling thread and requests on a pool of
// worker threads; Stop may be called from any thread, before or during Serve.

#include <cstddef>
#include <memory>
#include <string>

#include "controlplane/api.h"
#include "controlplane/console.h"
#include "controlplane/input_limits.h"
#include "core/result.h"

namespace optischema::controlplane {

struct HttpsServerOptions {
  std::string host;       // address or name to bind
  int port = 0;           // 0: a free port chosen by the system (see HttpsServer::port)
  std::string cert_file;  // PEM certificate chain, the server's certificate first
  std::string key_file;   // PEM private key
  std::size_t max_inflight_bytes = kDefaultMaxInflightBytes;  // see request_budget.h
};

class HttpsServer {
 public:
  // Loads the certificate and key and binds the address; connections queue from then on.
  // Errors (kConfig, the message names the option): an unreadable or invalid certificate or key,
  // a key that does not match the certificate, an address that cannot be bound (in use, not
  // local). `api` and `console` (may be null) must outlive the server.
  static Result<std::unique_ptr<HttpsServer>> Bind(const HttpsServerOptions& options,
                                                   const Api& api,
                                                   const Console* console = nullptr);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  int port() const;  // the bound port

  // Serves until Stop; then stops accepting, lets the requests in progress finish and returns.
  // kInternal when the accept loop failed on its own.
  Status Serve();
  void Stop();

 private:
  struct State;
  explicit HttpsServer(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

}  // namespace optischema::controlplane
