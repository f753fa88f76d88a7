#include "tests/bench/measure.h"

#include <libpq-fe.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "collector/collector.h"
#include "collector/stat_reader.h"
#include "pg/pg_session.h"
#include "protocol/snapshot_json.h"
#include "tests/bench/child_process.h"
#include "tests/bench/exporter.h"
#include "tests/bench/workload.h"
#include "tests/support/manual_clock.h"

namespace optischema::bench {
namespace {

// The agent's interval, and its pause before a churn cycle so that its text read is due.
constexpr auto kInterval = std::chrono::seconds(30);
constexpr auto kTextRefresh = std::chrono::minutes(5);

constexpr double kKibPerMib = 1024.0;

double CpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

// ru_maxrss of this process so far.
double PeakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / kKibPerMib;  // Linux reports KiB
}

// CPU and wall time since construction.
class Stopwatch {
 public:
  Stopwatch() : cpu_ms_(CpuMs()), wall_(std::chrono::steady_clock::now()) {}

  double CpuElapsedMs() const { return CpuMs() - cpu_ms_; }
  CycleTimes Elapsed() const {
    const double cpu = CpuElapsedMs();
    const std::chrono::duration<double, std::milli> wall = std::chrono::steady_clock::now() - wall_;
    return {cpu, wall.count()};
  }

