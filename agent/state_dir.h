#pragma once

// The agent's state directory (agent.state_dir): its layout (StateDir, the one place every path
// under it is spelled), its modes, and the table digest key kept in it.
//
// Modes: the directory and every directory below it 0700, every file 0600, except
// StateDir::kHealthName (status.json), which stays 0644 so that `optischema-agent health` works for
// any local user (it holds no secret). SecureStateDir enforces this at start, whatever an earlier
// version, an administrator or a restored backup left.
//
// The digest key (StateDir::kDigestKeyName): pg::kDigestKeyBytes random bytes, created once, read
// at every start; it keys the table digests that leave the agent (pg/table_digest.h). It is
// never sent, printed or logged. Replacing it changes every digest, so recommendations made before
// are then refused as drift.

#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"
#include "pg/table_digest.h"

namespace optischema::agent {

// The layout of a state directory: every file and directory the agent keeps there.
class StateDir {
 public:
  static constexpr std::string_view kAgentIdName = "agent_id";      // the agent's UUID
  static constexpr std::string_view kDigestKeyName = "digest_key";  // table digest key
  static constexpr std::string_view kAuditLogName = "audit.jsonl";  // hash-chained audit log
  static constexpr std::string_view kSpoolName = "spool";           // undelivered snapshots
  static constexpr std::string_view kHealthName = "status.json";    // `health` reads it
  static constexpr std::string_view kAdvisorName = "advisor";       // advisor history per database

  // A state directory is named by its path (agent.state_dir).
  StateDir(std::string root) : root_(std::move(root)) {}  // NOLINT(google-explicit-constructor)
  StateDir(const char* root) : root_(root) {}             // NOLINT(google-explicit-constructor)

  const std::string& root() const { return root_; }
  std::string AgentIdFile() const { return Under(kAgentIdName); }
  std::string DigestKeyFile() const { return Under(kDigestKeyName); }
  std::string AuditLogFile() const { return Under(kAuditLogName); }
  std::string SpoolDir() const { return Under(kSpoolName); }
  std::string HealthFile() const { return Under(kHealthName); }
  std::string AdvisorDir() const { return Under(kAdvisorName); }
  // advisor/<database>.json; `database` is a configured name ([A-Za-z0-9_.-]).
  std::string AdvisorHistoryFile(std::string_view database) const {
    return AdvisorDir() + "/" + std::string(database) + ".json";
  }

 private:
  std::string Under(std::string_view name) const { return root_ + "/" + std::string(name); }

  std::string root_;
};

// Creates `state_dir` (0700) when missing, then sets the modes above on it and everything in it
// (symbolic links are left alone, never followed). Errors: kIo naming the path that could not be
// created, read or changed.
Status SecureStateDir(const StateDir& state_dir);

// Reads state_dir/digest_key, or creates it when missing (written to a temp file, fsync, linked
// into place only if no other process created it first, fsync of the directory; mode 0600, owned
// like the directory). Creates `state_dir` (0700) if needed. Errors: kIo naming the path;
// kParseFailed when the file does not hold exactly pg::kDigestKeyBytes bytes (left
// untouched).
Result<pg::DigestKey> LoadOrCreateDigestKey(const StateDir& state_dir);

// Reads state_dir/digest_key without creating it. Errors: as LoadOrCreateDigestKey, and kIo when
// the file does not exist.
Result<pg::DigestKey> ReadDigestKey(const StateDir& state_dir);

}  // namespace optischema::agent
