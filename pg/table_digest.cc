#include "pg/table_digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace optischema::pg {

std::optional<DigestKey> DigestKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kDigestKeyBytes) return std::nullopt;
  DigestKey key;
  std::copy(bytes.begin(), bytes.end(), key.bytes_.begin());
  return key;
}

DigestKey::~DigestKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

std::string TableDigest(const DigestKey& key, std::string_view canonical) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.bytes_.data(), static_cast<int>(key.bytes_.size()),
           reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), mac.data(),
           &length) == nullptr) {
    // Fails only when OpenSSL cannot allocate: no digest, never an unkeyed one.
    return std::string();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16 && i < length; ++i) {
    out.push_back(kHex[mac[i] >> 4U]);
    out.push_back(kHex[mac[i] & 0xFU]);
  }
  return out;
}

}  // namespace optischema::pg
