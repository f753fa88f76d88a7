#pragma once

// The agent's audit log: state_dir/audit.jsonl, append-only and hash-chained. Every step of
// applying a recommendation is recorded here, durably, before the step's effect is relied on; the
// applier's state (what is applied, what was interrupted) is replayed from it at start.
//
// File format: UTF-8, one record per line, each line the canonical JSON (protocol/canonical_json.h)
// of one record followed by "\n":
//
//   {"database":"orders","detail":"index built","extra":{"rows":42},"hash":"<64 hex>",
//    "prev_hash":"<64 hex>","recommendation_id":"r-1","rollback_sql":"DROP INDEX ...",
//    "seq":3,"sql":"CREATE INDEX CONCURRENTLY ...","step":"applied",
//    "ts":"2026-11-21T22:30:05.123Z"}
//
// (on one line; keys in canonical order). Every key is always present; no other key is allowed.
//   seq        integer, 1 on the first line, +1 on each following line
//   ts         RFC 3339 UTC with milliseconds, from the injected clock when the record was appended
//   step       AuditStepName of one AuditStep
//   extra      an object whose values are strings or integers (possibly empty)
//   prev_hash  the previous record's hash; 64 '0' on seq 1
//   hash       lowercase hex SHA-256 of CanonicalJsonWithout(line, "hash"), i.e. of the canonical
//              JSON of every other member, prev_hash included, so each record seals its predecessor
// A record is valid when it has exactly these keys with these types, its seq and prev_hash continue
// the previous record, and its hash matches. Changing, removing, inserting or reordering records
// breaks the chain at that point. The chain has no key: removing records from the end, or rewriting
// the whole file with fresh hashes, shows only against the control plane's mirror of the log.
//
// A "torn" tail is what a crash in the middle of Append() leaves: a last line with no trailing
// newline, or a last line that is not JSON. It was never acknowledged to a caller, so Open()
// removes it; only the last line may be torn, anything else broken is corruption.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "core/file_io.h"
#include "core/fs.h"
#include "core/result.h"

namespace optischema::applier {

// The steps of a recommendation's life, as recorded in `step`.
enum class AuditStep {
  kReceived,        // pulled from the control plane
  kVerified,        // signature, allow-list and preconditions passed
  kRejected,        // refused before anything ran; detail says why
  kStarted,         // about to run `sql`; a later step always follows unless the agent died
  kApplied,         // `sql` succeeded; `rollback_sql` undoes it
  kFailed,          // `sql` failed; detail has the error; nothing is left applied
  kVerifyPassed,    // after the guard's window, no regression beyond the limit
  kRegressed,       // after the guard's window, a regression beyond the limit
  kRolledBack,      // `rollback_sql` (the `sql` of this record) succeeded
  kRollbackFailed,  // the rollback failed; the change may still be in place
  kNoop,            // the change was already in place; nothing ran, counts as applied
  kRecovered,       // found `started` at start-up and reconciled; detail says how
};

// The step's name in the file: "received", "verified", "rejected", "started", "applied",
// "failed", "verify_passed", "regressed", "rolled_back", "rollback_failed", "noop", "recovered";
// empty for a value that is none of the enumerators.
std::string_view AuditStepName(AuditStep step);
// The step whose name is `name`; nullopt for any other string (a record holding one is invalid).
std::optional<AuditStep> ParseAuditStep(std::string_view name);

// Whether a record with this step settles its recommendation (see AuditLog::LastOutcome).
bool IsOutcomeStep(AuditStep step);

// `extra` values: strings or integers only, so the canonical JSON (which refuses floats) always
// accepts them. Figures with a fraction are stored in integer units (e.g. microseconds) or as text.
using AuditExtraValue = std::variant<std::int64_t, std::string>;
using AuditExtra = std::map<std::string, AuditExtraValue>;

// What the caller records; Append() adds seq, ts and the hashes. Secrets never go here.
struct AuditEntry {
  std::string recommendation_id;  // may be empty for a recommendation whose id was unreadable
  std::string database;           // configured database name
  AuditStep step = AuditStep::kReceived;
  std::string detail;        // free text for people
  std::string sql;           // the exact statement run in this step, or empty
  std::string rollback_sql;  // the statement that undoes it, or empty
  AuditExtra extra;          // e.g. baseline figures, {"recommendation": "<JSON as received>"}
};

// One line of the log.
struct AuditRecord {
  std::uint64_t seq = 0;
  std::string ts;
  std::string recommendation_id;
  std::string database;
  AuditStep step = AuditStep::kReceived;
  std::string detail;
  std::string sql;
  std::string rollback_sql;
  AuditExtra extra;
  std::string prev_hash;
  std::string hash;
};

// The record as it is stored: its canonical JSON, without the trailing newline. Invalid UTF-8 in
// a string is replaced by U+FFFD (records read from the log or returned by Append() have none).
// kInvalidArgument: seq is above 2^63-1 (canonical JSON integers are signed 64-bit).
Result<std::string> AuditRecordJson(const AuditRecord& record);

// Result of checking a log file without changing it.
struct AuditVerification {
  bool exists = false;              // false: no file at the path (ok is then true, with 0 records)
  bool ok = false;                  // every complete record is valid and the chain is unbroken
  std::size_t records = 0;          // valid records before the first bad one (all when ok)
  std::uint64_t first_bad_seq = 0;  // when !ok: the seq the first bad line should have (its line
                                    // number); 0 when the file could not be read at all
  std::string reason;               // when !ok: what is wrong with it, or the read error
  bool torn_tail = false;  // the last line is torn (see above); not counted, not an error: the
                           // agent removes it at its next start
};

struct AuditFileContents {
  std::vector<AuditRecord> records;  // the valid records, in order, up to the first bad one
  AuditVerification verification;
};

// Reads and checks the log at `path` (read-only; safe while the agent appends to it).
AuditFileContents ReadAuditFile(const std::string& path);
AuditVerification VerifyAuditFile(const std::string& path);

// The open log of one agent. One AuditLog per file per process, and no other process may append to
// the file while it is open.
//
// Thread safety: every method may be called from any thread once Open() returned; appends are
// serialised, so seq order is append order, and queries see every Append() that returned.
class AuditLog {
 public:
  // Opens `path` (its directory must exist), creating it with mode 0600 (and fsyncing the
  // directory) when missing, and takes an exclusive flock on it for the log's lifetime. Reads and
  // verifies every record and keeps them in memory. A torn last line is cut off (ftruncate +
  // fsync) and reported by repaired_tail_warning(). `clock` gives the records' ts and must outlive
  // the log.
  // Errors:
  //   kConfig "<path>: in use by another process ...": another AuditLog (normally a second agent
  //     given the same state directory) has the file open.
  //   kParseFailed "<path>: line N (seq N): <reason>; ...": a complete record is invalid or the
  //     chain is broken there. The file is left untouched. Applying must stay off until a person
  //     has looked at the file (`optischema-agent audit verify`); the agent still collects.
  //   kIo "<path>: <what>: <reason>": the file cannot be created, read or repaired.
  // Writes and syncs go through `fs`, which must outlive the log.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path, const Clock& clock,
                                                Fs& fs = SystemFs());

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Non-empty when Open() cut off a torn last line: a message for a warning in the agent's log.
  const std::string& repaired_tail_warning() const { return repaired_tail_warning_; }

