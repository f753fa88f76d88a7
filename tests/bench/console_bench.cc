// console_bench: the console's server time for its two data pages, the overview and the statement
// page, on the store a fleet leaves after a week (console_fleet.h: by default 20 agents × 7 days
// of 30-s snapshots of 200 statements each), with a logged-in viewer's session, through
// Console::Handle (no HTTP, no TLS: what the server spends between parsing a request and writing
// its reply). Prints the population, the store's size, per page p50/p95/max against two floors
// measured in the same run, a breakdown of each page into the store calls it makes, and PASS or
// MISS against p95 <= --target-ms per page.
// Exits 0 when everything was measured, whatever the verdicts; 1 on failure; 2 on a bad command
// line.

#include <sqlite3.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/console.h"
#include "controlplane/console_auth.h"
#include "controlplane/console_recommendation_view.h"
#include "controlplane/store.h"
#include "controlplane/user_management.h"
#include "protocol/sha256.h"
#include "tests/bench/child_process.h"
#include "tests/bench/console_fleet.h"
#include "tests/bench/machine.h"

namespace optischema::bench {
namespace {

namespace cp = optischema::controlplane;
namespace fs = std::filesystem;

constexpr char kViewer[] = "bench-viewer";
constexpr char kPassword[] = "a benchmark password";
constexpr char kSpecFile[] = "console_bench.spec";
constexpr int kWarmup = 5;
// What the measured pages must show: a link from the top statements, a chart with data (the
// first series of the first chart).
constexpr char kTopStatementLink[] = "<a href=\"/statement?agent=";
constexpr char kChart[] = "data-chart=\"{&quot;datasets&quot;:[{&quot;data&quot;:[";
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 24 * kHour;

struct Options {
  FleetSpec fleet;
  int requests = 200;
  double target_ms = 100;
  std::string data_dir;  // empty: a temporary directory
};

void Progress(const std::string& message) {
  static const auto start = std::chrono::steady_clock::now();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  std::cerr << "[" << static_cast<int64_t>(elapsed.count()) << "s] " << message << std::endl;
}

template <class R>
void Check(const R& result, const std::string& what) {
  if (!result.ok()) throw std::runtime_error(what + ": " + result.error().ToString());
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// 1234567 → "1,234,567".
std::string Thousands(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<std::size_t>(i), ",");
  }
  return (v < 0 ? "-" : "") + digits;
}

std::string Mib(double bytes) { return Fixed(bytes / (1 << 20), 1) + " MiB"; }

// Milliseconds with 3 significant digits, at most 2 decimals.
std::string Ms(double ms) { return Fixed(ms, ms < 10 ? 2 : ms < 100 ? 1 : 0); }

// The fleet's options as one line: a kept data directory is reused only for the same line.
std::string SpecLine(const FleetSpec& s) {
  return "agents=" + std::to_string(s.agents) + " statements=" + std::to_string(s.statements) +
         " days=" + std::to_string(s.days) + " interval_s=" + std::to_string(s.interval_s) +
         " heartbeat_interval_s=" + std::to_string(s.heartbeat_interval_s) +
         " advice_interval_s=" + std::to_string(s.advice_interval_s) +
         " indexes=" + std::to_string(s.indexes_per_database) +
         " recommendations=" + std::to_string(s.recommendations) +
         " seed=" + std::to_string(s.seed) + " now_s=" + std::to_string(s.now_s);
}

// ---- Timing ----

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Samples {
  std::vector<double> wall_ms;
  std::vector<double> cpu_ms;
  std::vector<double> bytes;

  // Nearest rank.
  static double Percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
  }
  double P(double p) const { return Percentile(wall_ms, p); }
  double Max() const {
    return wall_ms.empty() ? 0 : *std::max_element(wall_ms.begin(), wall_ms.end());
  }
  double CpuP(double p) const { return Percentile(cpu_ms, p); }
  double MeanBytes() const {
    double sum = 0;
    for (double b : bytes) sum += b;
    return bytes.empty() ? 0 : sum / static_cast<double>(bytes.size());
  }
};

// Runs `body` and records its wall and thread CPU time; `body` returns the bytes it produced.
void Time(Samples& samples, const std::function<std::size_t()>& body) {
  const double cpu = ThreadCpuMs();
  const auto start = std::chrono::steady_clock::now();
  const std::size_t bytes = body();
  const std::chrono::duration<double, std::milli> wall = std::chrono::steady_clock::now() - start;
  samples.wall_ms.push_back(wall.count());
  samples.cpu_ms.push_back(ThreadCpuMs() - cpu);
  samples.bytes.push_back(static_cast<double>(bytes));
}

