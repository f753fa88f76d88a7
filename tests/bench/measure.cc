#include "tests/bench/measure.h"

#include <libpq-fe.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "collector/collector.h"
#include "collector/pg_session.h"
#include "collector/stat_reader.h"
#include "core/clock.h"
#include "protocol/snapshot_json.h"
#include "tests/bench/child_process.h"
#include "tests/bench/workload.h"

namespace optischema::bench {
namespace {

// pg_stat_statements as PostgreSQL 15 ships it, installed in schema public.
const collector::ExtensionInfo kPg15Extension{
    .version = "1.10", .major = 1, .minor = 10, .schema = "public"};

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

// Size of `data` compressed to gzip format at level 6. Output goes through a small buffer, so the
// measurement does not add a second payload-sized allocation to the agent's peak RSS.
int64_t GzipSize(const std::string& data) {
  constexpr int kLevel = 6;
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

// Runs workload statements 0..n-1 on `conn`; returns the wall time taken in seconds.
double RunWorkload(PGconn* conn, std::size_t n) {
  const Stopwatch watch;
  ForEachBatch(n, [conn](const std::string& sql) {
    // PQexec returns the last statement's result; an error stops the string there.
    const ResultPtr res(PQexec(conn, sql.c_str()));
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
      throw std::runtime_error("workload failed: " + std::string(PQerrorMessage(conn)));
    }
  });
  return watch.Elapsed().wall_ms / 1e3;
}

// One measured agent cycle.
struct Cycle {
  CycleTimes times;  // Collect() + SnapshotToJson()
  double collect_cpu_ms = 0;
  protocol::Snapshot snapshot;
  std::string json;
};

Cycle RunCycle(collector::Collector& agent) {
  Cycle cycle;
  const Stopwatch watch;
  auto result = agent.Collect();
  cycle.collect_cpu_ms = watch.CpuElapsedMs();
  if (!result.ok()) throw std::runtime_error("Collect: " + result.error().ToString());
  if (!result->has_value()) throw std::runtime_error("Collect returned a baseline, not a snapshot");
  cycle.json = protocol::SnapshotToJson(**result);
  cycle.times = watch.Elapsed();
  cycle.snapshot = std::move(**result);
  return cycle;
}

}  // namespace

FloorResult MeasureFloor(const std::string& dsn, int repeat) {
  return RunInChild<FloorResult>("floor", [&dsn, repeat] {
    FloorResult floor;
    floor.start_rss_mib = PeakRssMib();
    const std::string sql = collector::StatReader(kPg15Extension).StatsSql();
    const Connection conn = Connect(dsn);
    std::vector<CycleTimes> runs;
    for (int r = 0; r < repeat; ++r) {
      const Stopwatch watch;
      const ResultPtr res(PQexec(conn.get(), sql.c_str()));
      runs.push_back(watch.Elapsed());
      if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
        throw std::runtime_error("floor query failed: " + std::string(PQerrorMessage(conn.get())));
      }
      floor.rows = PQntuples(res.get());
    }
    floor.read = Median(runs);
    floor.peak_rss_mib = PeakRssMib();
    return floor;
  });
}

AgentResult MeasureAgent(const std::string& dsn, std::size_t n, int repeat) {
  return RunInChild<AgentResult>("agent", [&dsn, n, repeat] {
    AgentResult out;
    out.start_rss_mib = PeakRssMib();
    const SystemClock clock;
    collector::Collector agent(
        collector::CollectorOptions{.database_name = "postgres"},
        [dsn] {
          collector::ConnectOptions options;
          options.dsn = dsn;
          return collector::ConnectLibpq(options);
        },
        clock);
    const Connection workload = Connect(dsn);

    {
      const Stopwatch watch;
      auto baseline = agent.Collect();
      out.baseline = watch.Elapsed();
      if (!baseline.ok()) throw std::runtime_error("baseline: " + baseline.error().ToString());
      if (baseline->has_value()) throw std::runtime_error("the first Collect was not a baseline");
    }
    out.baseline_rss_mib = PeakRssMib();

    std::vector<double> passes;
    passes.push_back(RunWorkload(workload.get(), n));
    const uint64_t analyzed_before = agent.counters().texts_analyzed;
    out.first = RunCycle(agent).times;
    out.first_texts_analyzed = agent.counters().texts_analyzed - analyzed_before;
    out.first_rss_mib = PeakRssMib();

    const uint64_t reads_before_changed = agent.counters().text_reads;
    std::vector<CycleTimes> changed;
    std::vector<double> collect_cpu;
    std::vector<double> json_cpu;
    for (int r = 0; r < repeat; ++r) {
      passes.push_back(RunWorkload(workload.get(), n));
      const Cycle cycle = RunCycle(agent);
      changed.push_back(cycle.times);
      collect_cpu.push_back(cycle.collect_cpu_ms);
      json_cpu.push_back(cycle.times.cpu_ms - cycle.collect_cpu_ms);
      out.changed_statements = cycle.snapshot.sampling.changed_statements;
      out.sent_statements = static_cast<int64_t>(cycle.snapshot.statements.size());
      out.json_bytes = static_cast<int64_t>(cycle.json.size());
      out.gzip_bytes = GzipSize(cycle.json);
    }
    out.changed = Median(changed);
    out.changed_collect_cpu_ms = Median(std::move(collect_cpu));
    out.changed_json_cpu_ms = Median(std::move(json_cpu));
    out.changed_text_reads = agent.counters().text_reads - reads_before_changed;
    out.changed_rss_mib = PeakRssMib();

    const uint64_t reads_before_steady = agent.counters().text_reads;
    std::vector<CycleTimes> steady;
    for (int r = 0; r < repeat; ++r) steady.push_back(RunCycle(agent).times);
    out.steady = Median(steady);
    out.steady_text_reads = agent.counters().text_reads - reads_before_steady;

    out.workload_pass_s = Median(std::move(passes));
    out.text_read_failures = agent.counters().text_read_failures;
    if (const auto& error = agent.last_text_read_error(); error) {
      const std::string message = error->ToString();
      message.copy(out.last_text_read_error,
                   std::min(message.size(), sizeof out.last_text_read_error - 1));
    }
    out.peak_rss_mib = PeakRssMib();
    return out;
  });
}

}  // namespace optischema::bench
