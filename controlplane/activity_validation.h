#pragma once

// Validation of a snapshot's `activity` member (protocol/activity.h, docs/protocol-v1.md): every
// field typed, every list within the agent's own bounds, every name short. Errors
// (kInvalidArgument) name the field by its path ("activity.blocking[0].blocked[2].queryid") and
// never echo values. Pure; thread-safe.

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace optischema::controlplane {

Status CheckActivity(const nlohmann::json& activity);

}  // namespace optischema::controlplane
