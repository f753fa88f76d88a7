#pragma once

// The agent's stable identity: a UUID kept in state_dir/agent_id, created on first start. The
// control plane knows the agent by it across restarts and upgrades.

#include <string>
#include <string_view>

#include "agent/state_dir.h"
#include "core/result.h"

namespace optischema::agent {

// Reads state_dir/agent_id, or creates it (random UUID; written to a temp file, fsync, rename,
// fsync of the directory) when missing. Creates state_dir (mode 0700) if needed. Errors: kIo
// naming the path; kParseFailed when the file holds something other than a UUID (it is left
// untouched: replacing it would make the agent a stranger to the control plane).
Result<std::string> LoadOrCreateAgentId(const StateDir& state_dir);

}  // namespace optischema::agent
