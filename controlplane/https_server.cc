#include "controlplane/https_server.h"

#include <ctime>

// The build defines CPPHTTPLIB_OPENSSL_SUPPORT and CPPHTTPLIB_ZLIB_SUPPORT to match the compiled
// libcpp-httplib (pkg-config cpp-httplib).
#include <fcntl.h>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "core/file_io.h"

namespace optischema::controlplane {
namespace {

// How long a connection may take to send its request; also the longest an idle connection delays
// stopping.
constexpr time_t kRequestWaitSeconds = 5;

// Start of the request the current worker thread is handling, for the log line; set before
// routing, cleared once the request is logged. Requests the library refuses before routing
// (malformed ones) are logged without a duration.
thread_local std::optional<std::chrono::steady_clock::time_point> request_started;

// OpenSSL's oldest queued error, and empties the queue.
std::string OpenSslReason() {
  char detail[256] = "no detail from OpenSSL";
  if (const unsigned long code = ERR_get_error(); code != 0) {
    ERR_error_string_n(code, detail, sizeof detail);
  }
  ERR_clear_error();
  return detail;
}

Status CheckReadable(const std::string& path, const char* option) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.valid()) return OkStatus();
  return MakeError(ErrorCode::kConfig,
                   std::string(option) + " " + path + ": cannot read: " +
                       std::error_code(errno, std::generic_category()).message());
}

// Sets up `ctx` for `options`; false with `error` set when it cannot.
bool SetUpTls(SSL_CTX& ctx, const HttpsServerOptions& options, std::string& error) {
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1) {
    error = "cannot require TLS 1.2: " + OpenSslReason();
  } else if (SSL_CTX_use_certificate_chain_file(&ctx, options.cert_file.c_str()) != 1) {
    error = "--tls-cert " + options.cert_file +
            ": not a usable PEM certificate chain: " + OpenSslReason();
  } else if (SSL_CTX_use_PrivateKey_file(&ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = "--tls-key " + options.key_file + ": not a usable PEM private key: " + OpenSslReason();
  } else if (SSL_CTX_check_private_key(&ctx) != 1) {
    error = "--tls-key " + options.key_file + " does not match --tls-cert " + options.cert_file;
  }
  ERR_clear_error();
  return error.empty();
}

// Only SO_REUSEADDR: a restarted server can bind again at once, but a second server cannot share
// the port (cpp-httplib's default also sets SO_REUSEPORT, which would let it).
void ReuseAddressOnly(socket_t sock) {
  const int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

bool HasBody(const httplib::Request& request) {
  return request.get_header_value<uint64_t>("Content-Length") > 0 ||
         request.has_header("Transfer-Encoding");
}

// `text` for a log line: at most 200 bytes, control characters (a decoded %0A...) as '?', so a
// request cannot forge log lines.
std::string Printable(const std::string& text) {
  constexpr std::size_t kMaxLogged = 200;
  std::string out = text.substr(0, kMaxLogged);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// The current time as an HTTP Date header value (RFC 9110 IMF-fixdate): agents compare their clock
// with it (`optischema-agent check`).
std::string HttpDateNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return text;
}

void Send(const ApiReply& reply, httplib::Response& response) {
  response.status = reply.status;
  response.set_header("Date", HttpDateNow());
  for (const auto& [name, value] : reply.headers) response.set_header(name, value);
  response.set_content(reply.body, reply.content_type);
}

}  // namespace

struct HttpsServer::State {
  // Serves one request: `reader` is null for methods whose body the library has read already.
  void Handle(const httplib::Request& request, httplib::Response& response,
              const httplib::ContentReader* reader) const {
    if (console != nullptr && request.path.rfind("/v1/", 0) != 0) {
      HandleConsole(request, response, reader);
      return;
    }
    const ApiRequest api_request{request.method, request.path, request.get_param_value("status"),
                                 request.get_header_value("Authorization"),
                                 request.get_header_value("Idempotency-Key")};
    RequestBudget::Claim memory(budget.get());
    bool body_attempted = false;
    const BodyReader read_body = [&](std::size_t max_bytes) -> std::variant<std::string, ApiReply> {
      body_attempted = true;
      if (reader == nullptr) return request.body;
      std::string body;
      switch (ReadBody(*reader, response, &body, max_bytes, &memory)) {
        case BodyOutcome::kComplete:
          return body;
        case BodyOutcome::kTooLarge:
          return TooLarge(max_bytes);
        case BodyOutcome::kOverBudget:
          spdlog::warn("request body refused: in-flight request memory budget exhausted");
          return BusyReply(budget->capacity());
        case BodyOutcome::kUnreadable:
          break;
      }
      return ErrorReply(400, "request body could not be read or decompressed");
    };
    const ApiReply reply = api->Handle(api_request, read_body, &memory);
    // A reply decided before the body was read (unknown route, bad key): read and drop the body,
    // so that closing the connection does not reset it before the client has read the reply.
    if (!body_attempted && reader != nullptr && HasBody(request)) {
      ReadBody(*reader, response, nullptr, api->MaxBodyBytes(request.path), nullptr);
    }
    Send(reply, response);
  }

