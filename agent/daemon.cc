#include "agent/daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "advisor/changes_in_progress.h"
#include "agent/agent_identity.h"
#include "agent/apply_worker.h"
#include "agent/database_connector.h"
#include "agent/database_worker.h"
#include "agent/health_file.h"
#include "agent/settings.h"
#include "agent/state_dir.h"
#include "applier/audit_log.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/time_format.h"
#include "core/version.h"
#include "delivery/agent_status.h"
#include "delivery/control_plane_link.h"
#include "delivery/spool.h"

namespace optischema::agent {

namespace {

using TimePoint = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;

constexpr milliseconds kLoopTick{1000};
constexpr std::chrono::seconds kStatusRefresh{10};
// A database reading may legitimately take the statement timeout (5 min) plus a connect; the link
// shows progress after every exchange, each bounded by the HTTP total timeout (60 s).
constexpr std::chrono::minutes kWorkerStall{6};
constexpr std::chrono::minutes kLinkStall{3};

std::string Hostname() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "unknown";
  return name.data();
}

// CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it.
std::string MonotonicMicros() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::to_string(static_cast<long long>(now.tv_sec) * 1000000 + now.tv_nsec / 1000);
}

delivery::LinkSettings MakeLinkSettings(const Config& config) {
  delivery::LinkSettings settings;
  settings.http.base_url = config.control_plane_url;
  settings.http.api_key = config.api_key;
  settings.http.ca_file = config.ca_file;
  settings.http.proxy = config.proxy;
  settings.http.total_timeout = config.control_plane_timeout;
  settings.heartbeat_interval = config.heartbeat_interval;
  settings.recommendations_interval = config.recommendations_interval;
  settings.recommendation_public_key = config.recommendation_public_key;
  return settings;
}

// Whether a worker started for `a` in configuration `ca` still matches `b` in `cb`.
bool SameWorker(const Config& ca, const DatabaseConfig& a, const Config& cb,
                const DatabaseConfig& b) {
  return SameSettings(Lands::kDatabaseWorker, ca, a, cb, b);
}

class Daemon {
 public:
  Daemon(Config config, DaemonOptions options, ServiceNotifier& notifier)
      : config_(std::move(config)), options_(std::move(options)), notifier_(notifier) {}

  int Run();

 private:
  int Start();
  // Opens the audit log when some database has apply = true and a public key is configured.
  void OpenApplier();
  void StartWorker(const DatabaseConfig& database);
  void Reload();
  // Joins retired workers whose thread has ended.
  void ReapRetired();
  bool ThreadsAlive();
  void Stop();
  void PublishStatus(bool force);
  // Rewrites state_dir/status.json for `optischema-agent health` (at most every
  // kHealthWriteEvery).
  void WriteHealth();

  Config config_;
  DaemonOptions options_;
  ServiceNotifier& notifier_;
  SystemClock clock_;
  delivery::AgentStatus status_{clock_};
  // Written by the apply worker, read by the advisors; declared before both, so it outlives them.
  advisor::ChangesInProgress changes_{clock_};
  std::string agent_id_;
  std::optional<pg::DigestKey> digest_key_;  // set by Start() before any worker
  std::unique_ptr<delivery::Spool> spool_;
  std::unique_ptr<applier::AuditLog> audit_;  // null: applying is off
  std::unique_ptr<delivery::ControlPlaneLink> link_;
  std::mutex wiring_mu_;                  // guards applier_ against the link's sink
  std::unique_ptr<ApplyWorker> applier_;  // guarded by wiring_mu_ while the link runs
  std::map<std::string, std::unique_ptr<DatabaseWorker>> workers_;
  // Workers replaced or removed by a reload, still finishing their reading.
  std::vector<std::unique_ptr<DatabaseWorker>> retired_;
  std::chrono::system_clock::time_point started_at_ = clock_.Now();
  std::optional<TimePoint> health_written_at_;
  bool health_write_failed_ = false;
  std::string last_status_;
  TimePoint last_status_at_{};
  bool stall_reported_ = false;
};

