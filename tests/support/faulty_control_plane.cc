#include "tests/support/faulty_control_plane.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/support/loopback_listener.h"
#include "tests/support/test_certificates.h"

namespace optischema::testing {
namespace {

constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kOversizedBytes = std::size_t{16} << 20;
// What a proxy's error page followed by binary noise looks like; not JSON.
constexpr char kGarbage[] =
    "<html><body><h1>Service temporarily unavailable</h1></body></html>\n\x1f\x8b\xff\xfe"
    "{{{\"stored\":";

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxFree>;
using Ssl = std::unique_ptr<SSL, SslFree>;

std::string OpenSslError(const std::string& what) {
  char buffer[256] = {};
  ERR_error_string_n(ERR_get_error(), buffer, sizeof buffer);
  return what + ": " + buffer;
}

bool WriteAll(SSL* ssl, std::string_view data) {
  while (!data.empty()) {
    const int n =
        SSL_write(ssl, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20)));
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Appends what `ssl` delivers next to `buffer`; false at the end of the stream or on an error.
bool ReadMore(SSL* ssl, std::string* buffer) {
  char chunk[16384];
  const int n = SSL_read(ssl, chunk, sizeof chunk);
  if (n <= 0) return false;
  buffer->append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string Response(int status, const std::string& reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

// A parsed request head.
struct Head {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::size_t content_length = 0;
  std::string Header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return {};
  }
};

Head ParseHead(const std::string& head) {
  Head parsed;
  std::size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const std::size_t first_space = request_line.find(' ');
  const std::size_t second_space = request_line.find(' ', first_space + 1);
  parsed.method = request_line.substr(0, first_space);
  parsed.target = request_line.substr(first_space + 1, second_space - first_space - 1);
  std::size_t position = line_end + 2;
  while (position < head.size()) {
    line_end = head.find("\r\n", position);
    if (line_end == std::string::npos || line_end == position) break;
    const std::string line = head.substr(position, line_end - position);
    position = line_end + 2;
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    std::string name = Lower(line.substr(0, colon));
    if (name == "content-length") parsed.content_length = std::stoul(value);
    parsed.headers.emplace_back(std::move(name), std::move(value));
  }
  return parsed;
}

}  // namespace

const char* ControlPlaneFaultName(ControlPlaneFault fault) {
  switch (fault) {
    case ControlPlaneFault::kNone:
      return "none";
    case ControlPlaneFault::kServerError:
      return "server error";
    case ControlPlaneFault::kHang:
      return "hang";
    case ControlPlaneFault::kCloseMidRequest:
      return "close mid-request";
    case ControlPlaneFault::kCloseMidReply:
      return "close mid-reply";
    case ControlPlaneFault::kGarbageBody:
      return "garbage body";
    case ControlPlaneFault::kOversizedBody:
      return "oversized body";
  }
  return "?";
}

struct FaultyControlPlane::State {
  int upstream_port = 0;
  int listen_fd = -1;
  int port = 0;
  TestCertificateFiles certificates;
  SslCtx server_ctx;
  SslCtx client_ctx;
  std::atomic<bool> stopping{false};
  std::thread acceptor;

  mutable std::mutex mu;
  std::condition_variable changed;
  ControlPlaneFault fault = ControlPlaneFault::kNone;  // guarded by mu
  std::uint64_t fault_generation = 0;                  // guarded by mu; grows at each SetFault
  std::vector<Exchange> exchanges;                     // guarded by mu
  std::vector<std::thread> workers;                    // guarded by mu
  std::vector<int> open_fds;                           // guarded by mu

  // Sends the request on to the real control plane and returns its whole reply, or a 502.
  std::string Forward(const Head& head, const std::string& body) const {
    std::string request = head.method + " " + head.target +
                          " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(upstream_port) + "\r\n";
    for (const auto& [name, value] : head.headers) {
      if (name == "host" || name == "connection") continue;
      request += name + ": " + value + "\r\n";
    }
    request += "Connection: close\r\n\r\n" + body;
    const int fd = ConnectLoopback(upstream_port);
    if (fd < 0) return Response(502, "Bad Gateway", R"({"error":"upstream down"})");
    Ssl ssl(SSL_new(client_ctx.get()));
    std::string reply;
    if (ssl != nullptr && SSL_set_fd(ssl.get(), fd) == 1 && SSL_connect(ssl.get()) == 1 &&
        WriteAll(ssl.get(), request)) {
      while (ReadMore(ssl.get(), &reply)) {
      }
    }
    ::close(fd);
    if (reply.find("\r\n\r\n") == std::string::npos) {
      return Response(502, "Bad Gateway", R"({"error":"no reply upstream"})");
    }
    return reply;
  }

