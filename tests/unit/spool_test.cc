#include "delivery/spool.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace optischema::agent {
namespace {

namespace fs = std::filesystem;

// A snapshot-like JSON body; `n` makes bodies differ.
std::string Body(int n) {
  return R"({"protocol":1,"snapshot_id":"s)" + std::to_string(n) +
         R"(","statements":[{"queryid":42,"calls":7,"total_exec_ms":1.5}]})";
}

// `size` bytes that gzip cannot shrink, so compressed sizes are predictable.
std::string Incompressible(std::size_t size) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string data(size, '\0');
  for (char& c : data) c = static_cast<char>(byte(random));
  return data;
}

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteWholeFile(const fs::path& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// Names of the files directly in `dir`.
std::vector<std::string> FileNames(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  return names;
}

bool AnyTempFile(const fs::path& dir) {
  return std::ranges::any_of(FileNames(dir),
                             [](const std::string& name) { return name.ends_with(".tmp"); });
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string base_template = (fs::temp_directory_path() / "spool_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(base_template.data()), nullptr);
    base_ = base_template;
    dir_ = (base_ / "spool").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // Compressed size of `body` as the spool stores it, measured in a scratch spool.
  std::uint64_t StoredSize(const std::string& body) {
    delivery::Spool scratch((base_ / "scratch").string());
    EXPECT_TRUE(scratch.Open().ok());
    EXPECT_TRUE(scratch.Append("probe", body).ok());
    return scratch.Bytes();
  }

  fs::path base_;
  std::string dir_;
};

TEST_F(SpoolTest, OpenCreatesOwnerOnlyDirectory) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  struct stat st {};
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(spool.Depth(), 0u);
  EXPECT_FALSE(spool.Oldest().has_value());
}

TEST_F(SpoolTest, OpenOnAFileFailsWithIoNamingThePath) {
  WriteWholeFile(dir_, "not a directory");
  delivery::Spool spool(dir_);
  const Status opened = spool.Open();
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kIo);
  EXPECT_NE(opened.error().message.find(dir_), std::string::npos) << opened.error().message;
}

TEST_F(SpoolTest, AppendedBodyReadsBackAndIsStoredAsGzip) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  const std::string id = "0b5e8f2c-3d4a-4c1e-9f7a-1234567890ab";
  const Result<delivery::SpoolEntryId> seq = spool.Append(id, Body(1));
  ASSERT_TRUE(seq.ok()) << seq.error().message;

  const std::optional<delivery::SpoolEntry> oldest = spool.Oldest();
  ASSERT_TRUE(oldest.has_value());
  EXPECT_EQ(oldest->id, id);
  EXPECT_EQ(oldest->seq, *seq);
  EXPECT_EQ(oldest->path, dir_ + "/00000000000000000001-" + id + ".json.gz");
  EXPECT_EQ(oldest->size, fs::file_size(oldest->path));

  const Result<std::string> body = spool.ReadBody(*oldest);
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(*body, Body(1));

  const Result<std::string> compressed = spool.ReadCompressed(*oldest);
  ASSERT_TRUE(compressed.ok()) << compressed.error().message;
  EXPECT_EQ(*compressed, ReadWholeFile(oldest->path));
  ASSERT_GE(compressed->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*compressed)[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>((*compressed)[1]), 0x8b);
}

TEST_F(SpoolTest, EmptyBodyRoundTrips) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  ASSERT_TRUE(spool.Append("empty", "").ok());
  const Result<std::string> body = spool.ReadBody(*spool.Oldest());
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(*body, "");
}

TEST_F(SpoolTest, EntriesComeOutInAppendOrder) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  constexpr int kCount = 120;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(spool.Append("snap-" + std::to_string(i), Body(i)).ok());
  }
  for (int i = 0; i < kCount; ++i) {
    const std::optional<delivery::SpoolEntry> oldest = spool.Oldest();
    ASSERT_TRUE(oldest.has_value());
    EXPECT_EQ(oldest->id, "snap-" + std::to_string(i));
    EXPECT_EQ(*spool.ReadBody(*oldest), Body(i));
    ASSERT_TRUE(spool.Remove(*oldest).ok());
  }
  EXPECT_FALSE(spool.Oldest().has_value());
  EXPECT_TRUE(FileNames(dir_).empty());
}

