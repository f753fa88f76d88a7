#pragma once

// Human-readable view of a snapshot: a KPI header and the top statements by window time.

#include <cstddef>
#include <string>

#include "protocol/snapshot.h"

namespace optischema::cli {

std::string FormatSnapshotTable(const protocol::Snapshot& snapshot, std::size_t max_rows = 20);

}  // namespace optischema::cli
