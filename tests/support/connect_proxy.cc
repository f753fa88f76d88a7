#include "tests/support/connect_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/support/loopback_listener.h"

namespace optischema::testing {

struct ConnectProxy::State {
  int listen_fd = -1;
  int port = 0;
  std::atomic<bool> stopping{false};
  mutable std::mutex mu;
  std::vector<std::string> targets;  // guarded by mu
  std::vector<std::thread> relays;   // guarded by mu
  std::vector<int> open_fds;         // guarded by mu; closed by the destructor
  std::thread acceptor;
};

namespace {

// Reads the request head (up to the blank line) from `fd`; empty on failure.
std::string ReadHead(int fd) {
  std::string head;
  char c = 0;
  while (head.size() < 8192 && ::recv(fd, &c, 1, 0) == 1) {
    head += c;
    if (head.ends_with("\r\n\r\n")) return head;
  }
  return {};
}

void SendAll(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

// Copies bytes between `a` and `b` until one side closes or `stopping`.
void Relay(int a, int b, const std::atomic<bool>& stopping) {
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  char buffer[16384];
  while (!stopping) {
    if (::poll(fds, 2, 100) < 0) return;
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      SendAll(fds[1 - i].fd, std::string(buffer, static_cast<std::size_t>(n)));
    }
  }
}

}  // namespace

std::unique_ptr<ConnectProxy> ConnectProxy::Start() {
  auto state = std::make_unique<State>();
  const LoopbackListener listener = ListenOnLoopback(16, "connect proxy");
  state->listen_fd = listener.fd;
  state->port = listener.port;
  State* raw = state.get();
  // Handles one client connection: the CONNECT, then the relay.
  auto serve = [raw](int client) {
    const std::string head = ReadHead(client);
    const std::string prefix = "CONNECT ";
    const std::size_t end = head.find(' ', prefix.size());
    if (!head.starts_with(prefix) || end == std::string::npos) {
      SendAll(client, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const std::string target = head.substr(prefix.size(), end - prefix.size());
    {
      std::lock_guard lock(raw->mu);
      raw->targets.push_back(target);
    }
    const std::size_t colon = target.rfind(':');
    const int upstream =
        colon == std::string::npos ? -1 : ConnectLoopback(std::stoi(target.substr(colon + 1)));
    if (upstream < 0) {
      SendAll(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    {
      std::lock_guard lock(raw->mu);
      raw->open_fds.push_back(upstream);
    }
    SendAll(client, "HTTP/1.1 200 Connection established\r\n\r\n");
    Relay(client, upstream, raw->stopping);
  };
  state->acceptor = std::thread([raw, serve] {
    while (!raw->stopping) {
      pollfd fd = {raw->listen_fd, POLLIN, 0};
      if (::poll(&fd, 1, 100) <= 0) continue;
      const int client = ::accept4(raw->listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::lock_guard lock(raw->mu);
      raw->open_fds.push_back(client);
      raw->relays.emplace_back([serve, client] { serve(client); });
    }
  });
  return std::unique_ptr<ConnectProxy>(new ConnectProxy(std::move(state)));
}

ConnectProxy::ConnectProxy(std::unique_ptr<State> state) : state_(std::move(state)) {}

ConnectProxy::~ConnectProxy() {
  state_->stopping = true;
  state_->acceptor.join();
  std::vector<std::thread> relays;
  {
    std::lock_guard lock(state_->mu);
    relays.swap(state_->relays);
  }
  for (std::thread& relay : relays) relay.join();
  for (int fd : state_->open_fds) ::close(fd);
  ::close(state_->listen_fd);
}

std::string ConnectProxy::url() const { return "http://127.0.0.1:" + std::to_string(state_->port); }

std::vector<std::string> ConnectProxy::Targets() const {
  std::lock_guard lock(state_->mu);
  return state_->targets;
}

}  // namespace optischema::testing