 private:
  double cpu_ms_;
  std::chrono::steady_clock::time_point wall_;
};

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

CycleTimes Median(const std::vector<CycleTimes>& cycles) {
  std::vector<double> cpu;
  std::vector<double> wall;
  for (const CycleTimes& c : cycles) {
    cpu.push_back(c.cpu_ms);
    wall.push_back(c.wall_ms);
  }
  return {Median(std::move(cpu)), Median(std::move(wall))};
}

// Size of `data` compressed to gzip format at the level of the agent's spool (agent/spool.cc).
// Output goes through a small buffer, as in the spool, so the measurement does not add a second
// payload-sized allocation to the agent's peak RSS.
int64_t GzipSize(const std::string& data) {
  constexpr int kLevel = 3;
  constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip header and trailer
  constexpr int kMemLevel = 8;
  z_stream stream{};
  if (deflateInit2(&stream, kLevel, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::vector<Bytef> buffer(64 * 1024);
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = buffer.data();
    stream.avail_out = static_cast<uInt>(buffer.size());
    rc = deflate(&stream, Z_FINISH);
  }
  const auto size = static_cast<int64_t>(stream.total_out);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return size;
}

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using Connection = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
  void operator()(PGresult* res) const { PQclear(res); }
};
using ResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

Connection Connect(const std::string& dsn) {
  Connection conn(PQconnectdb(dsn.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect: " +
                             std::string(conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  return conn;
}

// Runs workload statements begin..end-1 on `conn`; returns the wall time taken in seconds.
double RunWorkload(PGconn* conn, std::size_t begin, std::size_t end) {
  const Stopwatch watch;
  ForEachBatch(begin, end, [conn](const std::string& sql) {
    // PQexec returns the last statement's result; an error stops the string there.
    const ResultPtr res(PQexec(conn, sql.c_str()));
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
      throw std::runtime_error("workload failed: " + std::string(PQerrorMessage(conn)));
    }
  });
  return watch.Elapsed().wall_ms / 1e3;
}

// Growth of one role's database time in pg_stat_statements, read through `admin`.
class RoleDbTime {
 public:
  RoleDbTime(PGconn* admin, std::string role) : admin_(admin), role_(std::move(role)) {}

  // Cumulative sum(total_exec_time + total_plan_time) and sum(calls) of the role's entries.
  DbTime Read() const {
    const std::string sql =
        "SELECT coalesce(sum(total_exec_time + total_plan_time), 0)::float8, "
        "coalesce(sum(calls), 0)::float8 FROM pg_stat_statements(false) WHERE userid = "
        "to_regrole('" +
        role_ + "')::oid";
    const ResultPtr res(PQexec(admin_, sql.c_str()));
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK || PQntuples(res.get()) != 1) {
      throw std::runtime_error("reading database time: " + std::string(PQerrorMessage(admin_)));
    }
    return {std::stod(PQgetvalue(res.get(), 0, 0)), std::stod(PQgetvalue(res.get(), 0, 1))};
  }

 private:
  PGconn* admin_;
  std::string role_;
};

DbTime Minus(const DbTime& after, const DbTime& before) {
  return {after.ms - before.ms, after.calls - before.calls};
}

DbTime Mean(const std::vector<DbTime>& values) {
  DbTime sum;
  for (const DbTime& v : values) {
    sum.ms += v.ms;
    sum.calls += v.calls;
  }
  const auto n = static_cast<double>(std::max<std::size_t>(1, values.size()));
  return {sum.ms / n, sum.calls / n};
}

// One measured agent cycle.
struct Cycle {
  CycleTimes times;  // Collect() + SnapshotToJson() + gzip
  double collect_cpu_ms = 0;
  protocol::Snapshot snapshot;
  int64_t json_bytes = 0;
  int64_t gzip_bytes = 0;
};

Cycle RunCycle(collector::Collector& agent) {
  Cycle cycle;
  const Stopwatch watch;
  auto result = agent.Collect();
  cycle.collect_cpu_ms = watch.CpuElapsedMs();
  if (!result.ok()) throw std::runtime_error("Collect: " + result.error().ToString());
  if (!result->has_value()) throw std::runtime_error("Collect returned a baseline, not a snapshot");
  const std::string json = protocol::SnapshotToJson(**result);
  cycle.gzip_bytes = GzipSize(json);
  cycle.times = watch.Elapsed();
  cycle.json_bytes = static_cast<int64_t>(json.size());
  cycle.snapshot = std::move(**result);
  return cycle;
}

// One scrape of the exporter from a process of its own, so the HTTP client's memory does not
// count in the agent's peak RSS.
ScrapeTimes ScrapeFromChild(const Endpoints& endpoints) {
  return RunInChild<ScrapeTimes>("exporter scrape", [&endpoints] {
    return Scrape(endpoints.exporter_url, endpoints.exporter_pid);
  });
}

// `repeat` cycles of one scenario: before cycle r (1-based) `prepare(r)` runs the workload; then
// the agent's cycle and the exporter's scrape are measured, each with its role's database time.
ScenarioResult RunScenario(collector::Collector& agent, PGconn* admin, const Endpoints& endpoints,
                           int repeat, const std::function<void(int)>& prepare) {
  ScenarioResult out;
  const RoleDbTime agent_db(admin, endpoints.agent_role);
  const RoleDbTime exporter_db(admin, endpoints.exporter_role);
  const uint64_t analyzed_before = agent.counters().texts_analyzed;
  const uint64_t reads_before = agent.counters().text_reads;
  std::vector<CycleTimes> cycles;
  std::vector<double> collect_cpu;
  std::vector<double> json_cpu;
  std::vector<DbTime> agent_dbs;
  std::vector<double> scrape_cpu;
  std::vector<double> scrape_wall;
  std::vector<double> scrape_bytes;
  std::vector<DbTime> exporter_dbs;
  for (int r = 1; r <= repeat; ++r) {
    prepare(r);
    const DbTime before = agent_db.Read();
    const Cycle cycle = RunCycle(agent);
    agent_dbs.push_back(Minus(agent_db.Read(), before));
    cycles.push_back(cycle.times);
    collect_cpu.push_back(cycle.collect_cpu_ms);
    json_cpu.push_back(cycle.times.cpu_ms - cycle.collect_cpu_ms);
    out.changed_statements = cycle.snapshot.sampling.changed_statements;
    out.sent_statements = static_cast<int64_t>(cycle.snapshot.statements.size());
    out.texts_sent =
        std::count_if(cycle.snapshot.statements.begin(), cycle.snapshot.statements.end(),
                      [](const protocol::StatementMetrics& s) { return s.include_text; });
    out.json_bytes = cycle.json_bytes;
    out.gzip_bytes = cycle.gzip_bytes;
    if (!endpoints.exporter_url.empty() && r > repeat - endpoints.exporter_scrapes) {
      const DbTime x_before = exporter_db.Read();
      const ScrapeTimes scrape = ScrapeFromChild(endpoints);
      exporter_dbs.push_back(Minus(exporter_db.Read(), x_before));
      scrape_cpu.push_back(scrape.cpu_ms);
      scrape_wall.push_back(scrape.wall_ms);
      scrape_bytes.push_back(static_cast<double>(scrape.bytes));
    }
  }
  out.agent = Median(cycles);
  out.agent_collect_cpu_ms = Median(std::move(collect_cpu));
  out.agent_json_cpu_ms = Median(std::move(json_cpu));
  out.agent_db = Mean(agent_dbs);
  out.texts_analyzed = agent.counters().texts_analyzed - analyzed_before;
  out.text_reads = agent.counters().text_reads - reads_before;
  // The exporter's CPU comes in clock ticks (10 ms): the mean over the scrapes resolves better.
  double cpu_sum = 0;
  for (double v : scrape_cpu) cpu_sum += v;
  out.exporter.cpu_ms = scrape_cpu.empty() ? 0 : cpu_sum / static_cast<double>(scrape_cpu.size());
  out.exporter.wall_ms = Median(std::move(scrape_wall));
  out.exporter.bytes = static_cast<int64_t>(Median(std::move(scrape_bytes)));
  out.exporter_db = Mean(exporter_dbs);
  return out;
}

}  // namespace

FloorResult MeasureFloor(const std::string& dsn, const std::string& admin_dsn, int repeat,
                         const char* sql) {
  return RunInChild<FloorResult>("floor", [&dsn, &admin_dsn, repeat, sql] {
    FloorResult floor;
    floor.start_rss_mib = PeakRssMib();
    const Connection conn = Connect(dsn);
    const Connection admin = Connect(admin_dsn);
    const std::string role = PQuser(conn.get());
    const RoleDbTime db(admin.get(), role);
    std::vector<CycleTimes> runs;
    std::vector<DbTime> dbs;
    for (int r = 0; r < repeat; ++r) {
      const DbTime before = db.Read();
      const Stopwatch watch;
      const ResultPtr res(PQexec(conn.get(), sql));
      runs.push_back(watch.Elapsed());
      if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
        throw std::runtime_error("floor query failed: " + std::string(PQerrorMessage(conn.get())));
      }
      dbs.push_back(Minus(db.Read(), before));
      floor.rows = PQntuples(res.get());
    }
    floor.read = Median(runs);
    floor.db = Mean(dbs);
    floor.peak_rss_mib = PeakRssMib();
    return floor;
  });
}

