// The agent's state directory: modes tightened at start whatever existed before, and the table
// digest key created once, kept, and refused when it is not a key.

#include "agent/state_dir.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace optischema::agent {
namespace {

class StateDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "optischema-state-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    state_ = root_ + "/state";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static mode_t ModeOf(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
  }
  static void Write(const std::string& path, const std::string& content, mode_t mode) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    ::chmod(path.c_str(), mode);
  }

  std::string root_;
  std::string state_;
};

TEST_F(StateDirTest, SecureStateDirTightensLooseModesOfTheDirectoryAndEverythingInIt) {
  ASSERT_EQ(::mkdir(state_.c_str(), 0755), 0);
  ::chmod(state_.c_str(), 0755);
  ASSERT_EQ(::mkdir((state_ + "/spool").c_str(), 0777), 0);
  ::chmod((state_ + "/spool").c_str(), 0777);
  Write(state_ + "/agent_id", "id\n", 0644);
  Write(state_ + "/audit.jsonl", "{}\n", 0666);
  Write(state_ + "/spool/1.json.gz", "x", 0604);
  Write(state_ + "/status.json", "{}", 0666);
  Write(root_ + "/outside", "x", 0644);
  std::filesystem::create_symlink(root_ + "/outside", state_ + "/link");

  ASSERT_TRUE(SecureStateDir(state_).ok());
  EXPECT_EQ(ModeOf(state_), 0700u);
  EXPECT_EQ(ModeOf(state_ + "/spool"), 0700u);
  EXPECT_EQ(ModeOf(state_ + "/agent_id"), 0600u);
  EXPECT_EQ(ModeOf(state_ + "/audit.jsonl"), 0600u);
  EXPECT_EQ(ModeOf(state_ + "/spool/1.json.gz"), 0600u);
  EXPECT_EQ(ModeOf(state_ + "/status.json"), 0644u);  // documented: readable by `health`
  EXPECT_EQ(ModeOf(root_ + "/outside"), 0644u);       // a link is not followed
}

TEST_F(StateDirTest, StateDirConfiguredAsASymbolicLinkIsFollowedOnce) {
  ASSERT_EQ(::mkdir((root_ + "/real").c_str(), 0755), 0);
  ::chmod((root_ + "/real").c_str(), 0755);
  std::filesystem::create_directory_symlink(root_ + "/real", state_);
  ASSERT_TRUE(SecureStateDir(state_).ok());
  EXPECT_EQ(ModeOf(root_ + "/real"), 0700u);
}

TEST_F(StateDirTest, SecureStateDirCreatesAMissingDirectoryPrivate) {
  ASSERT_TRUE(SecureStateDir(state_).ok());
  EXPECT_EQ(ModeOf(state_), 0700u);
}

TEST_F(StateDirTest, DigestKeyIsCreatedOnceAsThirtyTwoPrivateBytesAndReadBackUnchanged) {
  auto first = LoadOrCreateDigestKey(state_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const std::string path = StateDir(state_).DigestKeyFile();
  EXPECT_EQ(std::filesystem::file_size(path), pg::kDigestKeyBytes);
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(state_), 0700u);
  auto second = LoadOrCreateDigestKey(state_);
  auto read = ReadDigestKey(state_);
  ASSERT_TRUE(second.ok() && read.ok());
  EXPECT_EQ(pg::TableDigest(*first, "table t"), pg::TableDigest(*second, "table t"));
  EXPECT_EQ(pg::TableDigest(*first, "table t"), pg::TableDigest(*read, "table t"));
  // No temp file left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(state_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(StateDirTest, TwoAgentsGetDifferentKeysAndSoDifferentDigests) {
  auto a = LoadOrCreateDigestKey(state_);
  auto b = LoadOrCreateDigestKey(root_ + "/other");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(pg::TableDigest(*a, "table t"), pg::TableDigest(*b, "table t"));
}

TEST_F(StateDirTest, KeyFileOfTheWrongSizeIsRefusedAndLeftUntouched) {
  ASSERT_EQ(::mkdir(state_.c_str(), 0700), 0);
  const std::string path = StateDir(state_).DigestKeyFile();
  Write(path, "too short", 0600);
  auto key = LoadOrCreateDigestKey(state_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, ErrorCode::kParseFailed);
  EXPECT_NE(key.error().message.find(path), std::string::npos);
  std::ifstream in(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "too short");
}

