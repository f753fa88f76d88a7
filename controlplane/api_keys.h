#pragma once

// API keys: how they are made, stored (only a SHA-256, never the key) and checked.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/store.h"
#include "core/result.h"

namespace optischema::controlplane {

// Every key starts with this, so a leaked key is recognisable in a secret scanner.
inline constexpr char kApiKeyPrefix[] = "osk_";

// A new key: kApiKeyPrefix and 32 bytes from OpenSSL's CSPRNG in unpadded base64url (47
// characters in all). kInternal when the random generator fails.
Result<std::string> GenerateApiKey();

// Generates a key, stores its hash under `name` and returns the key (shown once, never stored).
Result<std::string> CreateApiKey(Store& store, const std::string& name);

// Lower-case hex SHA-256 of `key`: what the store keeps.
std::string ApiKeySha256Hex(std::string_view key);

// The token of an Authorization header value "Bearer <token>" (scheme case-insensitive);
// nullopt for another scheme or an empty token.
std::optional<std::string_view> BearerToken(std::string_view authorization);

// Whether `sha256_hex` equals one of `known`. Compares against every entry in constant time
// without stopping at a match, so the timing says nothing about stored hashes.
bool MatchesKnownKey(std::string_view sha256_hex, const std::vector<std::string>& known);

}  // namespace optischema::controlplane
