// Durable state under file-system faults, through the Fs seam (no root, no tmpfs): a full disk, a
// torn write, EIO on fsync, a failed rename and a failed directory fsync. For the spool: a snapshot
// whose Append() failed leaves no file, every acknowledged one reads back once, and the error says
// what to do. For the audit log: a record whose Append() failed is not on disk (or is cut back),
// the hash chain still verifies, and the next records continue it.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "applier/audit_log.h"
#include "core/file_io.h"
#include "delivery/spool.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/manual_clock.h"

namespace optischema {
namespace {

namespace fsys = std::filesystem;
using testing::FaultyFs;
using Fault = FaultyFs::Fault;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fsys::temp_directory_path() / "fs_faults.XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fsys::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> FileNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fsys::directory_iterator(dir)) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  return names;
}

// The snapshot ids in the spool at `dir` as a fresh Open() finds them, oldest first, with each
// body checked.
std::vector<std::string> SpooledIds(const std::string& dir) {
  delivery::Spool reopened(dir);
  EXPECT_TRUE(reopened.Open().ok());
  std::vector<std::string> ids;
  while (std::optional<delivery::SpoolEntry> oldest = reopened.Oldest()) {
    const Result<std::string> body = reopened.ReadBody(*oldest);
    EXPECT_TRUE(body.ok());
    if (body.ok()) {
      EXPECT_EQ(*body, R"({"snapshot":")" + oldest->id + R"("})");
    }
    ids.push_back(oldest->id);
    EXPECT_TRUE(reopened.Remove(*oldest).ok());
  }
  return ids;
}

std::string Body(const std::string& id) { return R"({"snapshot":")" + id + R"("})"; }

class SpoolFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(spool_.Open().ok());
    ASSERT_TRUE(spool_.Append("a", Body("a")).ok());
  }

  // Appends "b" under `fault`: refused with an error naming the remedy, and afterwards the spool,
  // on disk and in memory, holds exactly the acknowledged snapshots; "c" then goes through.
  void ExpectRefusedAndNothingLost(Fault fault, const std::string& remedy) {
    fs_.Inject(fault, dir_.path());
    const Result<delivery::SpoolEntryId> refused = spool_.Append("b", Body("b"));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(fs_.hits(), 1);
    EXPECT_EQ(refused.error().code, ErrorCode::kIo);
    EXPECT_NE(refused.error().message.find(remedy), std::string::npos) << refused.error().message;
    EXPECT_EQ(spool_.Depth(), 1u);
    for (const std::string& name : FileNames(spool_dir_)) {
      EXPECT_EQ(name.find("-b."), std::string::npos) << "left behind: " << name;
    }
    ASSERT_TRUE(spool_.Append("c", Body("c")).ok());
    EXPECT_EQ(SpooledIds(spool_dir_), (std::vector<std::string>{"a", "c"}));
  }

  TempDir dir_;
  const std::string spool_dir_ = dir_.path() + "/spool";
  FaultyFs fs_;
  delivery::Spool spool_{spool_dir_, delivery::Spool::kDefaultMaxBytes, fs_};
};

TEST_F(SpoolFaultTest, FullDiskOnWriteLosesOnlyThatSnapshotAndSaysToFreeSpace) {
  ExpectRefusedAndNothingLost(Fault::kNoSpaceOnWrite, "free space on the file system");
}

TEST_F(SpoolFaultTest, TornWriteLeavesNoHalfEntry) {
  ExpectRefusedAndNothingLost(Fault::kTornWrite, "free space on the file system");
}

TEST_F(SpoolFaultTest, EioOnFsyncLeavesNoUnsyncedEntry) {
  ExpectRefusedAndNothingLost(Fault::kEioOnFsync, "check the disk");
}

TEST_F(SpoolFaultTest, FailedRenameLeavesNoTempFile) {
  ExpectRefusedAndNothingLost(Fault::kRenameFails, "check the disk");
}

TEST_F(SpoolFaultTest, FailedDirectoryFsyncIsNotAcknowledgedAndTheEntryIsTakenBack) {
  ExpectRefusedAndNothingLost(Fault::kDirectoryFsyncFails, "check the disk");
}

class AuditFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = applier::AuditLog::Open(path_, clock_, fs_);
    ASSERT_TRUE(log.ok()) << log.error().message;
    log_ = std::move(*log);
    ASSERT_TRUE(log_->Append(Entry("r1")).ok());
  }

  static applier::AuditEntry Entry(std::string id) {
    applier::AuditEntry entry;
    entry.recommendation_id = std::move(id);
    entry.database = "orders";
    entry.step = applier::AuditStep::kReceived;
    return entry;
  }

  // The log as a verifier reads it from disk.
  applier::AuditVerification Verify() const { return applier::VerifyAuditFile(path_); }

  TempDir dir_;
  const std::string path_ = dir_.path() + "/audit.jsonl";
  testing::ManualClock clock_;
  FaultyFs fs_;
  std::unique_ptr<applier::AuditLog> log_;
};

TEST_F(AuditFaultTest, FullDiskRecordsNothingAndTheChainContinues) {
  fs_.Inject(Fault::kNoSpaceOnWrite, path_);
  const auto refused = log_->Append(Entry("r2"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kIo);
  EXPECT_EQ(Verify().records, 1u);
  EXPECT_TRUE(Verify().ok);

  const auto next = log_->Append(Entry("r2"));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->seq, 2u);
  const applier::AuditVerification after = Verify();
  EXPECT_TRUE(after.ok) << after.reason;
  EXPECT_EQ(after.records, 2u);
  EXPECT_FALSE(after.torn_tail);
}

TEST_F(AuditFaultTest, TornWriteIsCutBackSoTheChainStillVerifies) {
  fs_.Inject(Fault::kTornWrite, path_);
  ASSERT_FALSE(log_->Append(Entry("r2")).ok());
  EXPECT_EQ(fs_.hits(), 1);
  const applier::AuditVerification torn = Verify();
  EXPECT_TRUE(torn.ok) << torn.reason;
  EXPECT_FALSE(torn.torn_tail);
  EXPECT_EQ(torn.records, 1u);

  ASSERT_TRUE(log_->Append(Entry("r2")).ok());
  const applier::AuditVerification after = Verify();
  EXPECT_TRUE(after.ok) << after.reason;
  EXPECT_EQ(after.records, 2u);
}

TEST_F(AuditFaultTest, EioOnFsyncStopsAppendsUntilReopenedAndTheChainVerifies) {
  fs_.Inject(Fault::kEioOnFsync, path_);
  const auto refused = log_->Append(Entry("r2"));
  ASSERT_FALSE(refused.ok());
  // Nothing written after an fsync failure can be trusted: the log refuses until reopened, and
  // says so.
  const auto after_failure = log_->Append(Entry("r3"));
  ASSERT_FALSE(after_failure.ok());
  EXPECT_NE(after_failure.error().message.find("open the log again"), std::string::npos)
      << after_failure.error().message;

  log_.reset();
  auto reopened = applier::AuditLog::Open(path_, clock_, fs_);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  const std::size_t kept = (*reopened)->ReadAll().size();
  EXPECT_GE(kept, 1u);  // r1, acknowledged, is there; r2 may be (it reached the file)
  ASSERT_TRUE((*reopened)->Append(Entry("r3")).ok());
  const applier::AuditVerification after = Verify();
  EXPECT_TRUE(after.ok) << after.reason;
  EXPECT_EQ(after.records, kept + 1);
}

TEST(AuditFaultOpenTest, NewLogWhoseDirectoryFsyncFailsIsNotOpened) {
  TempDir dir;
  testing::ManualClock clock;
  FaultyFs fs;
  fs.Inject(Fault::kDirectoryFsyncFails, dir.path());
  const auto log = applier::AuditLog::Open(dir.path() + "/audit.jsonl", clock, fs);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kIo);
  EXPECT_NE(log.error().message.find("cannot fsync directory"), std::string::npos);
}

TEST(FileIoFaultTest, ReplaceFileWhoseRenameFailsKeepsTheOldContent) {
  TempDir dir;
  FaultyFs fs;
  const std::string path = dir.path() + "/status.json";
  ASSERT_TRUE(ReplaceFile(fs, path, "old", 0644).ok());
  fs.Inject(Fault::kRenameFails, path);
  EXPECT_FALSE(ReplaceFile(fs, path, "new", 0644).ok());
  std::ifstream in(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "old");
}

TEST(FileIoFaultTest, WriteNewFileSyncedReportsEioOnFsync) {
  TempDir dir;
  FaultyFs fs;
  const std::string path = dir.path() + "/agent_id.tmp";
  fs.Inject(Fault::kEioOnFsync, path);
  const Status written = WriteNewFileSynced(fs, path, "x");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("cannot fsync"), std::string::npos);
}

}  // namespace
}  // namespace optischema
