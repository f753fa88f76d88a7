#pragma once

// The peer: prometheus-postgres-exporter (the Debian package) scraping pg_stat_statements through
// a custom query (--extend.query-path), measured one scrape at a time from outside its process.

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace optischema::bench {

inline constexpr char kExporterBinary[] = "/usr/bin/prometheus-postgres-exporter";

// The custom query file given to the exporter: one pg_stat_statements query labelled by role,
// database and queryid, with the counters as metrics. See ExporterQueryDescription().
std::string ExporterQueriesYaml();

// One line for humans: what the exporter's custom query reads and exports, and why.
std::string ExporterQueryDescription();

// Figures of one scrape, seen from outside the exporter.
struct ScrapeTimes {
  double cpu_ms = 0;   // utime + stime of the exporter process (/proc/<pid>/stat) over the scrape
  double wall_ms = 0;  // the HTTP request, until the last byte of the response arrived
  int64_t bytes = 0;   // response body as sent with Accept-Encoding: gzip
};

// The exporter running on 127.0.0.1 at a free port, connected to PostgreSQL through `dsn` (a
// libpq-style keyword/value string, which its driver also accepts), with the custom query file
// written into `dir` and its log in `dir`/exporter.log. Default collectors and settings metrics
// stay on, as installed. The destructor stops it (SIGTERM, then SIGKILL) and reaps it.
// Not thread-safe. Construction throws std::runtime_error when it does not start serving.
class ExporterProcess {
 public:
  ExporterProcess(const std::string& dir, const std::string& dsn);
  ~ExporterProcess();
  ExporterProcess(const ExporterProcess&) = delete;
  ExporterProcess& operator=(const ExporterProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string url() const;  // http://127.0.0.1:<port>/metrics

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

// Scrapes `url` once with Accept-Encoding: gzip (the body is counted, not decoded), measuring the
// CPU of process `pid` around it. CPU is read again after a short settle time, so work the scrape
// left to the Go runtime (garbage collection) counts. Throws std::runtime_error on an HTTP error.
ScrapeTimes Scrape(const std::string& url, pid_t pid);

// Scrapes `url` once without compression and counts the lines (samples) that start with
// `prefix`, e.g. "pg_stat_statements_calls{". Throws std::runtime_error on an HTTP error.
int64_t CountSamples(const std::string& url, const std::string& prefix);

// Peak resident set size (VmHWM) of process `pid`, in MiB; 0 when unreadable.
double PeakRssMibOf(pid_t pid);

// utime + stime of process `pid` in milliseconds (clock-tick resolution); throws when unreadable.
double ProcessCpuMs(pid_t pid);

}  // namespace optischema::bench
