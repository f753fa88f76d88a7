// The control plane's signing key file (signing_key.h): created private and once, replaced only
// when asked, and the public key derived from it is the one that verifies its signatures.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "controlplane/signing_key.h"
#include "protocol/ed25519.h"

namespace optischema::controlplane {
namespace {

namespace fs = std::filesystem;

class ControlPlaneSigningKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "optischema-key-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    data_ = dir_ + "/data";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string dir_;
  std::string data_;
};

TEST_F(ControlPlaneSigningKeyTest, NewKeyIsPrivateAndItsPublicKeyVerifiesItsSignatures) {
  const Result<std::string> public_key = CreateSigningKey(data_, /*replace=*/false);

  ASSERT_TRUE(public_key.ok()) << public_key.error().message;
  struct stat info {};
  ASSERT_EQ(::stat((data_ + "/signing.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  ASSERT_EQ(::stat(data_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700U);
  const Result<std::string> private_key = ReadSigningKey(data_);
  ASSERT_TRUE(private_key.ok()) << private_key.error().message;
  const Result<std::string> signature = protocol::Ed25519Sign(*private_key, "message");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(protocol::Ed25519Verify(*public_key, "message", *signature).ok());
  EXPECT_EQ(Ed25519PublicKeyOf(*private_key).value(), *public_key);
  EXPECT_EQ(std::distance(fs::directory_iterator(data_), fs::directory_iterator()), 1)
      << "no temporary file is left behind";
}

TEST_F(ControlPlaneSigningKeyTest, ExistingKeyIsKeptUnlessReplaced) {
  const Result<std::string> first = CreateSigningKey(data_, false);
  ASSERT_TRUE(first.ok());

  const Result<std::string> refused = CreateSigningKey(data_, false);
  const Result<std::string> kept = ReadSigningKey(data_);
  const Result<std::string> replaced = CreateSigningKey(data_, true);

  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConfig);
  EXPECT_NE(refused.error().message.find("--force"), std::string::npos);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(Ed25519PublicKeyOf(*kept).value(), *first);
  ASSERT_TRUE(replaced.ok());
  EXPECT_NE(*replaced, *first);
  EXPECT_EQ(Ed25519PublicKeyOf(ReadSigningKey(data_).value()).value(), *replaced);
}

TEST_F(ControlPlaneSigningKeyTest, MissingKeyTellsToRunKeysInit) {
  const Result<std::string> missing = ReadSigningKey(data_);

  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kConfig);
  EXPECT_NE(missing.error().message.find("keys init --data " + data_), std::string::npos)
      << missing.error().message;
}

TEST_F(ControlPlaneSigningKeyTest, FileWithoutAKeyIsRefusedWithoutQuotingIt) {
  fs::create_directory(data_);
  std::ofstream(data_ + "/signing.key") << "c2VjcmV0LWJ1dC1ub3QtYS1rZXk=\n";

  const Result<std::string> read = ReadSigningKey(data_);

  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kConfig);
  EXPECT_EQ(read.error().message.find("c2VjcmV0"), std::string::npos) << read.error().message;
}

}  // namespace
}  // namespace optischema::controlplane
