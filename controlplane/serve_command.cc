#include "controlplane/serve_command.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <string.h>

#include <atomic>
#include <charconv>
#include <thread>

#include "controlplane/retention.h"
#include "controlplane/store.h"
#include "core/clock.h"
#include "core/file_io.h"

namespace optischema::controlplane {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kMaxPort = 65535;

Error BadListen() {
  return MakeError(ErrorCode::kConfig,
                   "--listen: expected HOST:PORT or [IPv6]:PORT with a port from 0 to 65535, "
                   "e.g. 127.0.0.1:8443");
}

std::string HostForUrl(const std::string& host) {
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

}  // namespace

Result<std::pair<std::string, int>> ParseListenAddress(std::string_view listen) {
  std::string_view host;
  std::string_view port_text;
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find("]:");
    if (close == std::string_view::npos) return BadListen();
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string_view::npos) return BadListen();
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return BadListen();
  }
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || port_text.empty() || ec != std::errc() ||
      end != port_text.data() + port_text.size() || port < 0 || port > kMaxPort) {
    return BadListen();
  }
  return std::pair<std::string, int>(std::string(host), port);
}

int RunServe(const ServeOptions& options, std::ostream& out, std::ostream& err) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const auto fail = [&err](const Error& error) {
    err << "optischema-controlplane serve: " << error.message << "\n";
    return kExitUsage;
  };
  auto address = ParseListenAddress(options.listen);
  if (!address.ok()) return fail(address.error());
  const SystemClock clock;
  auto store = Store::Open(options.data_dir, Store::OpenMode::kCreate, clock);
  if (!store.ok()) return fail(store.error());
  const RetentionSweeper sweeper(**store, clock, options.retention, kRetentionSweepInterval);
  const Api api(**store, options.api, clock);
  ConsoleOptions console_options = options.console;
  console_options.data_dir = options.data_dir;
  if (auto chart_js = ReadWholeFile(options.chart_js_path); chart_js.ok()) {
    console_options.chart_js = std::move(*chart_js);
  } else {
    spdlog::warn("--chart-js {}: {}; the console shows no charts (install libjs-chart.js)",
                 options.chart_js_path, chart_js.error().message);
  }
  const Console console(**store, std::move(console_options), clock);
  HttpsServerOptions server_options{address->first, address->second, options.cert_file,
                                    options.key_file, options.max_inflight_bytes};
  auto bound = HttpsServer::Bind(server_options, api, &console);
  if (!bound.ok()) return fail(bound.error());
  HttpsServer& server = **bound;
  out << "listening on https://" << HostForUrl(address->first) << ":" << server.port() << "\n"
      << std::flush;

  std::atomic<bool> serve_ended{false};
  std::thread signal_waiter([&] {
    int signal_number = 0;
    if (sigwait(&stop_signals, &signal_number) == 0 && !serve_ended) {
      spdlog::info("received {}, finishing requests in progress and stopping",
                   sigabbrev_np(signal_number));
    }
    server.Stop();
  });
  const Status served = server.Serve();
  // Releases the waiter when Serve ended on its own; harmless when a signal ended it: the
  // thread-directed signal stays pending on a thread that is exiting.
  serve_ended = true;
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  if (!served.ok()) {
    err << "optischema-controlplane serve: " << served.error().message << "\n";
    return kExitFailure;
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace optischema::controlplane
