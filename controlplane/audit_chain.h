#pragma once

// The control plane's own check of an agent's mirrored audit log (the chain format is in
// docs/operations.md, "The audit log"): the records, deduplicated by (seq, hash) because the
// agent sends its whole log again after each start, must run seq 1, 2, 3, ... without a gap, each
// record's hash must be the SHA-256 of its canonical JSON without "hash", and each prev_hash the
// hash of the record before (64 '0' for seq 1).
//
// Pure function; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

namespace optischema::controlplane {

struct ChainCheck {
  bool ok = true;
  int64_t records = 0;        // distinct records
  int64_t first_bad_seq = 0;  // when !ok: the seq of the first record that breaks the chain
  std::string reason;         // when !ok: what is wrong there
};

// `bodies` are one agent's audit records as stored, in any order.
ChainCheck CheckAuditChain(const std::vector<std::string>& bodies);

}  // namespace optischema::controlplane