TEST_F(SpoolTest, ReopenedSpoolSeesOldEntriesAndContinuesTheSequence) {
  delivery::SpoolEntryId last = 0;
  {
    delivery::Spool spool(dir_);
    ASSERT_TRUE(spool.Open().ok());
    ASSERT_TRUE(spool.Append("a", Body(1)).ok());
    ASSERT_TRUE(spool.Append("b", Body(2)).ok());
    last = *spool.Append("c", Body(3));
    ASSERT_TRUE(spool.Remove(*spool.Oldest()).ok());
  }
  delivery::Spool reopened(dir_);
  ASSERT_TRUE(reopened.Open().ok());
  EXPECT_EQ(reopened.Depth(), 2u);
  std::uint64_t on_disk = 0;
  for (const std::string& name : FileNames(dir_)) on_disk += fs::file_size(fs::path(dir_) / name);
  EXPECT_EQ(reopened.Bytes(), on_disk);
  EXPECT_EQ(reopened.Oldest()->id, "b");
  EXPECT_EQ(*reopened.ReadBody(*reopened.Oldest()), Body(2));

  const Result<delivery::SpoolEntryId> next = reopened.Append("d", Body(4));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, last + 1);
  std::vector<std::string> order;
  while (const std::optional<delivery::SpoolEntry> oldest = reopened.Oldest()) {
    order.push_back(oldest->id);
    ASSERT_TRUE(reopened.Remove(*oldest).ok());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"b", "c", "d"}));
}

TEST_F(SpoolTest, BoundDropsOldestEntriesAndCountsThemUntilTaken) {
  const std::string body = Incompressible(4096);
  const std::uint64_t size = StoredSize(body);
  delivery::Spool spool(dir_, 3 * size);
  ASSERT_TRUE(spool.Open().ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(spool.Append("snap-" + std::to_string(i), body).ok());
  }
  EXPECT_EQ(spool.Depth(), 3u);
  EXPECT_EQ(spool.Bytes(), 3 * size);
  EXPECT_EQ(spool.Oldest()->id, "snap-2");
  EXPECT_EQ(FileNames(dir_).size(), 3u);
  EXPECT_EQ(spool.TakeDropped(), 2u);
  EXPECT_EQ(spool.TakeDropped(), 0u);

  ASSERT_TRUE(spool.Append("snap-5", body).ok());
  EXPECT_EQ(spool.TakeDropped(), 1u);
  EXPECT_EQ(spool.Oldest()->id, "snap-3");
}

TEST_F(SpoolTest, NewestEntryIsKeptEvenWhenItAloneExceedsTheBound) {
  delivery::Spool spool(dir_, /*max_bytes=*/10);
  ASSERT_TRUE(spool.Open().ok());
  ASSERT_TRUE(spool.Append("first", Body(1)).ok());
  EXPECT_EQ(spool.Depth(), 1u);
  EXPECT_EQ(spool.TakeDropped(), 0u);

  ASSERT_TRUE(spool.Append("second", Body(2)).ok());
  EXPECT_EQ(spool.Depth(), 1u);
  EXPECT_EQ(spool.Oldest()->id, "second");
  EXPECT_EQ(*spool.ReadBody(*spool.Oldest()), Body(2));
  EXPECT_EQ(spool.TakeDropped(), 1u);
}

TEST_F(SpoolTest, OpenRemovesLeftoverTempFilesAndLeavesOtherFilesAlone) {
  {
    delivery::Spool spool(dir_);
    ASSERT_TRUE(spool.Open().ok());
    ASSERT_TRUE(spool.Append("kept", Body(1)).ok());
  }
  // What a crash between create and rename leaves behind.
  WriteWholeFile(fs::path(dir_) / "00000000000000000007-crashed.json.gz.tmp", "partial");
  WriteWholeFile(fs::path(dir_) / "README", "operator notes");

  delivery::Spool reopened(dir_);
  ASSERT_TRUE(reopened.Open().ok());
  EXPECT_FALSE(AnyTempFile(dir_));
  EXPECT_TRUE(fs::exists(fs::path(dir_) / "README"));
  EXPECT_EQ(reopened.Depth(), 1u);
  EXPECT_EQ(reopened.Oldest()->id, "kept");
}

