#pragma once

// Human-readable view of the advisor's advice (`optischema-agent advise`): the statistics' age,
// index findings, table health with the vacuum findings, proposals, notes and skipped statements.

#include <string>

#include "protocol/advice.h"

namespace optischema::cli {

std::string FormatAdviceTable(const std::string& database, const protocol::Advice& advice);

}  // namespace optischema::cli