  // Records `entry` as the next record and returns it. The line is written with O_APPEND and
  // fsync'ed before this returns, so once it returns the record survives a crash.
  // Errors (nothing is recorded; the caller must not go on with the step):
  //   kInvalidArgument: `step` is none of AuditStep's enumerators, or a string other than `detail`
  //   is not
  //     valid UTF-8 (invalid bytes in `detail` are replaced by U+FFFD instead).
  //   kIo "<path>: <what>: <reason>": write() failed; the file is cut back to its previous
  //     length. If that cut failed too, or fsync failed (whether the record is on disk is then
  //     unknown), every later Append() fails with kIo as well, until the log is opened again
  //     (which verifies and, if needed, repairs it).
  Result<AuditRecord> Append(const AuditEntry& entry);

  // Every record, in seq order.
  std::vector<AuditRecord> ReadAll() const;
  // The records of one recommendation, in seq order.
  std::vector<AuditRecord> ForRecommendation(std::string_view recommendation_id) const;
  // Whether the recommendation's change is in place: it has an `applied` or `noop` record with no
  // `rolled_back` record after it.
  bool Applied(std::string_view recommendation_id) const;
  // The latest record of the recommendation that settles it (step applied, noop, failed,
  // rejected, verify_passed, regressed, rolled_back or rollback_failed), or nullopt when it has
  // none. Constant time: an index kept as records are appended.
  std::optional<AuditRecord> LastOutcome(std::string_view recommendation_id) const;
  // Recommendations whose latest record is `started`: the agent stopped in the middle of applying
  // them (crash recovery). In the order of those `started` records.
  std::vector<std::string> InFlight() const;
  // Recommendations whose latest record is `received` or `verified`: the agent stopped after
  // taking them and before starting to apply them (nothing ran). In the order of those records.
  std::vector<std::string> Unstarted() const;

  // The records after `seq`, in seq order (those not yet mirrored, for instance).
  std::vector<AuditRecord> After(std::uint64_t seq) const;

 private:
  AuditLog(std::string path, const Clock& clock, Fs& fs, int fd);
  // Reads, verifies and repairs the file; Open()'s errors.
  Status Load();

  const std::string path_;
  const Clock& clock_;
  Fs& fs_;
  UniqueFd fd_;                        // O_RDWR | O_APPEND, flock'ed exclusively
  std::string repaired_tail_warning_;  // set by Load(), read-only afterwards

  mutable std::mutex mu_;
  std::uint64_t size_ = 0;            // guarded by mu_; bytes of the valid records in the file
  std::vector<AuditRecord> records_;  // guarded by mu_; every record, in seq order
  // guarded by mu_; recommendation id -> index in records_ of its LastOutcome record
  std::unordered_map<std::string, std::size_t> last_outcome_;
  void IndexOutcome(std::size_t index);  // mu_ held
  std::string broken_;  // guarded by mu_; non-empty: why every Append() fails until reopened
};

}  // namespace optischema::applier
