#pragma once

// A misbehaving control plane for fault-injection tests: an HTTPS front on 127.0.0.1 that, while
// healthy, passes every request on to the real reference control plane (ControlPlaneProcess) and
// relays its reply, and on demand fails each request in one way a real server or the network
// can. The agent is pointed at this front (base_url(), ca_file()); the control plane behind it
// stays the judge of what was stored.
//
// Start() writes certificates of test_certificates.h (for "localhost" and IP 127.0.0.1) into the
// given existing directory and listens on a port the system picks. Every connection carries one
// exchange and is then closed ("Connection: close"), so each request meets the fault in force
// when its head arrived. The destructor releases held requests, closes every connection and
// joins every thread. All member functions are thread-safe.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace optischema::testing {

enum class ControlPlaneFault {
  kNone,             // relay to the real control plane
  kServerError,      // 500 with a JSON error body
  kHang,             // read the request, never answer; the connection is cut when the fault ends
  kCloseMidRequest,  // read the request head, then drop the connection (the body never arrives)
  kCloseMidReply,    // relay to the real control plane, then cut its reply in the middle
  kGarbageBody,      // 200 with a body that is not JSON (a proxy's HTML page, binary noise)
  kOversizedBody,    // 200 announcing and sending 16 MiB (the agent refuses replies over 4 MiB)
};

const char* ControlPlaneFaultName(ControlPlaneFault fault);

class FaultyControlPlane {
 public:
  struct Exchange {
    std::string method;
    std::string path;
    std::string idempotency_key;  // the snapshot id of a snapshot POST
    ControlPlaneFault fault;      // what the request met
  };

  // `upstream_port`: the real control plane on 127.0.0.1 (TLS; its certificate is not checked).
  // Throws std::runtime_error when the certificates or the listening socket cannot be made.
  static std::unique_ptr<FaultyControlPlane> Start(int upstream_port, const std::string& dir);
  ~FaultyControlPlane();

  FaultyControlPlane(const FaultyControlPlane&) = delete;
  FaultyControlPlane& operator=(const FaultyControlPlane&) = delete;

  // From now on, new requests meet `fault`. Leaving kHang cuts the held connections.
  void SetFault(ControlPlaneFault fault);

  // Every request received so far, oldest first.
  std::vector<Exchange> Exchanges() const;
  // Requests whose path ends with `path_suffix` that met `fault`.
  std::size_t Count(ControlPlaneFault fault, std::string_view path_suffix) const;

  std::string base_url() const;  // "https://127.0.0.1:<port>"
  const std::string& ca_file() const;

 private:
  struct State;
  explicit FaultyControlPlane(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace optischema::testing
