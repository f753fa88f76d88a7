#include "controlplane/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <strings.h>

#include <array>

#include "protocol/sha256.h"

namespace optischema::controlplane {
namespace {

constexpr std::size_t kKeyRandomBytes = 32;

std::string Base64UrlUnpadded(const unsigned char* data, std::size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t bits = 0;
  int bit_count = 0;
  for (std::size_t i = 0; i < size; ++i) {
    bits = (bits << 8) | data[i];
    bit_count += 8;
    while (bit_count >= 6) {
      bit_count -= 6;
      out += kAlphabet[(bits >> bit_count) & 0x3f];
    }
  }
  if (bit_count > 0) out += kAlphabet[(bits << (6 - bit_count)) & 0x3f];
  return out;
}

}  // namespace

Result<std::string> GenerateApiKey() {
  std::array<unsigned char, kKeyRandomBytes> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL's random generator failed");
  }
  std::string key = kApiKeyPrefix + Base64UrlUnpadded(random.data(), random.size());
  OPENSSL_cleanse(random.data(), random.size());
  return key;
}

Result<std::string> CreateApiKey(Store& store, const std::string& name) {
  auto key = GenerateApiKey();
  RETURN_IF_ERROR(key);
  if (Status st = store.AddApiKey(name, ApiKeySha256Hex(*key)); !st.ok()) {
    return std::move(st).error();
  }
  return key;
}

std::string ApiKeySha256Hex(std::string_view key) { return protocol::Sha256Hex(key); }

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      strncasecmp(authorization.data(), kScheme.data(), kScheme.size()) != 0) {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

bool MatchesKnownKey(std::string_view sha256_hex, const std::vector<std::string>& known) {
  int matches = 0;
  for (const std::string& candidate : known) {
    if (candidate.size() != sha256_hex.size()) continue;
    matches |= CRYPTO_memcmp(candidate.data(), sha256_hex.data(), candidate.size()) == 0;
  }
  return !sha256_hex.empty() && matches != 0;
}

}  // namespace optischema::controlplane
