#pragma once

// `optischema-agent advise`: runs the index and vacuum advisor once on each selected database and
// prints its findings, table health and proposals. Read-only, and sends nothing anywhere.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "agent/config.h"
#include "cli/collect_command.h"

namespace optischema::cli {

struct AdviseCommandOptions {
  std::string database;  // empty: every configured database
  OutputFormat format = OutputFormat::kTable;
  std::optional<int64_t> plan_queryid;  // print only this statement's plan (plan_tree.h)
};

// Exit status: 0 every selected database was advised; 1 at least one failed (its error is on
// `err`, the others are still printed); 2 unknown database name. JSON: an array with one object
// per database ({"database": name, <advice members>}). With `plan_queryid`, only that statement's
// plan is printed (JSON: {"database": name, "plans": [its entry]}), and the status is 1 when no
// selected database has a plan for it.
int RunAdvise(const agent::Config& config, const AdviseCommandOptions& options, std::ostream& out,
              std::ostream& err);

}  // namespace optischema::cli