TEST_F(SpoolTest, CorruptFileFailsToParseAndQuarantineMovesItToBad) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  ASSERT_TRUE(spool.Append("poison", Body(1)).ok());
  ASSERT_TRUE(spool.Append("healthy", Body(2)).ok());
  const delivery::SpoolEntry poison = *spool.Oldest();
  WriteWholeFile(poison.path, "this is not gzip at all");

  const Result<std::string> body = spool.ReadBody(poison);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().code, ErrorCode::kParseFailed);
  EXPECT_NE(body.error().message.find(poison.path), std::string::npos) << body.error().message;

  ASSERT_TRUE(spool.Quarantine(poison).ok());
  const fs::path quarantined = fs::path(dir_) / "bad" / fs::path(poison.path).filename();
  EXPECT_TRUE(fs::exists(quarantined));
  EXPECT_EQ(ReadWholeFile(quarantined), "this is not gzip at all");
  EXPECT_FALSE(fs::exists(poison.path));
  EXPECT_EQ(spool.Depth(), 1u);
  EXPECT_EQ(spool.Oldest()->id, "healthy");
}

TEST_F(SpoolTest, TruncatedFileFailsToParse) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  ASSERT_TRUE(spool.Append("cut", Incompressible(2000)).ok());
  const delivery::SpoolEntry entry = *spool.Oldest();
  const std::string whole = ReadWholeFile(entry.path);
  WriteWholeFile(entry.path, whole.substr(0, whole.size() / 2));

  const Result<std::string> body = spool.ReadBody(entry);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().code, ErrorCode::kParseFailed);
  EXPECT_NE(body.error().message.find(entry.path), std::string::npos) << body.error().message;
}

TEST_F(SpoolTest, TrailingBytesAfterTheGzipStreamFailToParse) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  ASSERT_TRUE(spool.Append("tail", Body(1)).ok());
  const delivery::SpoolEntry entry = *spool.Oldest();
  WriteWholeFile(entry.path, ReadWholeFile(entry.path) + "junk");

  const Result<std::string> body = spool.ReadBody(entry);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().code, ErrorCode::kParseFailed);
}

TEST_F(SpoolTest, QuarantinedEntriesAreNotReindexedAndTheirSeqIsNotReused) {
  delivery::SpoolEntryId quarantined_seq = 0;
  {
    delivery::Spool spool(dir_);
    ASSERT_TRUE(spool.Open().ok());
    quarantined_seq = *spool.Append("poison", Body(1));
    ASSERT_TRUE(spool.Quarantine(*spool.Oldest()).ok());
  }
  delivery::Spool reopened(dir_);
  ASSERT_TRUE(reopened.Open().ok());
  EXPECT_EQ(reopened.Depth(), 0u);
  const Result<delivery::SpoolEntryId> next = reopened.Append("poison", Body(2));
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, quarantined_seq);
  EXPECT_EQ(FileNames(fs::path(dir_) / "bad").size(), 1u);
}

TEST_F(SpoolTest, InvalidIdIsRefused) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  for (const std::string& id :
       {std::string(), std::string(65, 'a'), std::string("../escape"), std::string("a_b"),
        std::string("a.b"), std::string("a/b"), std::string("a b"), std::string("caf\xc3\xa9")}) {
    const Result<delivery::SpoolEntryId> appended = spool.Append(id, Body(1));
    ASSERT_FALSE(appended.ok()) << id;
    EXPECT_EQ(appended.error().code, ErrorCode::kInvalidArgument) << id;
  }
  EXPECT_EQ(spool.Depth(), 0u);
  EXPECT_TRUE(FileNames(dir_).empty());
  EXPECT_TRUE(spool.Append(std::string(64, 'A'), Body(1)).ok());
}

