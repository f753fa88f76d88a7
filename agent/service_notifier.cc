#include "agent/service_notifier.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

namespace optischema::agent {
namespace {

class SystemdNotifier final : public ServiceNotifier {
 public:
  void Notify(std::string_view state) override {
    const std::string text(state);
    sd_notify(/*unset_environment=*/0, text.c_str());
  }

  std::optional<std::chrono::microseconds> WatchdogPeriod() const override {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) <= 0 || usec == 0) {
      return std::nullopt;
    }
    return std::chrono::microseconds(static_cast<std::int64_t>(usec));
  }
};

}  // namespace

std::unique_ptr<ServiceNotifier> MakeSystemdNotifier() {
  return std::make_unique<SystemdNotifier>();
}

}  // namespace optischema::agent
