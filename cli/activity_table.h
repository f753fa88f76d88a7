#pragma once

// The activity sampler's window (protocol/activity.h) as text for people: database load by wait
// class, the top waits and statements, blocking chains and long idle transactions. Printed by
// `collect --dry-run` and `advise`.

#include <string>

#include "protocol/activity.h"

namespace optischema::cli {

std::string FormatActivityTable(const protocol::Activity& activity);

// `advise`: the blocking chains and long idle transactions of one sample, as findings, or a line
// saying there are none.
std::string FormatSessionFindings(const protocol::Activity& activity);

}  // namespace optischema::cli
