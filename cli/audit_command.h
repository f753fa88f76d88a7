#pragma once

// `optischema-agent audit list` and `audit verify`: read-only views of state_dir/audit.jsonl
// (applier/audit_log.h). Safe while the agent runs; they never change the file (a torn last line
// is reported, and removed by the agent at its next start).

#include <iosfwd>
#include <string>

namespace optischema::cli {

// Prints every valid record: a table (seq, ts, recommendation_id, database, step, detail folded
// to one line and truncated to 60 characters), or with `json` a JSON array of the records, each
// object exactly as stored (see applier/audit_log.h), followed by a newline.
// Exit status: 0 the records were printed (none when there is no log yet: "no audit log yet" or
// "[]"); 1 the file cannot be read, or the chain is broken: the records before the break are
// printed and `err` names the first bad seq.
int RunAuditList(const std::string& state_dir, bool json, std::ostream& out, std::ostream& err);

// Checks the whole hash chain. Exit status:
//   0 "audit chain OK: N records" (a torn last line adds a note on `err`), or "no audit log yet";
//   1 "audit chain broken after N valid records" and "first bad seq: S (reason)" on `out`, or the
//     read error on `err`.
int RunAuditVerify(const std::string& state_dir, std::ostream& out, std::ostream& err);

}  // namespace optischema::cli
