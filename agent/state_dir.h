#pragma once

// The agent's state directory (agent.state_dir): its modes, and the table digest key kept in it.
//
// Modes: the directory and every directory below it 0700, every file 0600, except
// kHealthFileName (status.json), which stays 0644 so that `optischema-agent health` works for any
// local user (it holds no secret). SecureStateDir enforces this at start, whatever an earlier
// version, an administrator or a restored backup left.
//
// The digest key (kDigestKeyFileName): pg::kDigestKeyBytes random bytes, created once, read
// at every start; it keys the table digests that leave the agent (pg/table_digest.h). It is
// never sent, printed or logged. Replacing it changes every digest, so recommendations made before
// are then refused as drift.

#include <string>

#include "core/result.h"
#include "pg/table_digest.h"

namespace optischema::agent {

inline constexpr char kDigestKeyFileName[] = "digest_key";

// Creates `state_dir` (0700) when missing, then sets the modes above on it and everything in it
// (symbolic links are left alone, never followed). Errors: kIo naming the path that could not be
// created, read or changed.
Status SecureStateDir(const std::string& state_dir);

// Reads state_dir/digest_key, or creates it when missing (written to a temp file, fsync, linked
// into place only if no other process created it first, fsync of the directory; mode 0600, owned
// like the directory). Creates `state_dir` (0700) if needed. Errors: kIo naming the path;
// kParseFailed when the file does not hold exactly pg::kDigestKeyBytes bytes (left
// untouched).
Result<pg::DigestKey> LoadOrCreateDigestKey(const std::string& state_dir);

// Reads state_dir/digest_key without creating it. Errors: as LoadOrCreateDigestKey, and kIo when
// the file does not exist.
Result<pg::DigestKey> ReadDigestKey(const std::string& state_dir);

}  // namespace optischema::agent
