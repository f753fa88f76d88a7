#pragma once

// Durable on-disk queue of snapshots between the collector and the sender. Every snapshot is
// written here before any send; the sender delivers entries oldest first and removes each one once
// the control plane accepted it; after a restart the sender resumes from what is left.
//
// Layout of the spool directory (state_dir/spool, mode 0700):
//   <seq>-<id>.json.gz       one entry: the snapshot JSON, gzip-compressed (level 3). <seq> is a
//                            zero-padded 20-digit number, increasing in append order, continued
//                            after a restart; <id> is the snapshot id.
//   <seq>-<id>.json.gz.tmp   an entry being written; left over only by a crash, removed by Open().
//   bad/                     quarantined entries (see Quarantine()); never read back, not counted
//                            in Depth() or Bytes(); an operator inspects and deletes them.
// Other files in the directory are left alone.
//
// Durability: an entry is written to its temp name, fsync'ed, renamed and the directory fsync'ed,
// so after a crash an entry is either complete or absent. Removals and moves to bad/ are not
// fsync'ed: a removal that a crash undoes makes the entry come back and be sent again, which the
// server deduplicates by snapshot id; an undone move is simply quarantined again.
//
// Thread safety: Open() first, alone. Then Append() may be called from any number of threads (the
// database workers; appends are serialised, so seq order is append order), while one thread (the
// sender) calls Oldest(), ReadBody(), ReadCompressed(), Remove() and Quarantine(); Depth(),
// Bytes() and TakeDropped() may be called from any thread. The index (which entries exist, their
// sizes, the drop count) is guarded by a mutex.

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/fs.h"
#include "core/result.h"

namespace optischema::delivery {

// Identifies an entry within its spool directory: its sequence number, unique and increasing.
using SpoolEntryId = std::uint64_t;

// A snapshot in the spool, as returned by Oldest(). A copy: it stays valid (as a value) after the
// entry was removed, but its file may then be gone.
struct SpoolEntry {
  std::string id;          // snapshot id, [A-Za-z0-9-]{1,64}
  SpoolEntryId seq = 0;    // position in the queue
  std::string path;        // "<dir>/<seq>-<id>.json.gz"
  std::uint64_t size = 0;  // bytes on disk (compressed)
};

class Spool {
 public:
  static constexpr std::uint64_t kDefaultMaxBytes = std::uint64_t{256} * 1024 * 1024;

  // `dir` is the spool directory (agent::StateDir::SpoolDir()); nothing is touched until Open().
  // `max_bytes` bounds the compressed size of all entries (see Append()). Entries are written,
  // synced, renamed and removed through `fs`, which must outlive the spool.
  explicit Spool(std::string dir, std::uint64_t max_bytes = kDefaultMaxBytes, Fs& fs = SystemFs());

  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Creates the directory with mode 0700 if it is missing (its parent must exist), removes temp
  // files left by a crash and indexes the existing entries; sequence numbers continue after the
  // highest one found, quarantined entries included. Call once, before any other method.
  // kIo ("spool PATH: what failed: strerror"): the directory cannot be created or read (it is not
  // a directory, permissions), or a temp file cannot be removed.
  Status Open();

  // Compresses `json_body`, writes it durably as the newest entry and returns its seq. Then, while
  // the entries together exceed max_bytes, deletes the oldest ones, never the one just written
  // (which is kept even if alone above the bound); each deletion is counted for TakeDropped().
  // An oldest entry whose file cannot be deleted is still dropped from the index; it comes back
  // at the next Open().
  // Errors leave the spool as it was (no temp file, no new entry); the caller keeps collecting:
  //   kInvalidArgument: `id` is not 1 to 64 characters from [A-Za-z0-9-].
  //   kIo: writing failed (disk full, directory gone, ...); the message names the file.
  //   kInternal: zlib could not be initialised (out of memory).
  Result<SpoolEntryId> Append(std::string_view id, std::string_view json_body);

  // The entry to send next (lowest seq), or nullopt when the spool is empty.
  std::optional<SpoolEntry> Oldest() const;

  // The decompressed JSON of `entry`.
  //   kParseFailed ("spool PATH: corrupt gzip: ..."): the file is not one complete gzip stream
  //     (truncated, damaged); it will never read back, so the caller quarantines it.
  //   kIo: the file cannot be read. If Oldest() no longer returns this entry, Append() dropped it
  //     meanwhile to stay within the bound; the caller just moves on.
  //   kInternal: zlib could not be initialised (out of memory).
  Result<std::string> ReadBody(const SpoolEntry& entry) const;

  // The file's bytes as stored (gzip), for sending with Content-Encoding: gzip without
  // recompressing. The bytes are not checked; ReadBody() does that. kIo as for ReadBody().
  Result<std::string> ReadCompressed(const SpoolEntry& entry) const;

  // Deletes `entry` (after the server accepted it). An entry no longer in the spool (already
  // removed, dropped by Append(), or its file deleted by hand) is not an error. kIo: the file
  // cannot be deleted; the entry stays in the spool.
  Status Remove(const SpoolEntry& entry);

  // Moves `entry` to <dir>/bad/ so that a file that cannot be read or sent no longer blocks the
  // queue and is kept for inspection. An entry no longer in the spool is not an error; one whose
  // file has vanished (deleted by hand) just leaves the index. kIo: bad/ cannot be created or the
  // file cannot be moved; the entry stays in the spool.
  Status Quarantine(const SpoolEntry& entry);

  // Number of entries waiting.
  std::size_t Depth() const;
  // Compressed bytes of the entries waiting.
  std::uint64_t Bytes() const;
  // Entries dropped by the bound since the previous call (for the next heartbeat); resets to 0.
  std::uint64_t TakeDropped();

 private:
  // Deletes the oldest entries while bytes_ > max_bytes_, keeping at least one (the newest).
  void EnforceBoundLocked();

  const std::string dir_;
  const std::uint64_t max_bytes_;
  Fs& fs_;

  std::mutex append_mu_;  // serialises Append(); taken before mu_
  mutable std::mutex mu_;
  std::map<SpoolEntryId, SpoolEntry> entries_;  // guarded by mu_; by seq, oldest first
  std::uint64_t bytes_ = 0;                     // guarded by mu_; sum of entries_ sizes
  std::uint64_t dropped_ = 0;                   // guarded by mu_
  SpoolEntryId next_seq_ = 1;                   // guarded by mu_
};

}  // namespace optischema::delivery
