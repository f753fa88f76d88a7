#pragma once

// Console passwords, stored as Argon2id (libargon2, RFC 9106) in the library's encoded form
// ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"), which carries its own parameters, so hashes made
// with other parameters still verify. Parameters: kArgon2MemoryKib of memory, kArgon2Passes passes,
// one lane (OWASP's recommended minimum for Argon2id), a 16-byte random salt.
//
// Thread safety: both functions may be called from any thread; at most kMaxConcurrentHashes run
// at once (others wait), so a flood of logins costs at most that many times the memory.
// Passwords are never logged or put in an error message.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace optischema::controlplane {

inline constexpr uint32_t kArgon2MemoryKib = 19 * 1024;
inline constexpr uint32_t kArgon2Passes = 2;
inline constexpr int kMaxConcurrentHashes = 2;
// Passwords shorter than this are refused when set.
inline constexpr std::size_t kMinPasswordLength = 12;

// The encoded Argon2id hash of `password`. kInternal when the library or the random source fails.
Result<std::string> HashPassword(std::string_view password);

// Whether `password` matches `encoded`; false for a malformed hash as well.
bool VerifyPassword(const std::string& encoded, std::string_view password);

// kInvalidArgument, saying why, when `password` is too weak to set (too short); never echoes it.
Status CheckNewPassword(std::string_view password);

// A random password of 20 characters from an alphabet without look-alikes (for `users create`
// without --password-stdin).
Result<std::string> NewRandomPassword();

}  // namespace optischema::controlplane
