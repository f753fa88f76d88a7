#include "agent/database_worker.h"

#include <algorithm>

#include "agent/advisor_history.h"
#include "core/logging.h"
#include "core/time_format.h"
#include "protocol/snapshot_json.h"

namespace optischema::agent {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// Longest single wait: the thread reports itself alive at least this often while idle.
constexpr milliseconds kWaitSlice{1000};

std::string DescribeMs(milliseconds delay) {
  if (delay < std::chrono::seconds(10)) return std::to_string(delay.count()) + " ms";
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(delay).count()) + " s";
}

}  // namespace

milliseconds RetryDelay(milliseconds interval, int failures) {
  constexpr int kAtIntervalPace = 3;
  if (failures <= kAtIntervalPace) return interval;
  const milliseconds cap = std::max<milliseconds>(interval, std::chrono::minutes(5));
  milliseconds delay = interval * 2;
  for (int i = kAtIntervalPace + 1; i < failures && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

DatabaseWorker::DatabaseWorker(DatabaseWorkerOptions options, delivery::Spool& spool,
                               delivery::AgentStatus& status, const Clock& clock,
                               std::function<void()> on_spooled)
    : options_(std::move(options)),
      spool_(spool),
      status_(status),
      clock_(clock),
      on_spooled_(std::move(on_spooled)),
      collector_(options_.collector, options_.connect, clock) {
  if (options_.advisor) {
    advisor_ = std::make_unique<advisor::Advisor>(*options_.advisor, clock_, options_.changes);
    auto history = options_.state_dir.empty()
                       ? Result<advisor::IndexHistory>(advisor::IndexHistory())
                       : LoadAdvisorHistory(options_.state_dir, options_.database);
    if (!history.ok()) {
      LogEvent(spdlog::level::warn,
               "index advisor history unreadable; every index counts as newly watched",
               {{"database", options_.database}, {"error", history.error().message}});
    }
    advisor_->LoadHistory(history.ok() ? std::move(history).value() : advisor::IndexHistory());
  }
  status_.AddDatabase(options_.database);
  Touch();
  thread_ = std::thread([this] { Run(); });
}

DatabaseWorker::~DatabaseWorker() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

void DatabaseWorker::RequestStop() {
  std::lock_guard lock(mu_);
  stop_ = true;
  wake_.notify_all();
}

bool DatabaseWorker::JoinUntil(steady_clock::time_point deadline) {
  {
    std::unique_lock lock(mu_);
    if (!wake_.wait_until(lock, deadline, [this] { return done_; })) return false;
  }
  if (thread_.joinable()) thread_.join();
  return true;
}

steady_clock::time_point DatabaseWorker::AliveAt() const {
  return steady_clock::time_point(steady_clock::duration(alive_at_ns_.load()));
}

void DatabaseWorker::Touch() { alive_at_ns_.store(steady_clock::now().time_since_epoch().count()); }

void DatabaseWorker::Run() {
  int failures = 0;
  steady_clock::time_point last_failure_log{};
  steady_clock::time_point next = steady_clock::now();
  const milliseconds sample_every = options_.collector.activity_sample_interval;
  steady_clock::time_point next_sample = next + sample_every;
  steady_clock::time_point last_sample_failure_log{};
  for (;;) {
    Touch();
    TakeReading(&failures, &last_failure_log);
    Touch();
    const milliseconds delay =
        failures == 0 ? options_.interval : RetryDelay(options_.interval, failures);
    // Fixed rate (no drift); after an overrun, the next reading starts at once.
    next = std::max(next + delay, steady_clock::now());
    // Activity samples between readings, while the database answers.
    const bool sampling = failures == 0 && sample_every.count() > 0;
    std::unique_lock lock(mu_);
    while (!stop_ && steady_clock::now() < next) {
      steady_clock::time_point until = std::min(next, steady_clock::now() + kWaitSlice);
      if (sampling) until = std::min(until, next_sample);
      wake_.wait_until(lock, until);
      Touch();
      if (sampling && !stop_ && steady_clock::now() >= next_sample) {
        lock.unlock();
        SampleActivity(&last_sample_failure_log);
        lock.lock();
        next_sample = std::max(next_sample + sample_every, steady_clock::now());
      }
    }
    if (stop_) break;
  }
  std::lock_guard lock(mu_);
  done_ = true;
  wake_.notify_all();
}

void DatabaseWorker::TakeReading(int* failures, steady_clock::time_point* last_failure_log) {
  const std::string& database = options_.database;
  auto reading = collector_.Collect();
  if (!reading.ok()) {
    const Error& error = reading.error();
    ++*failures;
    const milliseconds retry = RetryDelay(options_.interval, *failures);
    const auto now = steady_clock::now();
    if (*failures == 1 || now - *last_failure_log >= kRepeatLogEvery) {
      *last_failure_log = now;
      LogEvent(spdlog::level::err, "reading failed; retrying",
               {{"database", database},
                {"error", error.ToString()},
                {"code", std::string(ErrorCodeName(error.code))},
                {"retry_in", DescribeMs(retry)},
                {"failures", std::to_string(*failures)}});
    }
    status_.RecordDatabaseError(database, error.ToString());
    return;
  }
  if (*failures > 0) {
    LogEvent(spdlog::level::info, "database reachable again; the next reading is a new baseline",
             {{"database", database}, {"failures", std::to_string(*failures)}});
  }
  *failures = 0;
  if (!reading->has_value()) {
    LogEvent(spdlog::level::info, "baseline taken", {{"database", database}});
    status_.RecordReading(database, FormatRfc3339(clock_.Now()), /*spooled=*/false);
    return;
  }
  protocol::Snapshot& snapshot = **reading;
  snapshot.agent_id = options_.agent_id;
  status_.RecordServer(database, snapshot.server.server_version_num,
                       {"pg_stat_statements " + snapshot.server.extension_version});
  const bool advised = MaybeAdvise(snapshot);
  const std::string json = protocol::SnapshotToJson(snapshot);
  auto appended = spool_.Append(snapshot.snapshot_id, json);
  if (!appended.ok()) {
    LogEvent(spdlog::level::err, "snapshot could not be written to the spool; it is lost",
             {{"database", database},
              {"snapshot_id", snapshot.snapshot_id},
              {"error", appended.error().message}});
    status_.RecordSnapshotLost(database, "spool: " + appended.error().message);
    return;
  }
  if (advised) {
    // The advice is on its way: the next run compares with it.
    advisor_->Commit();
    if (!options_.state_dir.empty()) {
      if (Status saved = SaveAdvisorHistory(options_.state_dir, database, advisor_->history());
          !saved.ok()) {
        LogEvent(spdlog::level::warn, "index advisor history could not be saved",
                 {{"database", database}, {"error", saved.error().message}});
      }
    }
  }
  status_.RecordReading(database, snapshot.collected_at, /*spooled=*/true);
  LogEvent(spdlog::level::info, "snapshot spooled",
           {{"database", database},
            {"snapshot_id", snapshot.snapshot_id},
            {"statements", std::to_string(snapshot.statements.size())},
            {"window_s", std::to_string(snapshot.window_s)}});
  if (on_spooled_) on_spooled_();
}

void DatabaseWorker::SampleActivity(steady_clock::time_point* last_failure_log) {
  const Status sampled = collector_.SampleActivity();
  if (sampled.ok()) return;
  const auto now = steady_clock::now();
  if (*last_failure_log != steady_clock::time_point{} &&
      now - *last_failure_log < kRepeatLogEvery) {
    return;
  }
  *last_failure_log = now;
  LogEvent(spdlog::level::warn, "activity sample failed; the window reports the samples taken",
           {{"database", options_.database},
            {"error", sampled.error().ToString()},
            {"code", std::string(ErrorCodeName(sampled.error().code))}});
}

bool DatabaseWorker::MaybeAdvise(protocol::Snapshot& snapshot) {
  if (!advisor_) return false;
  const auto now = clock_.Monotonic();
  if (next_advice_at_ && now < *next_advice_at_) return false;
  const std::string& database = options_.database;
  if (!advisor_session_) {
    auto session = options_.connect();
    if (!session.ok()) {
      LogEvent(spdlog::level::warn,
               "index advisor could not connect; retrying at the next snapshot",
               {{"database", database}, {"error", session.error().ToString()}});
      return false;
    }
    advisor_session_ = std::move(session).value();
  }
  auto advice = advisor_->Run(*advisor_session_);
  if (!advice.ok()) {
    advisor_session_.reset();  // a fresh session next time, whatever went wrong
    LogEvent(spdlog::level::warn, "index advisor failed; retrying at the next snapshot",
             {{"database", database}, {"error", advice.error().ToString()}});
    return false;
  }
  next_advice_at_ = now + options_.advisor_interval;
  if (!advice->hypopg && !hypopg_note_logged_ && !advice->notes.empty()) {
    hypopg_note_logged_ = true;
    LogEvent(spdlog::level::warn, advice->notes.front(), {{"database", database}});
  }
  std::size_t drift = advice->schema ? advice->schema->drift.size() : 0;
  LogEvent(spdlog::level::info, "index advice attached to the snapshot",
           {{"database", database},
            {"indexes", std::to_string(advice->indexes.size())},
            {"findings", std::to_string(advice->findings.size())},
            {"proposals", std::to_string(advice->proposals.size())},
            {"schema_drift", std::to_string(drift)},
            {"skipped_statements", std::to_string(advice->skipped.size())}});
  snapshot.advice = std::move(advice).value();
  return true;
}

}  // namespace optischema::agent