void Daemon::StartWorker(const DatabaseConfig& database) {
  DatabaseWorkerOptions options;
  options.database = database.name;
  options.agent_id = agent_id_;
  options.interval = config_.interval;
  options.collector = MakeCollectorOptions(config_, database);
  if (config_.advisor.enabled) {
    options.advisor = MakeAdvisorOptions(config_, database);
    options.advisor->digest_key = digest_key_;
  }
  options.advisor_interval = config_.advisor.interval;
  options.state_dir = config_.state_dir;
  options.changes = &changes_;
  options.connect = MakeSessionFactory(database);
  delivery::ControlPlaneLink* link = link_.get();
  workers_[database.name] = std::make_unique<DatabaseWorker>(std::move(options), *spool_, status_,
                                                             clock_, [link] { link->Wake(); });
}

int Daemon::Start() {
  if (config_.control_plane_url.empty()) {
    LogEvent(spdlog::level::critical,
             "control_plane.url is not set: the daemon needs a control plane to deliver to (set "
             "it, or OPTISCHEMA_CONTROL_PLANE_URL; `collect --dry-run` works without one)");
    return 2;
  }
  if (Status valid = delivery::ValidateHttpClientOptions(MakeLinkSettings(config_).http);
      !valid.ok()) {
    LogEvent(spdlog::level::critical, "control plane settings cannot work",
             {{"error", valid.error().message}});
    return 2;
  }
  auto agent_id = LoadOrCreateAgentId(config_.state_dir);
  if (!agent_id.ok()) {
    LogEvent(spdlog::level::critical, "cannot start: agent identity unusable in agent.state_dir",
             {{"error", agent_id.error().message}, {"state_dir", config_.state_dir}});
    return 1;
  }
  agent_id_ = std::move(agent_id).value();
  if (Status secured = SecureStateDir(config_.state_dir); !secured.ok()) {
    LogEvent(spdlog::level::critical, "cannot start: agent.state_dir cannot be made private",
             {{"error", secured.error().message}, {"state_dir", config_.state_dir}});
    return 1;
  }
  auto digest_key = LoadOrCreateDigestKey(config_.state_dir);
  if (!digest_key.ok()) {
    LogEvent(spdlog::level::critical, "cannot start: table digest key unusable in agent.state_dir",
             {{"error", digest_key.error().message}, {"state_dir", config_.state_dir}});
    return 1;
  }
  digest_key_ = std::move(digest_key).value();
  spool_ = std::make_unique<delivery::Spool>(StateDir(config_.state_dir).SpoolDir(),
                                             config_.spool_max_bytes);
  if (Status opened = spool_->Open(); !opened.ok()) {
    LogEvent(spdlog::level::critical, "cannot start: spool unusable in agent.state_dir",
             {{"error", opened.error().message}, {"state_dir", config_.state_dir}});
    return 1;
  }
  LogEvent(spdlog::level::info, "agent starting",
           {{"version", kAgentVersion},
            {"agent_id", agent_id_},
            {"databases", std::to_string(config_.databases.size())},
            {"interval_ms", std::to_string(config_.interval.count())},
            {"spooled", std::to_string(spool_->Depth())}});
  OpenApplier();
  delivery::RecommendationSink sink;
  if (audit_) {
    sink = [this](std::string body, bool rollback_requests) {
      // The link starts before the apply worker exists; a reply that comes first is pulled again.
      std::lock_guard lock(wiring_mu_);
      if (applier_) applier_->Submit(std::move(body), rollback_requests);
    };
  }
  link_ = std::make_unique<delivery::ControlPlaneLink>(
      MakeLinkSettings(config_), agent_id_, Hostname(), *spool_, status_,
      delivery::MakeCurlHttpClient, std::move(sink), audit_.get(), clock_);
  if (audit_) {
    delivery::ControlPlaneLink* link = link_.get();
    auto applier = std::make_unique<ApplyWorker>(
        config_, agent_id_, *audit_,
        [link](protocol::RecommendationEvent event) { link->ReportEvent(std::move(event)); },
        &changes_);
    std::lock_guard lock(wiring_mu_);
    applier_ = std::move(applier);
  }
  for (const DatabaseConfig& database : config_.databases) StartWorker(database);
  return 0;
}

