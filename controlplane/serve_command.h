#pragma once

// `optischema-controlplane serve`: opens the store, starts the retention sweeper (retention.h),
// reads Chart.js for the console (a missing file is a warning: the pages say charts are
// unavailable), binds HTTPS for protocol v1 and the console (console.h), prints
// "listening on https://HOST:PORT" to `out` once connections are accepted, and serves until
// SIGTERM or SIGINT; then it stops accepting, lets requests in progress finish and returns 0.
//
// Returns 2 when it cannot start (bad --listen, unreadable or invalid certificate or key, port in
// use, unusable data directory; the message on `err` says which), 1 when serving failed.
//
// Must be called before the process starts any thread: it blocks SIGTERM and SIGINT in the
// calling thread, so that every thread started later inherits the mask and a thread of its own
// receives them with sigwait.

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "controlplane/api.h"
#include "controlplane/console.h"
#include "controlplane/https_server.h"
#include "controlplane/input_limits.h"
#include "controlplane/retention.h"
#include "core/result.h"

namespace optischema::controlplane {

struct ServeOptions {
  std::string listen;  // "HOST:PORT" or "[IPv6]:PORT"; port 0 picks a free one
  std::string data_dir;
  std::string cert_file;
  std::string key_file;
  std::size_t max_inflight_bytes = kDefaultMaxInflightBytes;
  RetentionDays retention;  // --retention-days, --history-days
  ApiOptions api;           // api.max_body_bytes is --max-body-bytes
  ConsoleOptions console;   // data_dir and chart_js are filled in by RunServe
  std::string chart_js_path = kDefaultChartJsPath;
};

// Splits "HOST:PORT" / "[IPv6]:PORT" (port 0 to 65535). kConfig naming --listen otherwise.
Result<std::pair<std::string, int>> ParseListenAddress(std::string_view listen);

int RunServe(const ServeOptions& options, std::ostream& out, std::ostream& err);

}  // namespace optischema::controlplane