  void HandleConsole(const httplib::Request& request, httplib::Response& response,
                     const httplib::ContentReader* reader) const {
    WebRequest web{request.method, request.path, {}, {}, request.get_header_value("Cookie"),
                   request.get_header_value("Origin"), request.get_header_value("Host"),
                   request.remote_addr};
    for (const auto& [name, value] : request.params) web.query.emplace(name, value);
    if (reader != nullptr) {
      RequestBudget::Claim memory(budget.get());
      std::string body;
      switch (ReadBody(*reader, response, &body, kMaxConsoleBodyBytes, &memory)) {
        case BodyOutcome::kComplete:
          break;
        case BodyOutcome::kTooLarge:
          Send(TooLarge(kMaxConsoleBodyBytes), response);
          return;
        case BodyOutcome::kOverBudget:
          Send(BusyReply(budget->capacity()), response);
          return;
        case BodyOutcome::kUnreadable:
          Send(ErrorReply(400, "request body could not be read"), response);
          return;
      }
      if (request.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded",
                                                         0) == 0) {
        web.form = ParseUrlEncoded(body);
      }
    }
    Send(console->Handle(web), response);
  }

  enum class BodyOutcome { kComplete, kTooLarge, kOverBudget, kUnreadable };

  // Reads the body through `reader` (decompressed by the library) into `body`, or drops it when
  // `body` is null, until it passes `max_bytes` or `memory` (when given) cannot claim the next
  // piece. The rest is then read and dropped, holding no memory, as long as the whole body stays
  // within the largest bound of any route, so that a client that sends its body before reading
  // the reply reads the refusal rather than a reset connection.
  BodyOutcome ReadBody(const httplib::ContentReader& reader, const httplib::Response& response,
                       std::string* body, std::size_t max_bytes,
                       RequestBudget::Claim* memory) const {
    const std::size_t drain_bytes = api->largest_body_bytes();
    std::size_t size = 0;
    bool too_large = false;
    bool over_budget = false;
    const bool complete = reader([&](const char* data, std::size_t n) {
      if (!too_large && !over_budget) {
        if (n > max_bytes - size) {
          too_large = true;
        } else if (memory != nullptr && !memory->Add(n)) {
          over_budget = true;
        } else if (body != nullptr) {
          body->append(data, n);
        }
      }
      if (too_large || over_budget) {
        // What was read is dropped at once, and so is its claim.
        if (body != nullptr) std::string().swap(*body);
        if (memory != nullptr) memory->Release();
      }
      if (n > drain_bytes - size) return false;
      size += n;
      return true;
    });
    // PreRoute refuses a declared length above the largest bound; should the library's own check
    // (set_payload_max_length) refuse one, its 413 stands.
    if (too_large || response.status == 413) return BodyOutcome::kTooLarge;
    if (over_budget) return BodyOutcome::kOverBudget;
    return complete ? BodyOutcome::kComplete : BodyOutcome::kUnreadable;
  }

  static ApiReply TooLarge(std::size_t max_bytes) {
    return ErrorReply(413, "request body larger than " + std::to_string(max_bytes) +
                               " bytes (compressed or decompressed)");
  }

  // Refuses, before anything of the body is read, requests whose body would not be read within
  // bounds: a declared length above the largest bound of any route, or a body on a method that
  // takes none. A declared length above the route's own bound is refused by ReadBody, which
  // drops the body so the client reads the reply.
  httplib::Server::HandlerResponse PreRoute(const httplib::Request& request,
                                            httplib::Response& response) const {
    request_started = std::chrono::steady_clock::now();
    const bool takes_body = request.method == "POST" || request.method == "PUT" ||
                            request.method == "PATCH" || request.method == "DELETE";
    std::optional<ApiReply> refusal;
    const std::size_t max_bytes = api->MaxBodyBytes(request.path);
    const uint64_t declared = request.get_header_value<uint64_t>("Content-Length");
    if (!takes_body && HasBody(request)) {
      refusal = ErrorReply(400, request.method + " requests take no body");
    } else if (declared > api->largest_body_bytes()) {
      refusal = TooLarge(max_bytes);
    }
    if (!refusal) return httplib::Server::HandlerResponse::Unhandled;
    Send(*refusal, response);
    return httplib::Server::HandlerResponse::Handled;
  }

  static void Log(const httplib::Request& request, const httplib::Response& response) {
    if (request_started) {
      const std::chrono::duration<double, std::milli> elapsed =
          std::chrono::steady_clock::now() - *request_started;
      spdlog::info("{} {} {} {:.1f}ms", Printable(request.method), Printable(request.path),
                   response.status, elapsed.count());
    } else {
      spdlog::info("{} {} {} -", Printable(request.method), Printable(request.path),
                   response.status);
    }
    request_started.reset();
  }

  HttpsServerOptions options;
  const Api* api = nullptr;
  const Console* console = nullptr;
  std::unique_ptr<RequestBudget> budget;
  std::unique_ptr<httplib::SSLServer> server;
  int port = 0;
  std::atomic<bool> serving{false};
  std::atomic<bool> stop_requested{false};
};