void Daemon::OpenApplier() {
  bool any_apply = false;
  for (const DatabaseConfig& database : config_.databases) any_apply = any_apply || database.apply;
  if (!any_apply) return;  // read-only everywhere: nothing to audit
  if (config_.recommendation_public_key.empty()) {
    LogEvent(spdlog::level::warn,
             "applying is off: control_plane.recommendation_public_key is not set, so no "
             "recommendation can be verified");
    return;
  }
  auto audit = applier::AuditLog::Open(StateDir(config_.state_dir).AuditLogFile(), clock_);
  if (!audit.ok()) {
    LogEvent(spdlog::level::err,
             "applying is off: the audit log cannot be used (run `optischema-agent audit "
             "verify`); collection goes on",
             {{"error", audit.error().message}});
    return;
  }
  audit_ = std::move(audit).value();
  if (!audit_->repaired_tail_warning().empty()) {
    LogEvent(spdlog::level::warn, audit_->repaired_tail_warning());
  }
  LogEvent(spdlog::level::info, "applying is on for databases with apply = true",
           {{"audit_log", StateDir(config_.state_dir).AuditLogFile()}});
}

void Daemon::Reload() {
  auto next = LoadConfig(options_.config_path, options_.env);
  if (!next.ok()) {
    LogEvent(spdlog::level::err, "configuration reload failed; the running configuration stays",
             {{"error", next.error().message}});
    return;
  }
  Config& fresh = *next;
  if (fresh.control_plane_url.empty()) {
    LogEvent(spdlog::level::err, "configuration reload failed; the running configuration stays",
             {{"error", "control_plane.url is not set"}});
    return;
  }
  if (Status valid = delivery::ValidateHttpClientOptions(MakeLinkSettings(fresh).http);
      !valid.ok()) {
    LogEvent(spdlog::level::err, "configuration reload failed; the running configuration stays",
             {{"error", valid.error().message}});
    return;
  }
  if (Status st = SetupLogging(fresh.log_format, fresh.log_level, SecretsOf(fresh)); !st.ok()) {
    LogEvent(spdlog::level::err, "configuration reload failed; the running configuration stays",
             {{"error", st.error().message}});
    return;
  }
  if (const std::string kept = KeepNextStartSettings(config_, fresh); !kept.empty()) {
    LogEvent(spdlog::level::warn, kept + " changes take effect at the next start");
  }
  const Config old = std::exchange(config_, std::move(fresh));
  std::map<std::string, const DatabaseConfig*> wanted;
  for (const DatabaseConfig& database : config_.databases) wanted[database.name] = &database;
  std::size_t stopped = 0;
  std::size_t started = 0;
  for (const DatabaseConfig& database : old.databases) {
    const auto it = wanted.find(database.name);
    if (it != wanted.end() && SameWorker(old, database, config_, *it->second)) {
      wanted.erase(it);
      continue;
    }
    // The old worker finishes its reading in progress in the background (see ReapRetired).
    auto worker = workers_.find(database.name);
    if (worker != workers_.end()) {
      worker->second->RequestStop();
      retired_.push_back(std::move(worker->second));
      workers_.erase(worker);
    }
    if (it == wanted.end()) status_.RemoveDatabase(database.name);
    ++stopped;
  }
  for (const auto& [name, database] : wanted) {
    StartWorker(*database);
    ++started;
  }
  link_->Reconfigure(MakeLinkSettings(config_));
  LogEvent(spdlog::level::info, "configuration reloaded",
           {{"workers_stopped", std::to_string(stopped)},
            {"workers_started", std::to_string(started)},
            {"databases", std::to_string(config_.databases.size())}});
}

void Daemon::ReapRetired() {
  std::erase_if(retired_, [this](const std::unique_ptr<DatabaseWorker>& worker) {
    return worker->JoinUntil(clock_.Monotonic());
  });
}

bool Daemon::ThreadsAlive() {
  const auto now = clock_.Monotonic();
  std::string stalled;
  if (now - link_->AliveAt() > kLinkStall) stalled = "control plane link";
  for (const auto& [name, worker] : workers_) {
    if (now - worker->AliveAt() > kWorkerStall + config_.interval) stalled = "database " + name;
  }
  if (stalled.empty()) {
    stall_reported_ = false;
    return true;
  }
  if (!stall_reported_) {
    stall_reported_ = true;
    LogEvent(spdlog::level::critical, "a thread stopped making progress; watchdog pings withheld",
             {{"thread", stalled}});
  }
  return false;
}

void Daemon::PublishStatus(bool force) {
  const auto now = clock_.Monotonic();
  if (!force && now - last_status_at_ < kStatusRefresh) return;
  std::string line = status_.Summary(spool_->Depth(), spool_->Bytes());
  last_status_at_ = now;
  if (line == last_status_ && !force) return;
  last_status_ = line;
  notifier_.Notify("STATUS=" + line);
}