// ---- The store's size, read on a connection of our own ----

struct StoreSize {
  std::vector<std::pair<std::string, int64_t>> rows;  // "table (what)" → rows
  int64_t db_bytes = 0;
  int64_t wal_bytes = 0;
};

StoreSize MeasureStore(const std::string& data_dir) {
  const std::string path = data_dir + "/" + cp::kDatabaseFileName;
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const std::string message = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close_v2(raw);
    throw std::runtime_error("cannot open " + path + ": " + message);
  }
  const std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, &sqlite3_close_v2);
  const auto count = [&db](const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db.get()));
    }
    const int rc = sqlite3_step(statement);
    const int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : -1;
    sqlite3_finalize(statement);
    if (n < 0) throw std::runtime_error(sql + ": " + sqlite3_errmsg(db.get()));
    return n;
  };
  StoreSize size;
  for (const char* table : {"statement_series", "database_series"}) {
    for (const auto& [name, resolution] : {std::pair{"minute", 60}, std::pair{"hour", 3600}}) {
      size.rows.emplace_back(std::string(table) + " (" + name + " buckets)",
                             count(std::string("SELECT count(*) FROM ") + table +
                                   " WHERE resolution = " + std::to_string(resolution)));
    }
  }
  for (const char* table :
       {"statements", "databases", "agents", "heartbeats", "recommendations", "snapshots"}) {
    size.rows.emplace_back(table, count(std::string("SELECT count(*) FROM ") + table));
  }
  std::error_code ec;
  size.db_bytes = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) size.db_bytes = 0;
  size.wal_bytes = static_cast<int64_t>(fs::file_size(path + "-wal", ec));
  if (ec) size.wal_bytes = 0;
  return size;
}

// ---- The measured requests ----

struct Target {
  std::string agent_id;
  std::string database;
  std::string queryid;
};

class Harness {
 public:
  Harness(cp::Store& store, const cp::Console& console, std::string cookie, int64_t now_s)
      : store_(store), console_(console), cookie_(std::move(cookie)), now_s_(now_s) {}

  // Console::Handle of a GET; throws unless the reply has `status` and holds `must_hold`
  // followed by anything but ']'.
  std::size_t Get(const std::string& path, std::map<std::string, std::string> query,
                  int status = 200, const std::string& must_hold = "") const {
    const cp::WebRequest request{"GET",   path, std::move(query),  {},
                                 cookie_, "",   "cp.example:8443", "192.0.2.10"};
    const cp::ApiReply reply = console_.Handle(request);
    if (reply.status != status) {
      throw std::runtime_error("GET " + path + " answered " + std::to_string(reply.status) +
                               " instead of " + std::to_string(status) + ": " +
                               reply.body.substr(0, 300));
    }
    // Followed by something: a chart's data must not be empty.
    const std::size_t at = reply.body.find(must_hold);
    if (at == std::string::npos || at + must_hold.size() >= reply.body.size() ||
        reply.body[at + must_hold.size()] == ']') {
      throw std::runtime_error("GET " + path + ": the page lacks " + must_hold + "...");
    }
    return reply.body.size();
  }

  static std::map<std::string, std::string> StatementQuery(const Target& t,
                                                           const std::string& range) {
    return {
        {"agent", t.agent_id}, {"database", t.database}, {"queryid", t.queryid}, {"range", range}};
  }

  cp::Store& store() const { return store_; }
  int64_t now_s() const { return now_s_; }

 private:
  cp::Store& store_;
  const cp::Console& console_;
  const std::string cookie_;
  const int64_t now_s_;
};

// One kind of measured request: a page, or a floor.
struct Measured {
  std::string name;
  std::function<std::size_t(const Target&)> run;
  Samples samples;
};

template <class R>
std::size_t Rows(const R& result, const std::string& what) {
  Check(result, what);
  return result->size();
}

// The pages and their floors, measured round-robin (one request of each per round) so that the
// machine's load moves all of them alike.
struct PageRuns {
  std::vector<Measured> pages;
  std::vector<Measured> floors;
  std::vector<Measured> calls;  // the breakdown: store calls as the pages make them
};