Result<std::unique_ptr<HttpsServer>> HttpsServer::Bind(const HttpsServerOptions& options,
                                                       const Api& api, const Console* console) {
  if (Status st = CheckReadable(options.cert_file, "--tls-cert"); !st.ok()) {
    return std::move(st).error();
  }
  if (Status st = CheckReadable(options.key_file, "--tls-key"); !st.ok()) {
    return std::move(st).error();
  }
  auto state = std::make_unique<State>();
  state->options = options;
  state->api = &api;
  state->console = console;
  state->budget = std::make_unique<RequestBudget>(options.max_inflight_bytes);
  std::string tls_error;
  state->server = std::make_unique<httplib::SSLServer>(
      [&](SSL_CTX& ctx) { return SetUpTls(ctx, options, tls_error); });
  if (!state->server->is_valid()) {
    return MakeError(ErrorCode::kConfig, tls_error.empty()
                                             ? "cannot create the TLS context: " + OpenSslReason()
                                             : tls_error);
  }

  httplib::SSLServer& http = *state->server;
  const State* s = state.get();
  const auto plain = [s](const httplib::Request& request, httplib::Response& response) {
    s->Handle(request, response, nullptr);
  };
  const auto with_body = [s](const httplib::Request& request, httplib::Response& response,
                             const httplib::ContentReader& reader) {
    s->Handle(request, response, &reader);
  };
  http.Get(".*", plain).Options(".*", plain);
  http.Post(".*", with_body).Put(".*", with_body).Patch(".*", with_body).Delete(".*", with_body);
  http.set_pre_routing_handler([s](const httplib::Request& request, httplib::Response& response) {
    return s->PreRoute(request, response);
  });
  http.set_logger(&State::Log);
  http.set_socket_options(&ReuseAddressOnly);
  // One request per connection: a reply sent with the body partly unread (413) leaves nothing that
  // cpp-httplib would parse as a next request, and no idle connection delays stopping.
  http.set_keep_alive_max_count(1);
  http.set_keep_alive_timeout(kRequestWaitSeconds);
  http.set_payload_max_length(api.largest_body_bytes());

  errno = 0;
  state->port = options.port == 0
                    ? http.bind_to_any_port(options.host)
                    : (http.bind_to_port(options.host, options.port) ? options.port : -1);
  if (state->port <= 0) {
    const std::string reason =
        errno != 0 ? std::error_code(errno, std::generic_category()).message() : "cannot bind";
    return MakeError(ErrorCode::kConfig, "--listen " + options.host + ":" +
                                             std::to_string(options.port) + ": " + reason);
  }
  return std::unique_ptr<HttpsServer>(new HttpsServer(std::move(state)));
}

HttpsServer::HttpsServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

HttpsServer::~HttpsServer() = default;

int HttpsServer::port() const { return state_->port; }

Status HttpsServer::Serve() {
  state_->serving = true;
  if (state_->stop_requested) {
    state_->serving = false;
    return OkStatus();
  }
  const bool ok = state_->server->listen_after_bind();
  state_->serving = false;
  if (!ok) return MakeError(ErrorCode::kInternal, "the HTTPS accept loop failed");
  return OkStatus();
}

void HttpsServer::Stop() {
  // A Serve that has not started yet sees stop_requested and returns at once. cpp-httplib
  // ignores stop() until its accept loop runs: wait for that while Serve is starting it.
  state_->stop_requested = true;
  while (state_->serving && !state_->server->is_running()) std::this_thread::yield();
  state_->server->stop();
}

}  // namespace optischema::controlplane
