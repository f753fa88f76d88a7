#pragma once

// Loopback TCP sockets for the test servers in tests/support/: a listener on 127.0.0.1 at a port
// the kernel picks, and a connection to a port there. The caller owns each descriptor and closes
// it.

namespace optischema::testing {

struct LoopbackListener {
  int fd = -1;
  int port = 0;
};

// Throws std::runtime_error "<who>: cannot listen on 127.0.0.1" when the socket cannot be made,
// bound or listened on; nothing is left open then.
LoopbackListener ListenOnLoopback(int backlog, const char* who);

// A blocking connection to 127.0.0.1:port, or -1 when it cannot be made.
int ConnectLoopback(int port);

}  // namespace optischema::testing
