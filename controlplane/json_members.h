#pragma once

// Reading members of JSON the control plane stored or was sent (snapshots, advice,
// recommendations) where a missing member or one of another type reads as absent rather than as
// an error: for showing and summing what was accepted earlier, not for validating it.
//
// Pure functions; thread-safe.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace optischema::controlplane {

// The string member `key` of `object`, or "" when `object` is no object or the member is absent
// or not a string.
std::string StringMember(const nlohmann::json& object, const char* key);

// The number member `key`, or nullopt likewise.
std::optional<double> NumberMember(const nlohmann::json& object, const char* key);

// The member `key` whatever its type, or a null value.
const nlohmann::json& AnyMember(const nlohmann::json& object, const char* key);

// The array member `key`, or an empty array.
const nlohmann::json& ArrayMember(const nlohmann::json& object, const char* key);

}  // namespace optischema::controlplane
