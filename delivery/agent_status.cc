#include "delivery/agent_status.h"

#include <utility>

namespace optischema::delivery {

void AgentStatus::AddDatabase(const std::string& name) {
  std::lock_guard lock(mu_);
  if (databases_.try_emplace(name).second) ++generation_;
}

void AgentStatus::RemoveDatabase(const std::string& name) {
  std::lock_guard lock(mu_);
  if (databases_.erase(name) > 0) ++generation_;
}

void AgentStatus::RecordReading(const std::string& database, const std::string& collected_at,
                                bool spooled) {
  std::lock_guard lock(mu_);
  const auto it = databases_.find(database);
  if (it == databases_.end()) return;  // removed by a reload; its last reading does not count
  DatabaseStatus& status = it->second;
  status.state = DatabaseState::kOk;
  status.last_error.clear();
  status.collected_at = collected_at;
  if (spooled) ++status.snapshots;
}

void AgentStatus::RecordDatabaseError(const std::string& database, const std::string& error) {
  std::lock_guard lock(mu_);
  const auto it = databases_.find(database);
  if (it == databases_.end()) return;
  DatabaseStatus& status = it->second;
  status.state = DatabaseState::kFailing;
  status.last_error = error;
  AddErrorLocked("database " + database + ": " + error);
}

void AgentStatus::RecordSnapshotLost(const std::string& database, const std::string& error) {
  std::lock_guard lock(mu_);
  ++snapshots_lost_;
  ++lost_unreported_;
  const auto it = databases_.find(database);
  if (it != databases_.end()) {
    it->second.state = DatabaseState::kFailing;
    it->second.last_error = error;
  }
  AddErrorLocked("database " + database + ": snapshot lost: " + error);
}

std::uint64_t AgentStatus::SnapshotsLost() const {
  std::lock_guard lock(mu_);
  return snapshots_lost_;
}

std::uint64_t AgentStatus::TakeSnapshotsLost() {
  std::lock_guard lock(mu_);
  return std::exchange(lost_unreported_, 0);
}

void AgentStatus::RecordServer(const std::string& database, int server_version_num,
                               std::vector<std::string> extensions) {
  std::lock_guard lock(mu_);
  const auto it = databases_.find(database);
  if (it == databases_.end()) return;
  DatabaseStatus& status = it->second;
  if (status.server_version_num == server_version_num && status.extensions == extensions) return;
  status.server_version_num = server_version_num;
  status.extensions = std::move(extensions);
  ++generation_;
}

void AgentStatus::RecordError(const std::string& error) {
  std::lock_guard lock(mu_);
  AddErrorLocked(error);
}

void AgentStatus::RecordControlPlane(ControlPlaneState state) {
  std::lock_guard lock(mu_);
  control_plane_ = state;
}

void AgentStatus::RecordDelivery() {
  std::lock_guard lock(mu_);
  control_plane_ = ControlPlaneState::kOk;
  last_delivery_ = clock_.Monotonic();
}

void AgentStatus::AddErrorLocked(const std::string& error) {
  // The same error repeated every cycle would push everything else out.
  if (!recent_errors_.empty() && recent_errors_.back() == error) return;
  recent_errors_.push_back(error);
  while (recent_errors_.size() > kMaxRecentErrors) recent_errors_.pop_front();
}

std::vector<std::string> AgentStatus::TakeRecentErrors() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out(recent_errors_.begin(), recent_errors_.end());
  recent_errors_.clear();
  return out;
}

void AgentStatus::RestoreRecentErrors(std::vector<std::string> errors) {
  std::lock_guard lock(mu_);
  for (auto it = errors.rbegin(); it != errors.rend(); ++it) {
    if (recent_errors_.size() >= kMaxRecentErrors) break;
    recent_errors_.push_front(std::move(*it));
  }
}

std::vector<protocol::DatabaseDescription> AgentStatus::Databases() const {
  std::lock_guard lock(mu_);
  std::vector<protocol::DatabaseDescription> out;
  for (const auto& [name, status] : databases_) {
    out.push_back({name, status.server_version_num, status.extensions});
  }
  return out;
}

std::uint64_t AgentStatus::RegistrationGeneration() const {
  std::lock_guard lock(mu_);
  return generation_;
}

std::map<std::string, DatabaseStatus> AgentStatus::DatabaseStatuses() const {
  std::lock_guard lock(mu_);
  return databases_;
}

std::optional<std::string> AgentStatus::LastCollectAt() const {
  std::lock_guard lock(mu_);
  std::optional<std::string> latest;
  for (const auto& [name, status] : databases_) {
    // RFC 3339 UTC times with the same format compare as strings.
    if (status.collected_at && (!latest || *status.collected_at > *latest)) {
      latest = status.collected_at;
    }
  }
  return latest;
}

std::string AgentStatus::Health() const {
  std::lock_guard lock(mu_);
  for (const auto& [name, status] : databases_) {
    if (status.state == DatabaseState::kFailing) return "degraded";
  }
  return control_plane_ == ControlPlaneState::kOk || control_plane_ == ControlPlaneState::kUnknown
             ? "ok"
             : "degraded";
}

std::string AgentStatus::Summary(std::size_t spool_depth, std::uint64_t spool_bytes) const {
  std::lock_guard lock(mu_);
  std::size_t ok = 0;
  std::size_t starting = 0;
  std::string failing;
  std::size_t failing_count = 0;
  for (const auto& [name, status] : databases_) {
    switch (status.state) {
      case DatabaseState::kOk:
        ++ok;
        break;
      case DatabaseState::kStarting:
        ++starting;
        break;
      case DatabaseState::kFailing:
        ++failing_count;
        failing += (failing.empty() ? "" : ", ") + name;
        break;
    }
  }
  std::string line = std::to_string(ok) + (ok == 1 ? " database ok" : " databases ok");
  if (starting > 0) line += ", " + std::to_string(starting) + " starting";
  if (failing_count > 0)
    line += ", " + std::to_string(failing_count) + " failing (" + failing + ")";
  line += "; spool " + std::to_string(spool_depth) + " (" +
          std::to_string((spool_bytes + 1023) / 1024) + " KiB); control plane ";
  switch (control_plane_) {
    case ControlPlaneState::kUnknown:
      line += "not contacted yet";
      break;
    case ControlPlaneState::kOk:
      line += "ok";
      break;
    case ControlPlaneState::kUnreachable:
      line += "unreachable";
      break;
    case ControlPlaneState::kRefused:
      line += "refuses the agent (check url and API key)";
      break;
  }
  if (last_delivery_) {
    const auto ago =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.Monotonic() - *last_delivery_);
    line += ", last delivery " + std::to_string(ago.count()) + " s ago";
  }
  if (snapshots_lost_ > 0) {
    line += "; " + std::to_string(snapshots_lost_) +
            (snapshots_lost_ == 1 ? " snapshot" : " snapshots") + " lost (spool not writable)";
  }
  return line;
}

}  // namespace optischema::delivery