PageRuns MakeRuns(const Harness& h, cp::ConsoleAuth& auth, const std::string& session_id) {
  cp::Store& store = h.store();
  const int64_t now = h.now_s();
  const int64_t day_ago = now - kDay;
  const int64_t week_ago = now - 7 * kDay;
  const auto hour_floor = [](int64_t s) { return s - s % kHour; };
  PageRuns runs;
  runs.pages = {
      {"GET /overview (default database, 24h)",
       [&h](const Target&) { return h.Get("/overview", {}, 200, kTopStatementLink); },
       {}},
      {"GET /overview?range=7d (random agent)",
       [&h](const Target& t) {
         return h.Get("/overview",
                      {{"agent", t.agent_id}, {"database", t.database}, {"range", "7d"}}, 200,
                      kTopStatementLink);
       },
       {}},
      {"GET /statement?range=24h (random)",
       [&h](const Target& t) {
         return h.Get("/statement", Harness::StatementQuery(t, "24h"), 200, kChart);
       },
       {}},
      {"GET /statement?range=7d (random)",
       [&h](const Target& t) {
         return h.Get("/statement", Harness::StatementQuery(t, "7d"), 200, kChart);
       },
       {}},
  };
  runs.floors = {
      {"session + routing: GET /no-such-page (404)",
       [&h](const Target&) { return h.Get("/no-such-page", {}, 404); },
       {}},
      {"Store::DatabaseSeries, 24 h of minute rows",
       [&store, day_ago](const Target& t) {
         return Rows(store.DatabaseSeries(t.agent_id, t.database, cp::Resolution::kMinute, day_ago),
                     "DatabaseSeries");
       },
       {}},
      {"Store::DatabaseSeries, 7 d of hour rows",
       [&store, week_ago](const Target& t) {
         return Rows(store.DatabaseSeries(t.agent_id, t.database, cp::Resolution::kHour, week_ago),
                     "DatabaseSeries");
       },
       {}},
      {"Store::StatementSeries, 24 h of minute rows",
       [&store, day_ago](const Target& t) {
         return Rows(store.StatementSeries(t.agent_id, t.database, t.queryid,
                                           cp::Resolution::kMinute, day_ago),
                     "StatementSeries");
       },
       {}},
      {"Store::StatementSeries, 7 d of hour rows",
       [&store, week_ago](const Target& t) {
         return Rows(store.StatementSeries(t.agent_id, t.database, t.queryid, cp::Resolution::kHour,
                                           week_ago),
                     "StatementSeries");
       },
       {}},
  };
  runs.calls = {
      {"ConsoleAuth::Authenticate (every page: GetSession, GetUser, TouchSession)",
       [&auth, &session_id](const Target&) {
         auto session = auth.Authenticate(session_id);
         Check(session, "Authenticate");
         if (!*session) throw std::runtime_error("the viewer's session ended");
         return std::size_t{1};
       },
       {}},
      {"Store::TouchSession alone (a write transaction)",
       [&store, now, key = protocol::Sha256Hex(session_id)](const Target&) {
         Check(store.TouchSession(key, now), "TouchSession");
         return std::size_t{1};
       },
       {}},
      {"Store::ListAgents (overview)",
       [&store](const Target&) {
         return Rows(store.ListAgents(/*count_heartbeats=*/false), "ListAgents");
       },
       {}},
      {"Store::ListDatabases (overview; statement via LoadAdvice)",
       [&store](const Target&) { return Rows(store.ListDatabases(), "ListDatabases"); },
       {}},
      {"Store::DatabaseSeries, last hour of minutes (overview, x databases + 1)",
       [&store, now](const Target& t) {
         return Rows(
             store.DatabaseSeries(t.agent_id, t.database, cp::Resolution::kMinute, now - kHour),
             "DatabaseSeries");
       },
       {}},
      {"Store::TopStatements, 24 h (overview)",
       [&store, day_ago, hour_floor](const Target& t) {
         return Rows(store.TopStatements(t.agent_id, t.database, hour_floor(day_ago), 15),
                     "TopStatements");
       },
       {}},
      {"Store::TopStatements, 7 d (overview 7d)",
       [&store, week_ago, hour_floor](const Target& t) {
         return Rows(store.TopStatements(t.agent_id, t.database, hour_floor(week_ago), 15),
                     "TopStatements");
       },
       {}},
      {"Store::GetStatementInfo (statement)",
       [&store](const Target& t) {
         auto info = store.GetStatementInfo(t.agent_id, t.database, t.queryid);
         Check(info, "GetStatementInfo");
         return std::size_t{info->has_value() ? 1u : 0u};
       },
       {}},
      {"LoadRecommendations(agent) (statement)",
       [&store](const Target& t) {
         return Rows(cp::LoadRecommendations(store, t.agent_id), "LoadRecommendations");
       },
       {}},
  };
  return runs;
}

