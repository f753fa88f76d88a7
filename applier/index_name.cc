#include "applier/index_name.h"

#include <openssl/evp.h>

#include <array>

namespace optischema::applier {

std::string IndexNameForRecommendation(std::string_view recommendation_id) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(recommendation_id.data(), recommendation_id.size(), digest.data(), &length,
             EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name(kIndexNamePrefix);
  for (std::size_t i = 0; i < 8 && i < length; ++i) {
    name.push_back(kHex[digest[i] >> 4]);
    name.push_back(kHex[digest[i] & 0x0f]);
  }
  return name;
}

}  // namespace optischema::applier
