#pragma once

// Validation of a protocol v1 snapshot (the JSON of protocol/snapshot_json.cc) before it is
// stored. Failures are kInvalidArgument naming the field, as in message_validation.h.
//
// Checked: protocol; snapshot_id ([A-Za-z0-9-]{1,64}, equal to the Idempotency-Key header when
// one was sent); agent_id equal to the agent in the path; database (non-empty); collected_at;
// window_s >= 0; statements[], each with queryid (a decimal 64-bit integer in a string, as the
// agent sends it) and every window counter of protocol::ForEachCounter as a non-negative number
// (integers for counts): a negative delta is an agent bug; server, kpis, remainder and sampling
// objects when present. The remainder's counters may be negative: it is a correction. The advice
// members, when present, only by type: index_stats, schema and advisor objects; indexes,
// index_findings and proposals arrays (proposals are checked one by one when stored, and a bad
// one does not refuse the snapshot). table_health and vacuum_findings, when present, typed and
// bounded field by field; the statement plans entry by entry (plan_validation.h); activity field
// by field (activity_validation.h).
//
// Pure functions; thread-safe.

#include <nlohmann/json.hpp>
#include <string_view>

#include "controlplane/store.h"
#include "core/result.h"

namespace optischema::controlplane {

// The record to store, body_json left empty for the caller to fill with the body received.
// `idempotency_key` is empty when the request had no Idempotency-Key header.
Result<SnapshotRecord> ValidateSnapshot(const nlohmann::json& snapshot,
                                        std::string_view path_agent_id,
                                        std::string_view idempotency_key);

}  // namespace optischema::controlplane