// A random agent and one of its statements per request, the same sequence for every kind.
std::vector<Target> Targets(const Fleet& fleet, int n, uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x5eed);
  std::uniform_int_distribution<std::size_t> agent(0, fleet.agents.size() - 1);
  std::vector<Target> targets;
  for (int i = 0; i < n + kWarmup; ++i) {
    const FleetAgent& a = fleet.agents[agent(rng)];
    std::uniform_int_distribution<std::size_t> statement(0, a.statements.size() - 1);
    targets.push_back({a.agent_id, a.database, a.statements[statement(rng)].queryid});
  }
  return targets;
}

void MeasureRoundRobin(std::vector<Measured*> kinds, const std::vector<Target>& targets) {
  for (std::size_t i = 0; i < targets.size(); ++i) {
    for (Measured* kind : kinds) {
      if (i < static_cast<std::size_t>(kWarmup)) {
        kind->run(targets[i]);
      } else {
        Time(kind->samples, [&] { return kind->run(targets[i]); });
      }
    }
  }
}

// ---- Report ----

std::string Row(const std::vector<std::string>& cells) {
  std::string line = "|";
  for (const std::string& c : cells) line += " " + c + " |";
  return line + "\n";
}

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      // Count UTF-8 characters, not bytes, for × and ≤.
      std::size_t chars = 0;
      for (unsigned char c : row[i]) chars += (c & 0xc0) != 0x80;
      width[i] = std::max(width[i], chars);
    }
  }
  const auto pad = [&width](const std::vector<std::string>& cells, bool left_first) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      std::size_t chars = 0;
      for (unsigned char c : cells[i]) chars += (c & 0xc0) != 0x80;
      const std::string fill(width[i] - std::min(width[i], chars), ' ');
      out.push_back(i == 0 && left_first ? cells[i] + fill : fill + cells[i]);
    }
    return out;
  };
  std::string text = Row(pad(header, true));
  std::vector<std::string> rule;
  for (std::size_t i = 0; i < width.size(); ++i) {
    rule.push_back(i == 0 ? std::string(width[i], '-') : std::string(width[i] - 1, '-') + ":");
  }
  text += Row(rule);
  for (const auto& row : rows) text += Row(pad(row, true));
  return text;
}

