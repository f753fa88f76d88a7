#pragma once

// ServiceNotifier: the seam to the service manager's notification protocol (sd_notify). The daemon
// reports READY=1 once started, WATCHDOG=1 while its loops are alive, STATUS=<one line> and
// STOPPING=1. Outside systemd (NOTIFY_SOCKET unset) every call does nothing.

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

namespace optischema::agent {

class ServiceNotifier {
 public:
  virtual ~ServiceNotifier() = default;

  // Sends `state`, one or more "NAME=value" lines separated by '\n'. Failures are ignored: the
  // service manager going away must not stop the agent.
  virtual void Notify(std::string_view state) = 0;

  // The watchdog period the service manager expects (WatchdogSec=), when it expects one from
  // this process; WATCHDOG=1 is then due at least every half of it.
  virtual std::optional<std::chrono::microseconds> WatchdogPeriod() const = 0;
};

// Notifies the manager named by NOTIFY_SOCKET through libsystemd. Thread safety: Notify may be
// called from any thread.
std::unique_ptr<ServiceNotifier> MakeSystemdNotifier();

}  // namespace optischema::agent
