#pragma once

// Table digests as they leave the agent: HMAC-SHA-256, keyed with a secret of this agent, over
// the canonical text of a table's definitions (which holds raw defaults and constraint
// literals). Without the key nobody can test guesses of those literals against a digest; with
// it, the same definitions give the same digest, so drift is still detected by comparison.
// Every digest the agent computes or compares goes through TableDigest.
//
// The key never leaves the process: it is not printed, logged or sent. Thread safety: a
// DigestKey is immutable; TableDigest may be called from several threads at once.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace optischema::pg {

inline constexpr std::size_t kDigestKeyBytes = 32;

class DigestKey {
 public:
  // nullopt unless `bytes` holds exactly kDigestKeyBytes bytes.
  static std::optional<DigestKey> FromBytes(std::string_view bytes);

  DigestKey(const DigestKey&) = default;
  DigestKey& operator=(const DigestKey&) = default;
  ~DigestKey();  // wipes the bytes

 private:
  DigestKey() = default;
  friend std::string TableDigest(const DigestKey& key, std::string_view canonical);
  std::array<unsigned char, kDigestKeyBytes> bytes_{};
};

// HMAC-SHA-256 of `canonical` under `key`, first 16 bytes as 32 lower-case hex digits; empty
// (equal to no digest) when OpenSSL fails, which it does only without memory.
std::string TableDigest(const DigestKey& key, std::string_view canonical);

}  // namespace optischema::pg