AgentResult MeasureAgent(const Endpoints& endpoints, std::size_t n, int repeat) {
  return RunInChild<AgentResult>("agent", [&endpoints, n, repeat] {
    AgentResult out;
    out.start_rss_mib = PeakRssMib();
    testing::ManualClock clock;
    const std::string dsn = endpoints.agent_dsn;
    collector::Collector agent(
        collector::CollectorOptions{.database_name = "postgres",
                                    .text_refresh_interval = kTextRefresh},
        [dsn] {
          pg::ConnectOptions options;
          options.dsn = dsn;
          return pg::ConnectLibpq(options);
        },
        clock);
    const Connection admin = Connect(endpoints.admin_dsn);

    {
      const Stopwatch watch;
      auto baseline = agent.Collect();
      out.baseline = watch.Elapsed();
      if (!baseline.ok()) throw std::runtime_error("baseline: " + baseline.error().ToString());
      if (baseline->has_value()) throw std::runtime_error("the first Collect was not a baseline");
    }
    out.baseline_rss_mib = PeakRssMib();

    std::vector<double> passes;
    passes.push_back(RunWorkload(admin.get(), 0, n));
    clock.Advance(kInterval);
    const uint64_t analyzed_before = agent.counters().texts_analyzed;
    out.first = RunCycle(agent).times;
    out.first_texts_analyzed = agent.counters().texts_analyzed - analyzed_before;
    out.first_rss_mib = PeakRssMib();

    if (!endpoints.exporter_url.empty()) {
      // Its first scrape connects and discovers the server: not measured, but it shows that the
      // custom query works (one pg_stat_statements_calls sample per entry).
      out.exporter_samples = RunInChild<int64_t>("exporter scrape", [&endpoints] {
        return CountSamples(endpoints.exporter_url, "pg_stat_statements_calls{");
      });
    }

    out.steady = RunScenario(agent, admin.get(), endpoints, repeat, [&](int) {
      passes.push_back(RunWorkload(admin.get(), 0, n));
      clock.Advance(kInterval);
    });
    out.steady_rss_mib = PeakRssMib();

    const uint64_t reads_before_idle = agent.counters().text_reads;
    std::vector<CycleTimes> idle;
    for (int r = 0; r < repeat; ++r) {
      clock.Advance(kInterval);
      idle.push_back(RunCycle(agent).times);
    }
    out.idle = Median(idle);
    out.idle_text_reads = agent.counters().text_reads - reads_before_idle;

    const std::size_t step = std::max<std::size_t>(1, n / 10);
    out.churn = RunScenario(agent, admin.get(), endpoints, repeat, [&](int k) {
      const std::size_t begin = static_cast<std::size_t>(k) * step;
      RunWorkload(admin.get(), begin, begin + n);
      // Text reads happen at most every text_refresh_interval: every churn cycle gets one.
      clock.Advance(kTextRefresh);
    });

    out.workload_pass_s = Median(std::move(passes));
    out.text_read_failures = agent.counters().text_read_failures;
    if (const auto& error = agent.last_text_read_error(); error) {
      const std::string message = error->ToString();
      message.copy(out.last_text_read_error,
                   std::min(message.size(), sizeof out.last_text_read_error - 1));
    }
    out.peak_rss_mib = PeakRssMib();
    if (endpoints.exporter_pid > 0)
      out.exporter_peak_rss_mib = PeakRssMibOf(endpoints.exporter_pid);
    return out;
  });
}

}  // namespace optischema::bench
