#pragma once

#include <string>

#include "protocol/snapshot.h"

namespace optischema::protocol {

// Protocol v1 JSON of a snapshot, compact, in one pass. Every field name of the wire format is
// written here and only here.
std::string SnapshotToJson(const Snapshot& snapshot);

}  // namespace optischema::protocol
