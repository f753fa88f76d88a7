#pragma once

// A minimal HTTP CONNECT proxy on 127.0.0.1 for tests of the client's proxy settings. It accepts
// CONNECT host:port, connects to that address (loopback targets only), answers 200 and relays
// bytes both ways until either side closes; anything else gets 405. It records each CONNECT
// target. Start() throws std::runtime_error when it cannot listen; the destructor closes every
// socket and joins every thread. Thread-safe.

#include <memory>
#include <string>
#include <vector>

namespace optischema::testing {

class ConnectProxy {
 public:
  static std::unique_ptr<ConnectProxy> Start();
  ~ConnectProxy();

  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  std::string url() const;  // "http://127.0.0.1:<port>"
  // The "host:port" of every CONNECT received so far, oldest first.
  std::vector<std::string> Targets() const;

 private:
  struct State;
  explicit ConnectProxy(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace optischema::testing
