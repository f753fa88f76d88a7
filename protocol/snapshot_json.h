#pragma once

#include <nlohmann/json.hpp>

#include "protocol/snapshot.h"

namespace optischema::protocol {

// Protocol v1 JSON of a snapshot. Every field name of the wire format is written here and only
// here.
nlohmann::json SnapshotToJson(const Snapshot& snapshot);

}  // namespace optischema::protocol
