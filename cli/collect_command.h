#pragma once

// `optischema-agent collect --dry-run`: baseline reading, wait the window, second reading, print
// the snapshot. Sends nothing anywhere.

#include <chrono>
#include <iosfwd>
#include <string>

#include "agent/config.h"

namespace optischema::cli {

enum class OutputFormat { kJson, kTable };

struct CollectCommandOptions {
  std::chrono::milliseconds window = std::chrono::seconds(10);
  std::string database;  // empty: every configured database
  OutputFormat format = OutputFormat::kTable;
};

// Exit status: 0 every selected database produced a snapshot; 1 at least one failed (its error is
// on `err`, the others are still printed); 2 unknown database name.
// JSON: one snapshot → one object; several → an array.
int RunCollectDryRun(const agent::Config& config, const CollectCommandOptions& options,
                     std::ostream& out, std::ostream& err);

}  // namespace optischema::cli
