#pragma once

// The console's optional second factor: time-based one-time passwords (RFC 6238) computed by
// liboath. A user's secret is 20 random bytes, shown once as base32 for the user to type into an
// authenticator app (no QR code); codes have 6 digits, a 30-second step, HMAC-SHA-1 (what
// authenticator apps default to), and a code of the previous or next step is accepted too (clock
// drift).
//
// Thread safety: every function may be called from any thread (liboath is initialized once).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace optischema::controlplane {

inline constexpr unsigned kTotpDigits = 6;
inline constexpr unsigned kTotpStepSeconds = 30;

enum class TotpHash { kSha1, kSha256, kSha512 };

// A new secret, base32 without padding. kInternal when the random source fails.
Result<std::string> NewTotpSecret();

// The code for `secret` (raw bytes) at Unix time `now_s`. kInternal when liboath fails.
Result<std::string> TotpCode(std::string_view secret, int64_t now_s, unsigned digits,
                             TotpHash hash);

// Whether `code` is the kTotpDigits-digit code of `secret_base32` at `now_s` or one step either
// side; false for a malformed secret or code.
bool VerifyTotp(const std::string& secret_base32, std::string_view code, int64_t now_s);

}  // namespace optischema::controlplane
