#pragma once

// Logging setup: spdlog to stderr, as text or one JSON object per line. The logger is the one
// global of the process.

#include <string>

#include "agent/config.h"
#include "core/result.h"

namespace optischema::agent {

// Installs the default logger. Errors (kConfig) for an unknown level name.
Status SetupLogging(LogFormat format, const std::string& level);

}  // namespace optischema::agent
