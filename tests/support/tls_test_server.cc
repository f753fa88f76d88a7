#include "tests/support/tls_test_server.h"

// The build defines CPPHTTPLIB_OPENSSL_SUPPORT (and the zlib support that decompresses gzip
// request bodies) to match the compiled libcpp-httplib.
#include <httplib.h>
#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/support/test_certificates.h"

namespace optischema::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kDirPrefix[] = "optischema-tls-";
constexpr char kLoopback[] = "127.0.0.1";
constexpr auto kStartTimeout = std::chrono::seconds(10);
// How long an idle kept-alive connection delays stopping.
constexpr time_t kKeepAliveSeconds = 1;

// Header names lower-cased, repeated headers joined with ", ". cpp-httplib adds the peer's and
// its own address as pseudo-headers; those are not what the client sent and are left out.
std::map<std::string, std::string> ClientHeaders(const httplib::Headers& headers) {
  std::map<std::string, std::string> result;
  for (const auto& [raw_name, value] : headers) {
    if (raw_name == "REMOTE_ADDR" || raw_name == "REMOTE_PORT" || raw_name == "LOCAL_ADDR" ||
        raw_name == "LOCAL_PORT") {
      continue;
    }
    std::string name = raw_name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto [it, inserted] = result.try_emplace(std::move(name), value);
    if (!inserted) it->second += ", " + value;
  }
  return result;
}

}  // namespace

struct TlsTestServer::State {
  // Stops the server, joins its threads and removes the directory, however far Start got.
  ~State() {
    {
      std::lock_guard lock(mutex);
      shutting_down = true;
    }
    shutdown.notify_all();
    if (server != nullptr) server->stop();
    if (thread.joinable()) thread.join();
    std::error_code error;
    if (!dir.empty() && fs::remove_all(dir, error) == static_cast<std::uintmax_t>(-1)) {
      std::cerr << "TlsTestServer: cannot remove " << dir << ": " << error.message() << "\n";
    }
  }

  // Records the request and answers it with the current handler's response.
  void Serve(const httplib::Request& request, httplib::Response& response) {
    RecordedRequest recorded{request.method, request.target, ClientHeaders(request.headers),
                             request.body};
    Handler current;
    {
      std::lock_guard lock(mutex);
      requests.push_back(recorded);
      current = handler;
    }
    const TestResponse answer = current ? current(recorded) : TestResponse{};
    response.status = answer.status;
    for (const auto& [name, value] : answer.headers) response.set_header(name, value);
    response.set_content(answer.body, "application/json");
  }

  std::string dir;
  std::string ca_file;
  std::string wrong_ca_file;
  int port = 0;
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;  // runs the accept loop; the server's workers run on its own pool

  mutable std::mutex mutex;  // guards the members below
  std::condition_variable shutdown;
  bool shutting_down = false;
  Handler handler;
  std::vector<RecordedRequest> requests;
};

std::unique_ptr<TlsTestServer> TlsTestServer::Start(const Options& options) {
  auto state = std::make_unique<State>();
  std::string dir = (fs::temp_directory_path() / (std::string(kDirPrefix) + "XXXXXX")).string();
  if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp " + dir + " failed");
  state->dir = dir;
  TestCertificateOptions certificates;
  certificates.dns_names = options.dns_names;
  certificates.loopback_ip = options.loopback_ip;
  const TestCertificateFiles files = WriteTestCertificates(dir, certificates);
  state->ca_file = files.ca_file;
  state->wrong_ca_file = files.wrong_ca_file;

  state->server =
      std::make_unique<httplib::SSLServer>(files.cert_file.c_str(), files.key_file.c_str());
  httplib::SSLServer& http = *state->server;
  if (!http.is_valid()) throw std::runtime_error("cpp-httplib rejected " + files.cert_file);
  State* raw_state = state.get();
  const auto serve = [raw_state](const httplib::Request& request, httplib::Response& response) {
    raw_state->Serve(request, response);
  };
  http.Get(".*", serve).Post(".*", serve).Put(".*", serve).Patch(".*", serve).Delete(".*", serve);
  http.set_keep_alive_timeout(kKeepAliveSeconds);
  state->port = http.bind_to_any_port(kLoopback);
  if (state->port <= 0) throw std::runtime_error("cannot bind 127.0.0.1 to a free port");
  state->thread = std::thread([&http] { http.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs, so the destructor must not come before it.
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!http.is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the HTTPS server did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<TlsTestServer>(new TlsTestServer(std::move(state)));
}

TlsTestServer::TlsTestServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

TlsTestServer::~TlsTestServer() = default;

void TlsTestServer::SetHandler(Handler handler) {
  std::lock_guard lock(state_->mutex);
  state_->handler = std::move(handler);
}

TestResponse TlsTestServer::HoldUntilShutdown() {
  std::unique_lock lock(state_->mutex);
  state_->shutdown.wait(lock, [this] { return state_->shutting_down; });
  return TestResponse{503, "{}", {}};
}

std::vector<RecordedRequest> TlsTestServer::Requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

int TlsTestServer::port() const { return state_->port; }

std::string TlsTestServer::base_url() const {
  return "https://" + std::string(kLoopback) + ":" + std::to_string(state_->port);
}

const std::string& TlsTestServer::ca_file() const { return state_->ca_file; }

const std::string& TlsTestServer::wrong_ca_file() const { return state_->wrong_ca_file; }

std::string GzipForTest(std::string_view data) {
  constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip header and trailer
  constexpr int kMemLevel = 8;
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, kMemLevel,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, data.size()), '\0');
  // zlib only reads through next_in; it is not declared const unless ZLIB_CONST is defined.
  stream.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

}  // namespace optischema::testing
