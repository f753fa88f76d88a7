#pragma once

// `optischema-agent run`: the long-running agent. One DatabaseWorker thread per configured
// database writes snapshots to the spool; one ControlPlaneLink thread registers, delivers the
// spool, sends heartbeats and pulls approved recommendations; the calling thread handles signals,
// the service manager (sd_notify) and configuration reloads.
//
// Signals (blocked in every thread, taken synchronously by the main loop):
//   SIGTERM, SIGINT  stop: STOPPING=1, each worker finishes the reading in progress, the link
//                    delivers what it can until kStopFlush, and the process exits 0 within
//                    kStopDeadline. Whatever is not delivered stays in the spool for the next
//                    start. A thread stuck past the deadline (a database that does not answer) is
//                    abandoned: the spool is durable, so exiting loses nothing.
//   SIGHUP           reload the configuration from the same sources. An invalid new configuration
//                    (or one without a usable control plane) is logged and the running one kept.
//                    Changed or new databases get a new worker (their next reading is a baseline);
//                    replaced and removed ones finish their reading in the background;
//                    control-plane settings apply to the next exchange, log settings at once.
//                    state_dir and spool_max_bytes take effect at the next start.
// Service manager: READY=1 once the spool is open and the threads run (RELOADING=1, then READY=1
// again around a reload, as Type=notify-reload expects); STATUS=<summary> when it
// changes; WATCHDOG=1 every loop turn while every thread has shown progress within its stall
// limit (a database reading is bounded by the session's statement timeout, an exchange by the
// HTTP total timeout), so a hung thread stops the pings and lets systemd restart the agent.

#include <chrono>
#include <string>

#include "agent/config.h"
#include "agent/service_notifier.h"

namespace optischema::agent {

inline constexpr std::chrono::seconds kStopFlush{7};
inline constexpr std::chrono::seconds kStopDeadline{9};

struct DaemonOptions {
  std::string config_path;  // as given on the command line (may be empty), for reloads
  EnvLookup env;            // for reloads
};

// Runs until SIGTERM or SIGINT. `config` is the already loaded configuration. Returns the exit
// status: 0 after a signal, 1 when start-up fails (state directory or spool unusable; logged),
// 2 for a configuration that cannot run a daemon (no control plane URL; logged).
int RunDaemon(Config config, const DaemonOptions& options, ServiceNotifier& notifier);

}  // namespace optischema::agent
