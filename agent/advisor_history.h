#pragma once

// Where the daemon keeps the index advisor's watch history (advisor/advisor.h IndexHistory) across
// restarts: state_dir/advisor/<database>.json (StateDir::AdvisorHistoryFile), written to a
// temporary file and renamed into place. Losing it is harmless and conservative: every index then
// counts as newly watched.

#include <string>

#include "advisor/advisor.h"
#include "agent/state_dir.h"
#include "core/result.h"

namespace optischema::agent {

// The saved history; empty when there is none. kParseFailed when the file is not a history (the
// caller starts afresh), kIo when it cannot be read.
Result<advisor::IndexHistory> LoadAdvisorHistory(const StateDir& state_dir,
                                                 const std::string& database);

// Errors: kIo naming the file.
Status SaveAdvisorHistory(const StateDir& state_dir, const std::string& database,
                          const advisor::IndexHistory& history);

}  // namespace optischema::agent
