#include "tests/bench/exporter.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace optischema::bench {
namespace {

constexpr auto kStartDeadline = std::chrono::seconds(30);
constexpr auto kStopDeadline = std::chrono::seconds(10);
// After the response: time for the Go runtime to finish the collection the scrape triggered.
constexpr auto kSettle = std::chrono::milliseconds(300);
constexpr long kScrapeTimeoutS = 900;

// pg_stat_statements 1.10 (PostgreSQL 15) column names; the metrics follow the example query file
// shipped with the exporter (role, database and queryid as labels, counters and times as values).
struct Column {
  const char* expression;  // in the SELECT list
  const char* name;        // column and metric name
  const char* usage;
  const char* description;
};
constexpr Column kColumns[] = {
    {"r.rolname", "rolname", "LABEL", "Name of user"},
    {"d.datname", "datname", "LABEL", "Name of database"},
    {"s.queryid", "queryid", "LABEL", "Query ID"},
    {"s.calls", "calls", "COUNTER", "Number of times executed"},
    {"s.total_exec_time / 1000", "total_exec_time_seconds", "COUNTER", "Total execution time"},
    {"s.min_exec_time / 1000", "min_exec_time_seconds", "GAUGE", "Minimum execution time"},
    {"s.max_exec_time / 1000", "max_exec_time_seconds", "GAUGE", "Maximum execution time"},
    {"s.mean_exec_time / 1000", "mean_exec_time_seconds", "GAUGE", "Mean execution time"},
    {"s.stddev_exec_time / 1000", "stddev_exec_time_seconds", "GAUGE",
     "Population standard deviation of the execution time"},
    {"s.rows", "rows", "COUNTER", "Rows retrieved or affected"},
    {"s.shared_blks_hit", "shared_blks_hit", "COUNTER", "Shared block cache hits"},
    {"s.shared_blks_read", "shared_blks_read", "COUNTER", "Shared blocks read"},
    {"s.shared_blks_dirtied", "shared_blks_dirtied", "COUNTER", "Shared blocks dirtied"},
    {"s.shared_blks_written", "shared_blks_written", "COUNTER", "Shared blocks written"},
    {"s.local_blks_hit", "local_blks_hit", "COUNTER", "Local block cache hits"},
    {"s.local_blks_read", "local_blks_read", "COUNTER", "Local blocks read"},
    {"s.local_blks_dirtied", "local_blks_dirtied", "COUNTER", "Local blocks dirtied"},
    {"s.local_blks_written", "local_blks_written", "COUNTER", "Local blocks written"},
    {"s.temp_blks_read", "temp_blks_read", "COUNTER", "Temp blocks read"},
    {"s.temp_blks_written", "temp_blks_written", "COUNTER", "Temp blocks written"},
    {"s.blk_read_time / 1000", "blk_read_time_seconds", "COUNTER", "Time reading blocks"},
    {"s.blk_write_time / 1000", "blk_write_time_seconds", "COUNTER", "Time writing blocks"},
};

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  if (port == 0) throw std::runtime_error("no free port on 127.0.0.1");
  return port;
}

// Receives a response body; counts its bytes, and with a prefix, the lines starting with it.
struct BodySink {
  int64_t bytes = 0;
  std::string prefix;
  std::string line_start;  // first bytes of the current line, up to prefix.size()
  int64_t matches = 0;

  void Add(const char* data, std::size_t size) {
    bytes += static_cast<int64_t>(size);
    if (prefix.empty()) return;
    for (std::size_t i = 0; i < size; ++i) {
      if (data[i] == '\n') {
        line_start.clear();
      } else if (line_start.size() < prefix.size()) {
        line_start.push_back(data[i]);
        if (line_start.size() == prefix.size() && line_start == prefix) ++matches;
      }
    }
  }
  static std::size_t Write(char* data, std::size_t size, std::size_t count, void* self) {
    static_cast<BodySink*>(self)->Add(data, size * count);
    return size * count;
  }
};

