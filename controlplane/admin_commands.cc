#include "controlplane/admin_commands.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "controlplane/api_keys.h"
#include "controlplane/command_output.h"
#include "controlplane/store.h"
#include "core/clock.h"

namespace optischema::controlplane {
namespace {

std::string DatabaseNames(const nlohmann::json& databases) {
  std::string names;
  if (!databases.is_array()) return names;
  for (const auto& db : databases) {
    if (!db.is_object() || !db.contains("name") || !db["name"].is_string()) continue;
    names += (names.empty() ? "" : ",") + db["name"].get<std::string>();
  }
  return names;
}

}  // namespace

int RunApiKeysCreate(const std::string& data_dir, const std::string& name, std::ostream& out,
                     std::ostream& err) {
  const SystemClock clock;
  auto store = Store::Open(data_dir, Store::OpenMode::kCreate, clock);
  if (!store.ok()) return ReportError(store.error(), err);
  auto key = CreateApiKey(**store, name);
  if (!key.ok()) return ReportError(key.error(), err);
  err << "created API key \"" << name
      << "\"; only its SHA-256 is stored, so keep the key printed now\n";
  out << *key << "\n" << std::flush;
  return 0;
}

int RunAgentsList(const std::string& data_dir, bool json, std::ostream& out, std::ostream& err) {
  const SystemClock clock;
  auto store = Store::Open(data_dir, Store::OpenMode::kExisting, clock);
  if (!store.ok()) return ReportError(store.error(), err);
  auto agents = (*store)->ListAgents();
  if (!agents.ok()) return ReportError(agents.error(), err);
  if (json) {
    nlohmann::json array = nlohmann::json::array();
    for (const AgentRow& a : *agents) {
      array.push_back({{"agent_id", a.registration.agent_id},
                       {"hostname", a.registration.hostname},
                       {"version", a.registration.version},
                       {"databases", StoredJson(a.registration.databases_json)},
                       {"registered_at", a.registered_at},
                       {"last_seen_at", a.last_seen_at},
                       {"heartbeats", a.heartbeats},
                       {"last_heartbeat", a.last_heartbeat_json ? StoredJson(*a.last_heartbeat_json)
                                                                : nlohmann::json()}});
    }
    out << array.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"AGENT_ID", "HOSTNAME", "VERSION", "DATABASES",
                                                 "REGISTERED_AT", "LAST_SEEN_AT", "HEARTBEATS"}};
  for (const AgentRow& a : *agents) {
    rows.push_back({a.registration.agent_id, a.registration.hostname, a.registration.version,
                    DatabaseNames(StoredJson(a.registration.databases_json)), a.registered_at,
                    a.last_seen_at, std::to_string(a.heartbeats)});
  }
  PrintTable(out, rows);
  return 0;
}

int RunSnapshotsList(const SnapshotsListOptions& options, std::ostream& out, std::ostream& err) {
  const SystemClock clock;
  auto store = Store::Open(options.data_dir, Store::OpenMode::kExisting, clock);
  if (!store.ok()) return ReportError(store.error(), err);
  auto snapshots =
      (*store)->ListSnapshots({options.agent_id, options.database, /*with_bodies=*/options.json});
  if (!snapshots.ok()) return ReportError(snapshots.error(), err);
  if (options.json) {
    nlohmann::json array = nlohmann::json::array();
    for (const SnapshotRow& s : *snapshots) {
      array.push_back({{"snapshot_id", s.record.snapshot_id},
                       {"agent_id", s.record.agent_id},
                       {"database", s.record.database},
                       {"collected_at", s.record.collected_at},
                       {"received_at", s.received_at},
                       {"statements", s.record.statements},
                       {"body", StoredJson(s.record.body_json)}});
    }
    out << array.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"SNAPSHOT_ID", "AGENT_ID", "DATABASE", "COLLECTED_AT", "RECEIVED_AT", "STATEMENTS"}};
  for (const SnapshotRow& s : *snapshots) {
    rows.push_back({s.record.snapshot_id, s.record.agent_id, s.record.database,
                    s.record.collected_at, s.received_at, std::to_string(s.record.statements)});
  }
  PrintTable(out, rows);
  return 0;
}

int RunAuditList(const AuditListOptions& options, std::ostream& out, std::ostream& err) {
  const SystemClock clock;
  auto store = Store::Open(options.data_dir, Store::OpenMode::kExisting, clock);
  if (!store.ok()) return ReportError(store.error(), err);
  auto records = (*store)->ListAuditRecords(options.agent_id);
  if (!records.ok()) return ReportError(records.error(), err);
  if (options.json) {
    nlohmann::json array = nlohmann::json::array();
    for (const AuditRow& r : *records) {
      array.push_back({{"agent_id", r.agent_id},
                       {"received_at", r.received_at},
                       {"record", StoredJson(r.body_json)}});
    }
    out << array.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"RECEIVED_AT", "AGENT_ID", "RECORD"}};
  for (const AuditRow& r : *records) rows.push_back({r.received_at, r.agent_id, r.body_json});
  PrintTable(out, rows);
  return 0;
}

}  // namespace optischema::controlplane
