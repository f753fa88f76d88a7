#include "agent/agent_identity.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/uuid.h"

namespace optischema::agent {
namespace {

class AgentIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/identity-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(AgentIdentityTest, CreatesAUuidOnceAndKeepsItAcrossRestarts) {
  const std::string state = dir_ + "/state";
  auto first = LoadOrCreateAgentId(state);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(IsCanonicalUuid(*first)) << *first;
  auto again = LoadOrCreateAgentId(state);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  EXPECT_FALSE(std::filesystem::exists(state + "/agent_id.tmp"));
  EXPECT_EQ(std::filesystem::status(state).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
}

TEST_F(AgentIdentityTest, GarbageInTheIdFileIsRefusedAndLeftUntouched) {
  { std::ofstream(dir_ + "/agent_id") << "not-a-uuid\n"; }
  auto r = LoadOrCreateAgentId(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kParseFailed);
  EXPECT_NE(r.error().message.find(dir_ + "/agent_id"), std::string::npos);
  std::ifstream in(dir_ + "/agent_id");
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "not-a-uuid");
}

TEST_F(AgentIdentityTest, UnwritableStateDirectoryIsAnIoErrorNamingIt) {
  auto r = LoadOrCreateAgentId("/proc/optischema-cannot-exist");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_NE(r.error().message.find("/proc/optischema-cannot-exist"), std::string::npos);
}

TEST(Uuid, CanonicalFormIsRecognised) {
  EXPECT_TRUE(IsCanonicalUuid("123e4567-e89b-42d3-a456-426614174000"));
  EXPECT_FALSE(IsCanonicalUuid("123E4567-E89B-42D3-A456-426614174000"));
  EXPECT_FALSE(IsCanonicalUuid("123e4567e89b42d3a456426614174000"));
  EXPECT_FALSE(IsCanonicalUuid(""));
}

}  // namespace
}  // namespace optischema::agent
