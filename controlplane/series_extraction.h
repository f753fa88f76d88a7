#pragma once

// What the console's history keeps of one stored snapshot (series_records.h): the database's
// figures (with its load by wait class and its `activity` member when it carried one), each sent
// statement's figures, and the advice members when the snapshot has any.
// The snapshot has passed ValidateSnapshot; members of the wrong type or missing are read as
// absent (a figure of 0, a text of none), never as an error, so that a snapshot the API accepted
// always reaches the history.
//
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/series_records.h"

namespace optischema::controlplane {

struct SnapshotSeries {
  DatabaseSample database;
  std::vector<StatementSample> statements;
  // The snapshot's index_stats, indexes, index_findings, schema.drift, proposals, advisor, plans,
  // table_health and vacuum_findings members as one JSON object, or none when it has none of
  // them.
  std::optional<std::string> advice_json;
};

// `collected_s` is the snapshot's collected_at in Unix seconds.
SnapshotSeries ExtractSeries(const nlohmann::json& snapshot, const std::string& agent_id,
                             int64_t collected_s);

}  // namespace optischema::controlplane