// Tests run as root, for whom file permissions are not enforced, so a read-only directory cannot
// make a write fail. RLIMIT_FSIZE binds root too: with a 1 KiB limit, creating the temp file works
// but writing a larger body fails with EFBIG, exercising the same path as a full disk (ENOSPC).
// SIGXFSZ, which would otherwise kill the process, is ignored meanwhile.
TEST_F(SpoolTest, WriteFailureReturnsIoAndLeavesNoTempFile) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  const std::string body = Incompressible(std::size_t{64} * 1024);

  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const Result<delivery::SpoolEntryId> appended = spool.Append("too-big", body);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  std::signal(SIGXFSZ, saved_handler);

  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, ErrorCode::kIo);
  EXPECT_NE(appended.error().message.find(dir_), std::string::npos) << appended.error().message;
  EXPECT_TRUE(FileNames(dir_).empty());
  EXPECT_EQ(spool.Depth(), 0u);
  EXPECT_EQ(spool.Bytes(), 0u);

  // The caller keeps collecting: the next append works.
  ASSERT_TRUE(spool.Append("after", body).ok());
  EXPECT_EQ(spool.Depth(), 1u);
}

// The other way to fail as root: the directory disappears after Open().
TEST_F(SpoolTest, AppendIntoVanishedDirectoryReturnsIo) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  fs::remove_all(dir_);
  const Result<delivery::SpoolEntryId> appended = spool.Append("lost", Body(1));
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, ErrorCode::kIo);
  EXPECT_EQ(spool.Depth(), 0u);
}

TEST_F(SpoolTest, BytesAndDepthTrackAppendsAndRemoves) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  EXPECT_EQ(spool.Bytes(), 0u);
  ASSERT_TRUE(spool.Append("one", Body(1)).ok());
  const std::uint64_t first = spool.Oldest()->size;
  ASSERT_TRUE(spool.Append("two", Incompressible(3000)).ok());
  EXPECT_EQ(spool.Depth(), 2u);
  EXPECT_GT(first, 0u);
  EXPECT_GT(spool.Bytes(), first + 3000);

  const delivery::SpoolEntry oldest = *spool.Oldest();
  ASSERT_TRUE(spool.Remove(oldest).ok());
  EXPECT_EQ(spool.Depth(), 1u);
  EXPECT_EQ(spool.Bytes(), spool.Oldest()->size);
  ASSERT_TRUE(spool.Remove(oldest).ok());  // removing twice is harmless
  EXPECT_EQ(spool.Depth(), 1u);

  ASSERT_TRUE(spool.Remove(*spool.Oldest()).ok());
  EXPECT_EQ(spool.Depth(), 0u);
  EXPECT_EQ(spool.Bytes(), 0u);
}

TEST_F(SpoolTest, ConcurrentWriterAndReaderDeliverEveryEntryInOrder) {
  delivery::Spool spool(dir_);
  ASSERT_TRUE(spool.Open().ok());
  constexpr int kCount = 200;
  std::atomic<bool> writer_done = false;
  std::thread writer([&spool, &writer_done] {
    for (int i = 0; i < kCount; ++i) {
      if (!spool.Append("snap-" + std::to_string(i), Body(i)).ok()) break;
    }
    writer_done = true;
  });
  std::vector<std::string> delivered;
  for (;;) {
    const bool finished = writer_done;  // read before Oldest(): an empty spool then means done
    const std::optional<delivery::SpoolEntry> oldest = spool.Oldest();
    if (!oldest) {
      if (finished) break;
      std::this_thread::yield();
      continue;
    }
    const Result<std::string> body = spool.ReadBody(*oldest);
    if (!body.ok() || !spool.Remove(*oldest).ok()) break;
    delivered.push_back(*body);
  }
  writer.join();
  std::vector<std::string> expected;
  for (int i = 0; i < kCount; ++i) expected.push_back(Body(i));
  EXPECT_EQ(delivered, expected);
  EXPECT_EQ(spool.Depth(), 0u);
}

}  // namespace
}  // namespace optischema::agent