void Daemon::WriteHealth() {
  const auto now = clock_.Monotonic();
  if (health_written_at_ && now - *health_written_at_ < kHealthWriteEvery) return;
  health_written_at_ = now;
  HealthRecord record;
  record.pid = getpid();
  record.started_at = started_at_;
  record.loop_at = clock_.Now();
  record.interval = config_.interval;
  if (const auto collected = status_.LastCollectAt()) {
    record.last_collect_at = ParseRfc3339(*collected);
  }
  record.summary = status_.Summary(spool_->Depth(), spool_->Bytes());
  record.snapshots_lost = status_.SnapshotsLost();
  const Status written = WriteHealthFile(config_.state_dir, record);
  if (!written.ok() && !health_write_failed_) {
    LogEvent(spdlog::level::warn,
             "cannot write the health status file; `health` will say unhealthy",
             {{"error", written.error().message}});
  }
  health_write_failed_ = !written.ok();
}

void Daemon::Stop() {
  const auto begin = clock_.Monotonic();
  notifier_.Notify("STOPPING=1");
  LogEvent(spdlog::level::info, "stopping: finishing the current step");
  RemoveHealthFile(config_.state_dir);
  for (auto& [name, worker] : workers_) retired_.push_back(std::move(worker));
  workers_.clear();
  for (auto& worker : retired_) worker->RequestStop();
  bool clean = true;
  for (auto& worker : retired_) {
    if (!worker->JoinUntil(begin + kStopFlush - std::chrono::seconds(2))) {
      clean = false;
      LogEvent(spdlog::level::warn, "database reading still running at stop; abandoning it",
               {{"database", worker->database()}});
    }
  }
  if (applier_) {
    applier_->RequestStop();
    if (!applier_->JoinUntil(begin + kStopFlush - std::chrono::seconds(2))) {
      clean = false;
      LogEvent(spdlog::level::warn,
               "a change is still being applied at stop; abandoning it (an interrupted index "
               "build is cleaned up at the next start)");
    }
  }
  link_->RequestStop(begin + kStopFlush);
  if (!link_->JoinUntil(begin + kStopDeadline)) clean = false;
  if (!clean) {
    LogEvent(spdlog::level::warn, "stopped without waiting for every thread; the spool is intact");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  retired_.clear();
  {
    std::lock_guard lock(wiring_mu_);
    applier_.reset();
  }
  link_.reset();
  LogEvent(spdlog::level::info, "stopped", {{"left_in_spool", std::to_string(spool_->Depth())}});
  spdlog::default_logger()->flush();
}

int Daemon::Run() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  // Blocked before any thread starts, so every thread inherits the mask and only sigtimedwait
  // below receives them.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (const int failed = Start(); failed != 0) return failed;
  notifier_.Notify("READY=1");
  PublishStatus(/*force=*/true);

  const std::optional<std::chrono::microseconds> watchdog = notifier_.WatchdogPeriod();
  milliseconds tick = kLoopTick;
  if (watchdog) {
    tick = std::max(milliseconds(10),
                    std::min(tick, std::chrono::duration_cast<milliseconds>(*watchdog / 4)));
  }
  for (;;) {
    if (watchdog && ThreadsAlive()) notifier_.Notify("WATCHDOG=1");
    PublishStatus(/*force=*/false);
    WriteHealth();
    ReapRetired();
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(tick.count() / 1000);
    timeout.tv_nsec = static_cast<long>((tick.count() % 1000) * 1000000);
    siginfo_t info{};
    const int signal_number = sigtimedwait(&signals, &info, &timeout);
    if (signal_number == SIGTERM || signal_number == SIGINT) break;
    if (signal_number == SIGHUP) {
      LogEvent(spdlog::level::info, "SIGHUP: reloading the configuration");
      notifier_.Notify("RELOADING=1\nMONOTONIC_USEC=" + MonotonicMicros());
      Reload();
      notifier_.Notify("READY=1");
      PublishStatus(/*force=*/true);
    }
  }
  Stop();
  return 0;
}

}  // namespace

int RunDaemon(Config config, const DaemonOptions& options, ServiceNotifier& notifier) {
  Daemon daemon(std::move(config), options, notifier);
  return daemon.Run();
}

}  // namespace optischema::agent
