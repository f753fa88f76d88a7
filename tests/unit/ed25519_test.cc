#include "protocol/ed25519.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/base64.h"

namespace optischema::protocol {
namespace {

std::string FromHex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// RFC 8032 section 7.1, TEST 1.
const std::string kSeed =
    Base64Encode(FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
const std::string kPublic =
    Base64Encode(FromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
const std::string kSignature = Base64Encode(FromHex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
    "6bd25bf5f0595bbe24655141438e7a100b"));

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\xFB\xFF\x00", 3)), "+/8A");
}

TEST(Base64, DecodesWhatItEncodes) {
  for (const char* text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    Result<std::string> r = Base64Decode(Base64Encode(text));
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
    EXPECT_EQ(*r, text);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  Result<std::string> r = Base64Decode(Base64Encode(all));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, all);
}

TEST(Base64, RefusesAnythingButTheOneCanonicalText) {
  for (const char* text : {"Zg", "Zg=", "Zm9", "Z g==", "Zm9v\n", " Zm9v", "Zm-v", "Zm_v",
                           "=Zg=", "Zg==Zg==", "Zm=v", "====", "Zh==", "Zm9=", "Zm8", "Zm8=="}) {
    Result<std::string> r = Base64Decode(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << text;
  }
  Result<std::string> nul = Base64Decode(std::string_view("Zm9\0", 4));
  EXPECT_FALSE(nul.ok());
}

TEST(Ed25519, Rfc8032Test1KnownAnswer) {
  Result<std::string> signature = Ed25519Sign(kSeed, "");
  ASSERT_TRUE(signature.ok()) << signature.error().message;
  EXPECT_EQ(*signature, kSignature);
  Status st = Ed25519Verify(kPublic, "", kSignature);
  EXPECT_TRUE(st.ok()) << st.error().message;
}

TEST(Ed25519, GeneratedKeysSignAndVerifyAndDiffer) {
  Result<Ed25519KeyPair> a = GenerateEd25519KeyPair();
  Result<Ed25519KeyPair> b = GenerateEd25519KeyPair();
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(a->public_key_b64.size(), 44u);
  EXPECT_EQ(a->private_key_b64.size(), 44u);
  EXPECT_NE(a->public_key_b64, b->public_key_b64);
  EXPECT_NE(a->private_key_b64, b->private_key_b64);
  Result<std::string> signature = Ed25519Sign(a->private_key_b64, "approved");
  ASSERT_TRUE(signature.ok()) << signature.error().message;
  EXPECT_EQ(signature->size(), 88u);
  EXPECT_TRUE(Ed25519Verify(a->public_key_b64, "approved", *signature).ok());
}

TEST(Ed25519, SigningIsDeterministic) {
  Result<std::string> first = Ed25519Sign(kSeed, "same bytes");
  Result<std::string> second = Ed25519Sign(kSeed, "same bytes");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
}

TEST(Ed25519, SignatureOverOtherBytesDoesNotVerify) {
  Result<std::string> signature = Ed25519Sign(kSeed, R"({"columns":["a"]})");
  ASSERT_TRUE(signature.ok()) << signature.error().message;
  Status st = Ed25519Verify(kPublic, R"({"columns":["b"]})", *signature);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(st.error().message.find("signature does not verify"), std::string::npos);
}

TEST(Ed25519, SignatureByAnotherKeyDoesNotVerify) {
  Result<Ed25519KeyPair> other = GenerateEd25519KeyPair();
  ASSERT_TRUE(other.ok());
  Status st = Ed25519Verify(other->public_key_b64, "", kSignature);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kPermissionDenied);
}

TEST(Ed25519, MalformedPublicKeyIsAConfigurationError) {
  const std::string der_spki = Base64Encode(FromHex("302a300506032b6570032100") +
                                            FromHex("d75a980182b10ab7d54bfed3c964073a"
                                                    "0ee172f3daa62325af021a68f707511a"));
  for (const std::string& key :
       {std::string("not a key"), Base64Encode(std::string(31, 'k')), der_spki, std::string()}) {
    Status st = Ed25519Verify(key, "", kSignature);
    ASSERT_FALSE(st.ok()) << key;
    EXPECT_EQ(st.error().code, ErrorCode::kConfig) << key;
    EXPECT_EQ(st.error().message.rfind("recommendation_public_key: not a base64 Ed25519 public key "
                                       "(32 bytes)",
                                       0),
              0u)
        << st.error().message;
  }
  EXPECT_NE(Ed25519Verify(der_spki, "", kSignature).error().message.find("DER"), std::string::npos);
}

TEST(Ed25519, MalformedSignatureIsAnInvalidArgument) {
  for (const std::string& signature : {std::string("!!"), Base64Encode(std::string(63, 's')),
                                       kSignature + "AAAA", std::string()}) {
    Status st = Ed25519Verify(kPublic, "", signature);
    ASSERT_FALSE(st.ok()) << signature;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << signature;
  }
}

TEST(Ed25519, MalformedPrivateKeyIsRefusedWithoutEchoingIt) {
  const std::string long_key = Base64Encode(std::string(64, 'q'));
  Result<std::string> r = Ed25519Sign(long_key, "m");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConfig);
  EXPECT_EQ(r.error().message.find(long_key), std::string::npos);
  EXPECT_NE(r.error().message.find("first 32 bytes"), std::string::npos);
  EXPECT_FALSE(Ed25519Sign("%%%%", "m").ok());
}

}  // namespace
}  // namespace optischema::protocol