int Run(const Options& options) {
  std::unique_ptr<TempDir> temp;
  std::string data_dir = options.data_dir;
  if (data_dir.empty()) {
    temp = std::make_unique<TempDir>("optischema-console-bench");
    data_dir = temp->path() + "/data";
  }
  const Fleet fleet = MakeFleet(options.fleet);
  const std::string spec_line = SpecLine(options.fleet);
  const std::string spec_path = data_dir + "/" + kSpecFile;
  std::string population;  // what the run that populated the store reported
  {
    std::ifstream in(spec_path);
    std::string line;
    if (std::getline(in, line) && line == spec_line) std::getline(in, population);
  }
  const bool reuse = !population.empty();
  if (!reuse && fs::exists(data_dir + "/" + cp::kDatabaseFileName)) {
    throw std::runtime_error(data_dir +
                             " holds a store this run did not make with these options; "
                             "name an empty or new directory");
  }

  SettableClock clock;
  clock.SetUnixSeconds(options.fleet.now_s);
  auto opened = cp::Store::Open(data_dir, cp::Store::OpenMode::kCreate, clock);
  Check(opened, "opening the store");
  cp::Store& store = **opened;

  if (!reuse) {
    Progress("populating " + data_dir + ": " + spec_line);
    const PopulationStats stats = PopulateStore(fleet, store, clock, Progress);
    population = "populated in " + Fixed(stats.total_s, 0) +
                 " s: " + Thousands(stats.sample_calls) + " AddSeriesSamples calls (" +
                 Fixed(stats.hours_s, 0) + " s for the hour samples of days 1-" +
                 std::to_string(options.fleet.days - 1) + ", " + Fixed(stats.minutes_s, 0) +
                 " s for the last 24 h), " + Thousands(stats.heartbeats) + " heartbeats (" +
                 Fixed(stats.heartbeats_s, 0) + " s of the above), PruneSeries " +
                 Fixed(stats.prune_s, 1) + " s (" + Thousands(stats.pruned_rows) + " rows deleted)";
    std::ofstream out(spec_path, std::ios::trunc);
    out << spec_line << "\n" << population << "\n";
  } else {
    population = "reused from " + data_dir + ", " + population;
  }
  clock.SetUnixSeconds(options.fleet.now_s);
  Progress("measuring the store's size");
  const StoreSize size = MeasureStore(data_dir);

  // A viewer's session, as a browser holds it.
  if (Status st = cp::CreateUser(store, kViewer, cp::Role::kViewer, kPassword, "bench", "cli");
      !st.ok() && st.error().code != ErrorCode::kInvalidArgument) {
    Check(st, "CreateUser");
  }
  cp::ConsoleAuth auth(store, clock);
  auto login = auth.Login({kViewer, kPassword, "", "192.0.2.10"});
  Check(login, "Login");
  if (!login->ok) throw std::runtime_error("login refused: " + login->refusal);
  const cp::Console console(store, cp::ConsoleOptions{data_dir, {}, ""}, clock);
  const Harness harness(store, console,
                        std::string(cp::kSessionCookieName) + "=" + login->session_id,
                        options.fleet.now_s);

  PageRuns runs = MakeRuns(harness, auth, login->session_id);
  const std::vector<Target> targets = Targets(fleet, options.requests, options.fleet.seed);
  Progress("measuring " + std::to_string(options.requests) + " requests of each page and floor");
  std::vector<Measured*> kinds;
  for (Measured& m : runs.pages) kinds.push_back(&m);
  for (Measured& m : runs.floors) kinds.push_back(&m);
  MeasureRoundRobin(kinds, targets);
  Progress("breakdown: the pages' store calls");
  kinds.clear();
  for (Measured& m : runs.calls) kinds.push_back(&m);
  MeasureRoundRobin(
      kinds, std::vector<Target>(targets.begin(),
                                 targets.begin() + kWarmup + std::max(1, options.requests / 4)));

  // ---- Print ----
  const FleetSpec& spec = options.fleet;
  std::cout << "\nConsole server time: " << spec.agents << " agents x " << spec.days << " days of "
            << spec.interval_s << "-s snapshots of " << spec.statements
            << " statements each, SQLite; " << DescribeMachine() << ", load " << LoadAverage()
            << "\n\nStore: " << population << ".\n";
  std::vector<std::vector<std::string>> size_rows;
  for (const auto& [name, rows] : size.rows) size_rows.push_back({name, Thousands(rows)});
  size_rows.push_back(
      {"file " + std::string(cp::kDatabaseFileName), Mib(static_cast<double>(size.db_bytes))});
  size_rows.push_back({"file " + std::string(cp::kDatabaseFileName) + "-wal",
                       Mib(static_cast<double>(size.wal_bytes))});
  std::cout << "\n" << Table({"table", "rows"}, size_rows);

  // Which floor each page is compared with: the data its chart needs, read alone.
  const std::size_t floor_of[] = {1, 2, 3, 4};
  std::vector<std::vector<std::string>> page_rows;
  for (std::size_t i = 0; i < runs.pages.size(); ++i) {
    const Samples& s = runs.pages[i].samples;
    const Measured& floor = runs.floors[floor_of[i]];
    const double fixed = runs.floors[0].samples.P(0.5);
    page_rows.push_back({runs.pages[i].name, std::to_string(s.wall_ms.size()), Ms(s.P(0.5)),
                         Ms(s.P(0.95)), Ms(s.Max()), Ms(s.CpuP(0.5)), Ms(s.CpuP(0.95)),
                         Fixed(s.MeanBytes() / 1024, 0), Ms(fixed),
                         Ms(fixed + floor.samples.P(0.5)),
                         Fixed(s.P(0.5) / (fixed + floor.samples.P(0.5)), 1) + "x",
                         s.P(0.95) <= options.target_ms ? "PASS" : "MISS"});
  }
  std::cout << "\n"
            << Table({"page", "requests", "p50 ms", "p95 ms", "max ms", "cpu p50 ms", "cpu p95 ms",
                      "reply KiB", "fixed floor ms", "floor ms", "p50 / floor",
                      "p95 <= " + Fixed(options.target_ms, 0) + " ms"},
                     page_rows);
  std::vector<std::vector<std::string>> floor_rows;
  for (const Measured& m : runs.floors) {
    const Samples& s = m.samples;
    floor_rows.push_back({m.name, Ms(s.P(0.5)), Ms(s.P(0.95)), Ms(s.Max()), Ms(s.CpuP(0.5)),
                          Fixed(s.MeanBytes(), 0)});
  }
  std::cout << "\nFloors, measured in the same rounds as the pages:\n"
            << Table({"floor", "p50 ms", "p95 ms", "max ms", "cpu p50 ms", "rows or bytes"},
                     floor_rows)
            << "\n*fixed floor*: what every page pays before its own work (session look-up, the "
               "session's last-request write, routing, the page frame), measured as a 404 page "
               "with the same session. *floor* = fixed floor + the one indexed read of the rows "
               "the page's main chart draws (its database's series for the overview, the "
               "statement's for the statement page, at the page's resolution): a page cannot "
               "cost less than that; *p50 / floor* is how much more it costs. *cpu*: the "
               "thread's CPU time; a wall time well above it is time spent waiting (for the "
               "CPU, shared with the machine's other work, or for I/O), not working.\n";

  std::vector<std::vector<std::string>> call_rows;
  for (const Measured& m : runs.calls) {
    const Samples& s = m.samples;
    call_rows.push_back({m.name, std::to_string(s.wall_ms.size()), Ms(s.P(0.5)), Ms(s.P(0.95)),
                         Ms(s.CpuP(0.5)), Fixed(s.MeanBytes(), 0)});
  }
  std::cout << "\nBreakdown: the store calls the pages make, each timed alone (random agent and "
               "statement):\n"
            << Table({"call", "calls", "p50 ms", "p95 ms", "cpu p50 ms", "rows"}, call_rows);

  std::cout << "\nTargets:\n";
  for (std::size_t i = 0; i < runs.pages.size(); ++i) {
    const Samples& s = runs.pages[i].samples;
    std::cout << "  " << (s.P(0.95) <= options.target_ms ? "PASS" : "MISS") << "  "
              << runs.pages[i].name << ": p95 " << Ms(s.P(0.95))
              << " ms <= " << Fixed(options.target_ms, 0) << " ms (p50 " << Ms(s.P(0.5)) << ", max "
              << Ms(s.Max()) << ")";
    if (s.P(0.95) > options.target_ms && s.CpuP(0.95) <= options.target_ms) {
      std::cout << "; CPU p95 " << Ms(s.CpuP(0.95))
                << " ms: the slow requests waited rather than worked";
    }
    std::cout << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace optischema::bench

int main(int argc, char** argv) {
  using namespace optischema::bench;
  CLI::App app{
      "console_bench: the console's overview and statement pages on a week of a fleet's "
      "history"};
  Options options;
  FleetSpec& f = options.fleet;
  app.add_option("--agents", f.agents, "agents, one database each")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--statements", f.statements, "statements per agent, in every snapshot")
      ->check(CLI::Range(3, 5000))
      ->capture_default_str();
  app.add_option("--days", f.days, "days of history (the last one as real snapshots)")
      ->check(CLI::Range(2, 14))
      ->capture_default_str();
  app.add_option("--interval", f.interval_s, "seconds between an agent's snapshots")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--heartbeat-interval", f.heartbeat_interval_s,
                 "seconds between an agent's heartbeats (0: one heartbeat per agent)")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  app.add_option("--recommendations", f.recommendations, "recommendations over the agents")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  app.add_option("--seed", f.seed, "seed of the generated fleet and of the request order")
      ->capture_default_str();
  app.add_option("--requests", options.requests, "measured requests of each page")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--target-ms", options.target_ms, "the p95 each page must stay under")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--data-dir", options.data_dir,
                 "keep the store in this directory and reuse it in later runs with the same "
                 "fleet options (default: a temporary directory, removed at the end)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return Run(options);
  } catch (const std::exception& e) {
    std::cerr << "console_bench: " << e.what() << "\n";
    return 1;
  }
}