  // One connection: one exchange, then close.
  void Serve(int fd) {
    Ssl ssl(SSL_new(server_ctx.get()));
    if (ssl == nullptr || SSL_set_fd(ssl.get(), fd) != 1 || SSL_accept(ssl.get()) != 1) return;
    std::string buffer;
    std::size_t head_end = std::string::npos;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (buffer.size() > kMaxHead || !ReadMore(ssl.get(), &buffer)) return;
    }
    const Head head = ParseHead(buffer.substr(0, head_end + 2));
    ControlPlaneFault met;
    std::uint64_t generation;
    {
      std::lock_guard lock(mu);
      met = fault;
      generation = fault_generation;
      exchanges.push_back({head.method, head.target, head.Header("idempotency-key"), met});
    }
    // Cut without a TLS close_notify, as a crashing server or a broken network does.
    const auto cut = [fd] { ::shutdown(fd, SHUT_RDWR); };
    if (met == ControlPlaneFault::kCloseMidRequest) return cut();
    const std::size_t body_start = head_end + 4;
    while (buffer.size() < body_start + head.content_length) {
      if (!ReadMore(ssl.get(), &buffer)) return;
    }
    const std::string body = buffer.substr(body_start, head.content_length);
    switch (met) {
      case ControlPlaneFault::kNone:
        WriteAll(ssl.get(), Forward(head, body));
        SSL_shutdown(ssl.get());
        return;
      case ControlPlaneFault::kServerError:
        WriteAll(ssl.get(), Response(500, "Internal Server Error",
                                     R"({"protocol":"1","error":"internal error"})"));
        SSL_shutdown(ssl.get());
        return;
      case ControlPlaneFault::kHang: {
        std::unique_lock lock(mu);
        changed.wait(lock, [&] { return stopping || fault_generation != generation; });
        return cut();
      }
      case ControlPlaneFault::kCloseMidRequest:
        return cut();
      case ControlPlaneFault::kCloseMidReply: {
        // The control plane got the request and answered; the reply is lost on the way.
        const std::string reply = Forward(head, body);
        const std::size_t keep = std::max(reply.find("\r\n\r\n") / 2, std::size_t{1});
        WriteAll(ssl.get(), std::string_view(reply).substr(0, keep));
        return cut();
      }
      case ControlPlaneFault::kGarbageBody:
        WriteAll(ssl.get(), Response(200, "OK", std::string(kGarbage, sizeof kGarbage - 1)));
        SSL_shutdown(ssl.get());
        return;
      case ControlPlaneFault::kOversizedBody: {
        std::string head_out =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Content-Length: " +
            std::to_string(kOversizedBytes) + "\r\nConnection: close\r\n\r\n";
        if (!WriteAll(ssl.get(), head_out)) return;
        const std::string chunk(64 * 1024, ' ');
        for (std::size_t sent = 0; sent < kOversizedBytes && !stopping; sent += chunk.size()) {
          if (!WriteAll(ssl.get(), chunk)) return;  // the agent gave up reading: expected
        }
        SSL_shutdown(ssl.get());
        return;
      }
    }
  }
};

std::unique_ptr<FaultyControlPlane> FaultyControlPlane::Start(int upstream_port,
                                                              const std::string& dir) {
  // A client that gives up in the middle of a reply (an oversized body, a timeout) closes its end
  // while the proxy is still writing: that write must fail with EPIPE, not kill the test process.
  std::signal(SIGPIPE, SIG_IGN);
  auto state = std::make_unique<State>();
  state->upstream_port = upstream_port;
  state->certificates = WriteTestCertificates(dir, {});
  state->server_ctx.reset(SSL_CTX_new(TLS_server_method()));
  state->client_ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (state->server_ctx == nullptr || state->client_ctx == nullptr ||
      SSL_CTX_use_certificate_chain_file(state->server_ctx.get(),
                                         state->certificates.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(state->server_ctx.get(), state->certificates.key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error(OpenSslError("faulty control plane: TLS setup failed"));
  }
  SSL_CTX_set_verify(state->client_ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_mode(state->server_ctx.get(), SSL_MODE_AUTO_RETRY);
  SSL_CTX_set_mode(state->client_ctx.get(), SSL_MODE_AUTO_RETRY);

  const LoopbackListener listener = ListenOnLoopback(64, "faulty control plane");
  state->listen_fd = listener.fd;
  state->port = listener.port;
  State* raw = state.get();
  state->acceptor = std::thread([raw] {
    while (!raw->stopping) {
      pollfd listening = {raw->listen_fd, POLLIN, 0};
      if (::poll(&listening, 1, 100) <= 0) continue;
      const int client = ::accept4(raw->listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::lock_guard lock(raw->mu);
      raw->open_fds.push_back(client);
      raw->workers.emplace_back([raw, client] {
        raw->Serve(client);
        ::shutdown(client, SHUT_RDWR);  // closed by the destructor, so no fd number is reused
      });
    }
  });
  return std::unique_ptr<FaultyControlPlane>(new FaultyControlPlane(std::move(state)));
}

FaultyControlPlane::FaultyControlPlane(std::unique_ptr<State> state) : state_(std::move(state)) {}

FaultyControlPlane::~FaultyControlPlane() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
    for (int fd : state_->open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  state_->changed.notify_all();
  state_->acceptor.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(state_->mu);
    workers.swap(state_->workers);
  }
  for (std::thread& worker : workers) worker.join();
  for (int fd : state_->open_fds) ::close(fd);
  ::close(state_->listen_fd);
}

void FaultyControlPlane::SetFault(ControlPlaneFault fault) {
  {
    std::lock_guard lock(state_->mu);
    state_->fault = fault;
    ++state_->fault_generation;
  }
  state_->changed.notify_all();
}

std::vector<FaultyControlPlane::Exchange> FaultyControlPlane::Exchanges() const {
  std::lock_guard lock(state_->mu);
  return state_->exchanges;
}

std::size_t FaultyControlPlane::Count(ControlPlaneFault fault, std::string_view path_suffix) const {
  std::lock_guard lock(state_->mu);
  return static_cast<std::size_t>(
      std::count_if(state_->exchanges.begin(), state_->exchanges.end(), [&](const Exchange& e) {
        return e.fault == fault && std::string_view(e.path).ends_with(path_suffix);
      }));
}

std::string FaultyControlPlane::base_url() const {
  return "https://127.0.0.1:" + std::to_string(state_->port);
}

const std::string& FaultyControlPlane::ca_file() const { return state_->certificates.ca_file; }

}  // namespace optischema::testing
