#pragma once

// `optischema-agent rollback ID`: undoes an applied recommendation with the rollback recorded in
// the audit log, on the database it was applied to, and audits the outcome. The audit log is
// locked by a running agent, so this runs while the agent is stopped (a running agent is told so).

#include <iosfwd>
#include <string>

#include "agent/config.h"

namespace optischema::cli {

// Exit status: 0 rolled back; 1 the rollback failed or the audit log cannot be used (in use by a
// running agent, broken chain); 2 nothing to roll back (unknown id, not applied, or already
// rolled back) or the database is no longer configured with apply = true.
int RunRollback(const agent::Config& config, const std::string& recommendation_id,
                std::ostream& out, std::ostream& err);

}  // namespace optischema::cli