TEST_F(StateDirTest, MissingKeyIsAnErrorForReadDigestKey) {
  auto key = ReadDigestKey(state_);
  ASSERT_FALSE(key.ok());
  EXPECT_FALSE(std::filesystem::exists(StateDir(state_).DigestKeyFile()));
}

TEST_F(StateDirTest, KeyFileBehindASymbolicLinkIsNotRead) {
  ASSERT_EQ(::mkdir(state_.c_str(), 0700), 0);
  Write(root_ + "/planted", std::string(pg::kDigestKeyBytes, 'k'), 0644);
  std::filesystem::create_symlink(root_ + "/planted", StateDir(state_).DigestKeyFile());
  EXPECT_FALSE(ReadDigestKey(state_).ok());
  EXPECT_FALSE(LoadOrCreateDigestKey(state_).ok());
}

TEST_F(StateDirTest, LooseKeyFileIsMadePrivateWhenRead) {
  ASSERT_EQ(::mkdir(state_.c_str(), 0700), 0);
  const std::string path = StateDir(state_).DigestKeyFile();
  Write(path, std::string(pg::kDigestKeyBytes, 'k'), 0644);
  ASSERT_TRUE(ReadDigestKey(state_).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
}

// The keyed digest is not the SHA-256 an attacker can compute from a guess of the definitions.
TEST(TableDigest, IsKeyedAndNotThePlainSha256OfTheDefinitions) {
  const std::string canonical = "table public.pins table\ncolumn pin text default '4821'::text\n";
  unsigned char sha[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  ASSERT_EQ(EVP_Digest(canonical.data(), canonical.size(), sha, &length, EVP_sha256(), nullptr), 1);
  std::string plain;
  for (unsigned int i = 0; i < 16; ++i) {
    static constexpr char kHex[] = "0123456789abcdef";
    plain.push_back(kHex[sha[i] >> 4U]);
    plain.push_back(kHex[sha[i] & 0xFU]);
  }
  const auto key_a = pg::DigestKey::FromBytes(std::string(32, 'a'));
  const auto key_b = pg::DigestKey::FromBytes(std::string(32, 'b'));
  ASSERT_TRUE(key_a && key_b);
  const std::string digest = pg::TableDigest(*key_a, canonical);
  EXPECT_EQ(digest.size(), 32u);
  EXPECT_NE(digest, plain);
  EXPECT_EQ(digest, pg::TableDigest(*key_a, canonical));
  EXPECT_NE(digest, pg::TableDigest(*key_b, canonical));
  EXPECT_NE(digest, pg::TableDigest(*key_a, canonical + " "));
  EXPECT_FALSE(pg::DigestKey::FromBytes(std::string(31, 'a')).has_value());
  EXPECT_FALSE(pg::DigestKey::FromBytes(std::string(33, 'a')).has_value());
}

TEST(StateDirLayout, EveryPathIsUnderTheRootAndDocumentedInOperations) {
  const StateDir dir("/var/lib/optischema-agent");
  EXPECT_EQ(dir.AgentIdFile(), "/var/lib/optischema-agent/agent_id");
  EXPECT_EQ(dir.DigestKeyFile(), "/var/lib/optischema-agent/digest_key");
  EXPECT_EQ(dir.AuditLogFile(), "/var/lib/optischema-agent/audit.jsonl");
  EXPECT_EQ(dir.SpoolDir(), "/var/lib/optischema-agent/spool");
  EXPECT_EQ(dir.HealthFile(), "/var/lib/optischema-agent/status.json");
  EXPECT_EQ(dir.AdvisorHistoryFile("orders"), "/var/lib/optischema-agent/advisor/orders.json");
  std::ifstream in(std::string(OPTISCHEMA_SOURCE_DIR) + "/docs/operations.md");
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const std::string_view name : {StateDir::kAgentIdName, StateDir::kDigestKeyName,
                                      StateDir::kAuditLogName, StateDir::kHealthName}) {
    EXPECT_NE(doc.find("| `" + std::string(name) + "` |"), std::string::npos) << name;
  }
  EXPECT_NE(doc.find("| `" + std::string(StateDir::kSpoolName) + "/` |"), std::string::npos);
  EXPECT_NE(doc.find("| `" + std::string(StateDir::kAdvisorName) + "/<database>.json` |"),
            std::string::npos);
}

}  // namespace
}  // namespace optischema::agent
