#pragma once

// `optischema-agent advise`: runs the index advisor once on each selected database and prints
// its findings and proposals. Read-only, and sends nothing anywhere.

#include <iosfwd>
#include <string>

#include "agent/config.h"
#include "cli/collect_command.h"

namespace optischema::cli {

struct AdviseCommandOptions {
  std::string database;  // empty: every configured database
  OutputFormat format = OutputFormat::kTable;
};

// Exit status: 0 every selected database was advised; 1 at least one failed (its error is on
// `err`, the others are still printed); 2 unknown database name. JSON: an array with one object
// per database ({"database": name, <advice members>}).
int RunAdvise(const agent::Config& config, const AdviseCommandOptions& options, std::ostream& out,
              std::ostream& err);

}  // namespace optischema::cli
