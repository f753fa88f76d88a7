#pragma once

// The commands an operator (or a test) runs against a data directory, with or without `serve`
// running on it: api-keys create, agents list, snapshots list, audit list
// (recommendation_commands.h has the recommendation workflow).
//
// Output that scripts read goes to `out`: the new key as the last line, or with `json` a JSON
// array of objects (one line). Everything else goes to `err`. Each returns the exit status of
// command_output.h (e.g. 2 when a listing finds no database in the directory).

#include <optional>
#include <ostream>
#include <string>

namespace optischema::controlplane {

// Creates a key named `name`, stores its SHA-256 and prints the key. Creates the data directory
// and database when missing.
int RunApiKeysCreate(const std::string& data_dir, const std::string& name, std::ostream& out,
                     std::ostream& err);

// Objects: agent_id, hostname, version, databases, registered_at, last_seen_at, heartbeats (a
// count), last_heartbeat (the last heartbeat body, or null). Text: a table.
int RunAgentsList(const std::string& data_dir, bool json, std::ostream& out, std::ostream& err);

struct SnapshotsListOptions {
  std::string data_dir;
  bool json = false;
  std::optional<std::string> agent_id;
  std::optional<std::string> database;
};

// In order of arrival. Objects: snapshot_id, agent_id, database, collected_at, received_at,
// statements (a count), body (the snapshot as received). Text: a table without bodies.
int RunSnapshotsList(const SnapshotsListOptions& options, std::ostream& out, std::ostream& err);

struct AuditListOptions {
  std::string data_dir;
  bool json = false;
  std::optional<std::string> agent_id;
};

// Audit records mirrored by agents, in order of arrival. Objects: agent_id, received_at, record
// (the record as stored). Text: a table with the record as compact JSON.
int RunAuditList(const AuditListOptions& options, std::ostream& out, std::ostream& err);

}  // namespace optischema::controlplane
