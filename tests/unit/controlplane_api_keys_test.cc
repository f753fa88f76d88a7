// API keys of the control plane: how they look, how they are hashed and matched.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "controlplane/api_keys.h"

namespace optischema::controlplane {
namespace {

TEST(ApiKeys, GeneratedKeysArePrefixedUrlSafeAndDifferent) {
  auto first = GenerateApiKey();
  auto second = GenerateApiKey();

  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->size(), 4U + 43U);  // "osk_" + 32 bytes in unpadded base64url
  EXPECT_EQ(first->rfind(kApiKeyPrefix, 0), 0U);
  EXPECT_EQ(first->find_first_not_of(
                "osk_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"),
            std::string::npos)
      << *first;
  EXPECT_NE(*first, *second);
}

TEST(ApiKeys, HashIsTheHexSha256OfTheKey) {
  EXPECT_EQ(ApiKeySha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeys, BearerTokenIsTakenFromTheAuthorizationHeader) {
  EXPECT_EQ(BearerToken("Bearer osk_abc"), "osk_abc");
  EXPECT_EQ(BearerToken("bearer   osk_abc "), "osk_abc");
  EXPECT_FALSE(BearerToken("Basic b3NrOmFiYw==").has_value());
  EXPECT_FALSE(BearerToken("Bearer ").has_value());
  EXPECT_FALSE(BearerToken("Bearer    ").has_value());
  EXPECT_FALSE(BearerToken("").has_value());
}

TEST(ApiKeys, OnlyAStoredHashMatches) {
  const std::vector<std::string> known = {ApiKeySha256Hex("osk_one"), ApiKeySha256Hex("osk_two")};

  EXPECT_TRUE(MatchesKnownKey(ApiKeySha256Hex("osk_two"), known));
  EXPECT_TRUE(MatchesKnownKey(ApiKeySha256Hex("osk_one"), known));
  EXPECT_FALSE(MatchesKnownKey(ApiKeySha256Hex("osk_three"), known));
  EXPECT_FALSE(MatchesKnownKey("", known));
  EXPECT_FALSE(MatchesKnownKey(ApiKeySha256Hex("osk_one"), {}));
  EXPECT_FALSE(MatchesKnownKey(ApiKeySha256Hex("osk_one").substr(0, 10), known));
}

}  // namespace
}  // namespace optischema::controlplane