// GET `url`; throws unless the status is 200.
void Get(const std::string& url, bool gzip, BodySink* sink, long timeout_s) {
  const CurlHandle curl(curl_easy_init());
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  // Asked for by hand, so libcurl does not decode: the body counted is the body sent.
  const Slist headers(gzip ? curl_slist_append(nullptr, "Accept-Encoding: gzip") : nullptr);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &BodySink::Write);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, sink);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    throw std::runtime_error("GET " + url + ": " + curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    throw std::runtime_error("GET " + url + ": HTTP status " + std::to_string(status));
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::string ExporterQueriesYaml() {
  std::string select;
  for (const Column& c : kColumns) {
    if (!select.empty()) select += ", ";
    select += c.expression;
    select += " AS ";
    select += c.name;
  }
  std::string yaml = "pg_stat_statements:\n  query: \"SELECT " + select +
                     " FROM pg_stat_statements s JOIN pg_roles r ON s.userid = r.oid"
                     " JOIN pg_database d ON s.dbid = d.oid\"\n"
                     "  master: true\n  metrics:\n";
  for (const Column& c : kColumns) {
    yaml += std::string("    - ") + c.name + ":\n        usage: \"" + c.usage +
            "\"\n        description: \"" + c.description + "\"\n";
  }
  return yaml;
}

std::string ExporterQueryDescription() {
  return "the query of the example query file shipped with the exporter, with PostgreSQL 15's "
         "column names: every entry of the `pg_stat_statements` view joined to `pg_roles` and "
         "`pg_database`, labelled by role, database and queryid, with calls, execution times "
         "(total, min, max, mean, stddev), rows, shared/local/temp block counters and block I/O "
         "times as metrics (19 samples per statement). The query text is not a label: the example "
         "leaves it out, and 200-4000-byte texts on 19 series per statement would multiply the "
         "exporter's output; this is the cheaper choice for the exporter. Reading the view calls "
         "`pg_stat_statements(true)`, so the server still loads the query-text file on every "
         "scrape. Its default collectors and settings metrics stay on, as installed";
}

ExporterProcess::ExporterProcess(const std::string& dir, const std::string& dsn) {
  const std::string queries = dir + "/exporter-queries.yaml";
  {
    std::ofstream out(queries, std::ios::trunc);
    out << ExporterQueriesYaml();
    if (!out) throw std::runtime_error("cannot write " + queries);
  }
  log_path_ = dir + "/exporter.log";
  port_ = FreePort();
  std::string binary = kExporterBinary;
  std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
  std::string query_path = "--extend.query-path=" + queries;
  std::vector<char*> argv = {binary.data(), listen.data(), query_path.data(), nullptr};
  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "DATA_SOURCE_", 12) != 0) env_strings.emplace_back(*entry);
  }
  env_strings.push_back("DATA_SOURCE_NAME=" + dsn);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path_);
  pid_ = fork();
  if (pid_ < 0) {
    close(log_fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(log_fd);

  const auto deadline = std::chrono::steady_clock::now() + kStartDeadline;
  for (;;) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("the exporter exited at start; its log:\n" + ReadFile(log_path_));
    }
    try {
      BodySink sink;
      Get("http://127.0.0.1:" + std::to_string(port_) + "/", false, &sink, 5);
      return;
    } catch (const std::runtime_error&) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("the exporter did not serve within 30 s; its log:\n" +
                                 ReadFile(log_path_));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

ExporterProcess::~ExporterProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kStopDeadline;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string ExporterProcess::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/metrics";
}

double ProcessCpuMs(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const std::size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) {
    throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/stat");
  }
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  // Fields 3..13 (state .. cmajflt), then 14 utime and 15 stime.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double PeakRssMibOf(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return 0;
}

ScrapeTimes Scrape(const std::string& url, pid_t pid) {
  ScrapeTimes out;
  const double cpu_before = ProcessCpuMs(pid);
  const auto start = std::chrono::steady_clock::now();
  BodySink sink;
  Get(url, true, &sink, kScrapeTimeoutS);
  const std::chrono::duration<double, std::milli> wall = std::chrono::steady_clock::now() - start;
  std::this_thread::sleep_for(kSettle);
  out.cpu_ms = ProcessCpuMs(pid) - cpu_before;
  out.wall_ms = wall.count();
  out.bytes = sink.bytes;
  return out;
}

int64_t CountSamples(const std::string& url, const std::string& prefix) {
  BodySink sink;
  sink.prefix = prefix;
  Get(url, false, &sink, kScrapeTimeoutS);
  return sink.matches;
}

}  // namespace optischema::bench
