#include "applier/audit_log.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "agent/state_dir.h"
#include "cli/audit_command.h"
#include "core/time_format.h"
#include "protocol/canonical_json.h"
#include "tests/support/manual_clock.h"

namespace optischema::applier {
namespace {

namespace fs = std::filesystem;

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteWholeFile(const fs::path& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string Sha256Hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += {kHex[digest[i] >> 4], kHex[digest[i] & 0x0f]};
  }
  return hex;
}

AuditEntry Entry(std::string id, AuditStep step, std::string detail = "") {
  AuditEntry entry;
  entry.recommendation_id = std::move(id);
  entry.database = "orders";
  entry.step = step;
  entry.detail = std::move(detail);
  return entry;
}

TEST(AuditStepTest, NamesAreTheRecordedStringsAndParseBack) {
  const std::vector<std::pair<AuditStep, std::string_view>> steps = {
      {AuditStep::kReceived, "received"},
      {AuditStep::kVerified, "verified"},
      {AuditStep::kRejected, "rejected"},
      {AuditStep::kStarted, "started"},
      {AuditStep::kApplied, "applied"},
      {AuditStep::kFailed, "failed"},
      {AuditStep::kVerifyPassed, "verify_passed"},
      {AuditStep::kRegressed, "regressed"},
      {AuditStep::kRolledBack, "rolled_back"},
      {AuditStep::kRollbackFailed, "rollback_failed"},
      {AuditStep::kNoop, "noop"},
      {AuditStep::kRecovered, "recovered"}};
  for (const auto& [step, name] : steps) {
    EXPECT_EQ(AuditStepName(step), name);
    EXPECT_EQ(ParseAuditStep(name), step) << name;
  }
  for (std::string_view unknown : {"", "deployed", "Applied", "applied ", "verify-passed"}) {
    EXPECT_FALSE(ParseAuditStep(unknown).has_value()) << unknown;
  }
  EXPECT_EQ(AuditStepName(static_cast<AuditStep>(99)), "");
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir_template = (fs::temp_directory_path() / "audit_log_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir_template.data()), nullptr);
    dir_ = dir_template;
    path_ = agent::StateDir(dir_.string()).AuditLogFile();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<AuditLog> OpenLog() {
    Result<std::unique_ptr<AuditLog>> log = AuditLog::Open(path_, clock_);
    EXPECT_TRUE(log.ok()) << log.error().message;
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // Appends and expects success.
  AuditRecord Add(AuditLog& log, const AuditEntry& entry) {
    Result<AuditRecord> record = log.Append(entry);
    EXPECT_TRUE(record.ok()) << record.error().message;
    clock_.Advance(std::chrono::milliseconds(1500));
    return record.ok() ? record.value() : AuditRecord{};
  }

  // A closed log of three records: received, started, applied ("index built") for r-1.
  std::vector<AuditRecord> WriteThreeRecords() {
    std::unique_ptr<AuditLog> log = OpenLog();
    if (!log) return {};
    return {Add(*log, Entry("r-1", AuditStep::kReceived)),
            Add(*log, Entry("r-1", AuditStep::kStarted)),
            Add(*log, Entry("r-1", AuditStep::kApplied, "index built"))};
  }

  fs::path dir_;
  std::string path_;
  testing::ManualClock clock_;
};

TEST_F(AuditLogTest, AfterReturnsOnlyTheRecordsNotYetSeenAcrossReopen) {
  WriteThreeRecords();
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  Add(*log, Entry("r-2", AuditStep::kReceived));
  const std::vector<AuditRecord> after = log->After(2);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].seq, 3u);
  EXPECT_EQ(after[1].recommendation_id, "r-2");
  EXPECT_EQ(log->After(0).size(), 4u);
  EXPECT_TRUE(log->After(4).empty());
  EXPECT_TRUE(log->After(99).empty());
}

TEST_F(AuditLogTest, LastOutcomeIsTheLatestSettlingRecordAcrossReopen) {
  WriteThreeRecords();
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->LastOutcome("r-1").has_value());
  EXPECT_EQ(log->LastOutcome("r-1")->detail, "index built");
  Add(*log, Entry("r-2", AuditStep::kReceived));
  Add(*log, Entry("r-2", AuditStep::kStarted));
  EXPECT_FALSE(log->LastOutcome("r-2").has_value());  // in flight: not settled
  Add(*log, Entry("r-1", AuditStep::kVerifyPassed, "no regression"));
  Add(*log, Entry("r-1", AuditStep::kRecovered));  // not an outcome
  EXPECT_EQ(log->LastOutcome("r-1")->step, AuditStep::kVerifyPassed);
  EXPECT_FALSE(log->LastOutcome("r-3").has_value());
  EXPECT_FALSE(log->LastOutcome("").has_value());
}

TEST_F(AuditLogTest, ChainOfThreeRecordsVerifies) {
  const auto start = clock_.Now();
  const std::vector<AuditRecord> records = WriteThreeRecords();
  ASSERT_EQ(records.size(), 3u);

  EXPECT_EQ(records[0].seq, 1u);
  EXPECT_EQ(records[1].seq, 2u);
  EXPECT_EQ(records[2].seq, 3u);
  EXPECT_EQ(records[0].prev_hash, std::string(64, '0'));
  EXPECT_EQ(records[1].prev_hash, records[0].hash);
  EXPECT_EQ(records[2].prev_hash, records[1].hash);
  EXPECT_EQ(records[0].ts, FormatRfc3339(start));
  EXPECT_EQ(records[1].ts, FormatRfc3339(start + std::chrono::milliseconds(1500)));

  const AuditVerification v = VerifyAuditFile(path_);
  EXPECT_TRUE(v.exists);
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.records, 3u);
  EXPECT_EQ(v.first_bad_seq, 0u);
  EXPECT_FALSE(v.torn_tail);
}

TEST_F(AuditLogTest, HashIsSha256OfCanonicalJsonWithoutHashAndLinesAreCanonical) {
  const std::vector<AuditRecord> records = WriteThreeRecords();
  const std::vector<std::string> lines = Lines(ReadWholeFile(path_));
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Result<std::string> canonical = protocol::CanonicalJson(lines[i]);
    ASSERT_TRUE(canonical.ok());
    EXPECT_EQ(*canonical, lines[i]);
    const Result<std::string> unsigned_part = protocol::CanonicalJsonWithout(lines[i], "hash");
    ASSERT_TRUE(unsigned_part.ok());
    EXPECT_EQ(Sha256Hex(*unsigned_part), records[i].hash);
    EXPECT_NE(unsigned_part->find("\"prev_hash\":\"" + records[i].prev_hash + "\""),
              std::string::npos);
  }
  const nlohmann::json first = nlohmann::json::parse(lines[0]);
  std::vector<std::string> keys;
  for (const auto& [key, value] : first.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"database", "detail", "extra", "hash", "prev_hash",
                                            "recommendation_id", "rollback_sql", "seq", "sql",
                                            "step", "ts"}));
}

TEST_F(AuditLogTest, ChangingOneByteOfMiddleRecordDetailIsReportedAtItsSeq) {
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  Add(*log, Entry("r-1", AuditStep::kReceived));
  Add(*log, Entry("r-1", AuditStep::kStarted, "building index"));
  Add(*log, Entry("r-1", AuditStep::kApplied));
  log.reset();
  std::string text = ReadWholeFile(path_);
  const std::size_t at = text.find("building index");
  ASSERT_NE(at, std::string::npos);
  text[at] = 'B';
  WriteWholeFile(path_, text);

  const AuditVerification v = VerifyAuditFile(path_);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 2u);
  EXPECT_EQ(v.records, 1u);
  EXPECT_NE(v.reason.find("hash"), std::string::npos) << v.reason;

  const Result<std::unique_ptr<AuditLog>> reopened = AuditLog::Open(path_, clock_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.error().code, ErrorCode::kParseFailed);
  EXPECT_NE(reopened.error().message.find("line 2 (seq 2)"), std::string::npos)
      << reopened.error().message;
  EXPECT_EQ(ReadWholeFile(path_), text);
}

TEST_F(AuditLogTest, DeletingMiddleLineIsReported) {
  WriteThreeRecords();
  const std::vector<std::string> lines = Lines(ReadWholeFile(path_));
  ASSERT_EQ(lines.size(), 3u);
  WriteWholeFile(path_, lines[0] + "\n" + lines[2] + "\n");

  const AuditVerification v = VerifyAuditFile(path_);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 2u);
  EXPECT_NE(v.reason.find("seq 3 where 2"), std::string::npos) << v.reason;
  EXPECT_EQ(AuditLog::Open(path_, clock_).error().code, ErrorCode::kParseFailed);
}

TEST_F(AuditLogTest, RecordWithRecomputedHashButWrongPrevHashIsReported) {
  WriteThreeRecords();
  std::vector<std::string> lines = Lines(ReadWholeFile(path_));
  // Seq 3 re-sealed by hand over a different predecessor: its own hash is right, its link is not.
  nlohmann::json forged = nlohmann::json::parse(lines[2]);
  forged["prev_hash"] = std::string(64, 'a');
  forged.erase("hash");
  forged["hash"] = Sha256Hex(*protocol::CanonicalJson(forged.dump()));
  WriteWholeFile(path_, lines[0] + "\n" + lines[1] + "\n" + forged.dump() + "\n");

  const AuditVerification v = VerifyAuditFile(path_);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 3u);
  EXPECT_NE(v.reason.find("prev_hash"), std::string::npos) << v.reason;
}

TEST_F(AuditLogTest, TornLastLineIsRepairedAtOpenAndNextAppendContinuesChain) {
  const std::vector<AuditRecord> records = WriteThreeRecords();
  const std::string intact = ReadWholeFile(path_);
  WriteWholeFile(path_, intact + R"({"database":"orders","detail":"rol)");

  const AuditVerification before = VerifyAuditFile(path_);
  EXPECT_TRUE(before.ok) << before.reason;
  EXPECT_TRUE(before.torn_tail);
  EXPECT_EQ(before.records, 3u);

  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  EXPECT_NE(log->repaired_tail_warning().find("incomplete last line"), std::string::npos);
  EXPECT_EQ(ReadWholeFile(path_), intact);
  const AuditRecord next = Add(*log, Entry("r-1", AuditStep::kVerifyPassed));
  EXPECT_EQ(next.seq, 4u);
  EXPECT_EQ(next.prev_hash, records[2].hash);
  log.reset();

  const AuditVerification after = VerifyAuditFile(path_);
  EXPECT_TRUE(after.ok) << after.reason;
  EXPECT_FALSE(after.torn_tail);
  EXPECT_EQ(after.records, 4u);
}

TEST_F(AuditLogTest, UnparsableLastLineWithNewlineIsTreatedAsTorn) {
  WriteThreeRecords();
  const std::string intact = ReadWholeFile(path_);
  WriteWholeFile(path_, intact + std::string(5, '\0') + "\n");

  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->repaired_tail_warning().empty());
  EXPECT_EQ(ReadWholeFile(path_), intact);
  EXPECT_EQ(log->ReadAll().size(), 3u);
}

TEST_F(AuditLogTest, UnparsableLineBeforeTheLastIsCorruptionAndFileIsLeftAlone) {
  WriteThreeRecords();
  const std::vector<std::string> lines = Lines(ReadWholeFile(path_));
  const std::string damaged = lines[0] + "\n{\"seq\":2,\"ts\n" + lines[2] + "\n";
  WriteWholeFile(path_, damaged);

  const Result<std::unique_ptr<AuditLog>> log = AuditLog::Open(path_, clock_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kParseFailed);
  EXPECT_NE(log.error().message.find("line 2 (seq 2): not JSON"), std::string::npos)
      << log.error().message;
  EXPECT_EQ(ReadWholeFile(path_), damaged);
}

TEST_F(AuditLogTest, ReopenContinuesSeqAndKeepsRecords) {
  const std::vector<AuditRecord> records = WriteThreeRecords();
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  EXPECT_TRUE(log->repaired_tail_warning().empty());
  ASSERT_EQ(log->ReadAll().size(), 3u);
  EXPECT_EQ(log->ReadAll()[2].hash, records[2].hash);
  EXPECT_EQ(log->ReadAll()[2].detail, "index built");

  const AuditRecord next = Add(*log, Entry("r-2", AuditStep::kReceived));
  EXPECT_EQ(next.seq, 4u);
  EXPECT_EQ(next.prev_hash, records[2].hash);
}

TEST_F(AuditLogTest, ConcurrentAppendsFromFourThreadsProduceValidChainWithUniqueSeqs) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  std::vector<std::vector<std::uint64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Result<AuditRecord> record =
            log->Append(Entry("r-" + std::to_string(t), AuditStep::kReceived, std::to_string(i)));
        if (record.ok()) seqs[t].push_back(record->seq);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::set<std::uint64_t> unique;
  for (const auto& mine : seqs) {
    EXPECT_EQ(mine.size(), static_cast<std::size_t>(kPerThread));
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
    unique.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(*unique.rbegin(), static_cast<std::uint64_t>(kThreads * kPerThread));
  const AuditVerification v = VerifyAuditFile(path_);
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.records, static_cast<std::size_t>(kThreads * kPerThread));
}

TEST_F(AuditLogTest, AppliedHoldsAfterAppliedOrNoopUntilRolledBack) {
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  Add(*log, Entry("r-1", AuditStep::kStarted));
  EXPECT_FALSE(log->Applied("r-1"));
  Add(*log, Entry("r-1", AuditStep::kApplied));
  Add(*log, Entry("r-2", AuditStep::kNoop));
  Add(*log, Entry("r-3", AuditStep::kFailed));
  EXPECT_TRUE(log->Applied("r-1"));
  EXPECT_TRUE(log->Applied("r-2"));
  EXPECT_FALSE(log->Applied("r-3"));
  EXPECT_FALSE(log->Applied("unknown"));

  Add(*log, Entry("r-1", AuditStep::kRegressed));
  EXPECT_TRUE(log->Applied("r-1"));
  Add(*log, Entry("r-1", AuditStep::kRolledBack));
  EXPECT_FALSE(log->Applied("r-1"));
  Add(*log, Entry("r-1", AuditStep::kApplied));
  EXPECT_TRUE(log->Applied("r-1"));
  log.reset();

  std::unique_ptr<AuditLog> reopened = OpenLog();
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(reopened->Applied("r-1"));
  EXPECT_EQ(reopened->ForRecommendation("r-1").size(), 5u);
  EXPECT_EQ(reopened->ForRecommendation("r-1").back().step, AuditStep::kApplied);
}

TEST_F(AuditLogTest, InFlightListsRecommendationsWhoseLastStepIsStarted) {
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  Add(*log, Entry("r-1", AuditStep::kStarted));
  Add(*log, Entry("r-2", AuditStep::kStarted));
  Add(*log, Entry("r-3", AuditStep::kStarted));
  Add(*log, Entry("r-2", AuditStep::kApplied));
  Add(*log, Entry("r-4", AuditStep::kReceived));
  Add(*log, Entry("r-5", AuditStep::kApplied));
  Add(*log, Entry("r-5", AuditStep::kStarted));  // a second attempt, e.g. after a rollback
  EXPECT_EQ(log->InFlight(), (std::vector<std::string>{"r-1", "r-3", "r-5"}));
  Add(*log, Entry("r-1", AuditStep::kRecovered));
  EXPECT_EQ(log->InFlight(), (std::vector<std::string>{"r-3", "r-5"}));
}

TEST_F(AuditLogTest, UnstartedListsRecommendationsTakenButNotStarted) {
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  Add(*log, Entry("r-1", AuditStep::kReceived));
  Add(*log, Entry("r-2", AuditStep::kReceived));
  Add(*log, Entry("r-2", AuditStep::kVerified));
  Add(*log, Entry("r-3", AuditStep::kReceived));
  Add(*log, Entry("r-3", AuditStep::kRejected));
  Add(*log, Entry("r-4", AuditStep::kReceived));
  Add(*log, Entry("r-4", AuditStep::kVerified));
  Add(*log, Entry("r-4", AuditStep::kStarted));
  EXPECT_EQ(log->Unstarted(), (std::vector<std::string>{"r-1", "r-2"}));
  Add(*log, Entry("r-1", AuditStep::kFailed));
  EXPECT_EQ(log->Unstarted(), (std::vector<std::string>{"r-2"}));
}

TEST_F(AuditLogTest, NewFileHasMode0600WhateverTheUmask) {
  for (const mode_t mask : {mode_t{0}, mode_t{0277}}) {
    const mode_t previous = ::umask(mask);
    std::unique_ptr<AuditLog> log = OpenLog();
    ::umask(previous);
    ASSERT_TRUE(log);
    struct stat st {};
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u) << "umask " << mask;
    log.reset();
    ASSERT_EQ(::unlink(path_.c_str()), 0);
  }
}

TEST_F(AuditLogTest, SecondOpenWhileOpenIsRefused) {
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  const Result<std::unique_ptr<AuditLog>> second = AuditLog::Open(path_, clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kConfig);
  log.reset();
  EXPECT_TRUE(AuditLog::Open(path_, clock_).ok());
}

TEST_F(AuditLogTest, AppendRefusesUnknownStepAndInvalidUtf8SqlWithoutWriting) {
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  const Result<AuditRecord> unknown = log->Append(Entry("r-1", static_cast<AuditStep>(99)));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  AuditEntry bad_sql = Entry("r-1", AuditStep::kStarted);
  bad_sql.sql = "CREATE INDEX \xff";
  const Result<AuditRecord> refused = log->Append(bad_sql);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("sql is not valid UTF-8"), std::string::npos);
  EXPECT_EQ(ReadWholeFile(path_), "");
  EXPECT_EQ(Add(*log, Entry("r-1", AuditStep::kReceived)).seq, 1u);
}

TEST_F(AuditLogTest, InvalidUtf8InDetailIsReplacedSoTheRecordIsStillWritten) {
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_TRUE(log);
  const AuditRecord record =
      Add(*log, Entry("r-1", AuditStep::kFailed, "relation \xe9t\xe9 missing"));
  EXPECT_EQ(record.detail, "relation \xef\xbf\xbdt\xef\xbf\xbd missing");
  EXPECT_TRUE(VerifyAuditFile(path_).ok);
}

TEST_F(AuditLogTest, SqlAndExtraRoundTripThroughTheFile) {
  AuditEntry entry = Entry("r-1", AuditStep::kApplied, "done\nin \"2\" steps");
  entry.sql = "CREATE INDEX CONCURRENTLY \"optischema_0123\" ON \"public\".\"orders\" (\"id\")";
  entry.rollback_sql = "DROP INDEX CONCURRENTLY \"public\".\"optischema_0123\"";
  entry.extra = {{"baseline_mean_us", std::int64_t{-1234}},
                 {"recommendation", std::string(R"({"id":"r-1","kind":"create_index"})")}};
  {
    std::unique_ptr<AuditLog> log = OpenLog();
    ASSERT_TRUE(log);
    Add(*log, entry);
  }
  const AuditFileContents contents = ReadAuditFile(path_);
  ASSERT_TRUE(contents.verification.ok) << contents.verification.reason;
  ASSERT_EQ(contents.records.size(), 1u);
  const AuditRecord& r = contents.records[0];
  EXPECT_EQ(r.detail, entry.detail);
  EXPECT_EQ(r.sql, entry.sql);
  EXPECT_EQ(r.rollback_sql, entry.rollback_sql);
  EXPECT_EQ(r.extra, entry.extra);
  EXPECT_EQ(r.database, "orders");
}

TEST_F(AuditLogTest, UnexpectedKeyOrFloatInExtraIsCorruption) {
  WriteThreeRecords();
  std::vector<std::string> lines = Lines(ReadWholeFile(path_));
  for (const auto& [edit, expected] :
       {std::pair{std::string(R"("extra":{"x":1.5})"), std::string("integers only")},
        std::pair{std::string(R"("extra":{},"note":"x")"), std::string("unexpected key")}}) {
    std::string line = lines[1];
    const std::size_t at = line.find(R"("extra":{})");
    ASSERT_NE(at, std::string::npos);
    line.replace(at, std::string(R"("extra":{})").size(), edit);
    WriteWholeFile(path_, lines[0] + "\n" + line + "\n" + lines[2] + "\n");
    const AuditVerification v = VerifyAuditFile(path_);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_seq, 2u);
    EXPECT_NE(v.reason.find(expected), std::string::npos) << v.reason;
  }
}

TEST_F(AuditLogTest, MissingFileVerifiesAsAbsent) {
  const AuditVerification v = VerifyAuditFile(path_);
  EXPECT_FALSE(v.exists);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.records, 0u);
}

// The `audit` commands of the agent CLI.

TEST_F(AuditLogTest, AuditVerifyPrintsOkWithRecordCount) {
  WriteThreeRecords();
  std::ostringstream out, err;
  EXPECT_EQ(cli::RunAuditVerify(dir_.string(), out, err), 0);
  EXPECT_EQ(out.str(), "audit chain OK: 3 records\n");
  EXPECT_EQ(err.str(), "");
}

TEST_F(AuditLogTest, AuditVerifyPrintsFirstBadSeqAndFails) {
  WriteThreeRecords();
  const std::vector<std::string> lines = Lines(ReadWholeFile(path_));
  WriteWholeFile(path_, lines[0] + "\n" + lines[2] + "\n");
  std::ostringstream out, err;
  EXPECT_EQ(cli::RunAuditVerify(dir_.string(), out, err), 1);
  EXPECT_NE(out.str().find("first bad seq: 2 (seq 3 where 2"), std::string::npos) << out.str();
}

TEST_F(AuditLogTest, RecordWithAnUnknownStepIsInvalidAtItsSeq) {
  WriteThreeRecords();
  std::string text = ReadWholeFile(path_);
  const std::string applied = "\"step\":\"applied\"";
  const std::size_t at = text.find(applied);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, applied.size(), "\"step\":\"deployed\"");
  WriteWholeFile(path_, text);

  const AuditFileContents contents = ReadAuditFile(path_);
  EXPECT_FALSE(contents.verification.ok);
  EXPECT_EQ(contents.verification.first_bad_seq, 3u);
  EXPECT_EQ(contents.records.size(), 2u);
  EXPECT_NE(contents.verification.reason.find("unknown step \"deployed\""), std::string::npos)
      << contents.verification.reason;
}

TEST_F(AuditLogTest, AuditVerifyWithoutLogSaysNoAuditLogYet) {
  std::ostringstream out, err;
  EXPECT_EQ(cli::RunAuditVerify(dir_.string(), out, err), 0);
  EXPECT_NE(out.str().find("no audit log yet"), std::string::npos) << out.str();
}

TEST_F(AuditLogTest, AuditVerifyNotesTornTailButSucceeds) {
  WriteThreeRecords();
  WriteWholeFile(path_, ReadWholeFile(path_) + "{\"seq\":4");
  std::ostringstream out, err;
  EXPECT_EQ(cli::RunAuditVerify(dir_.string(), out, err), 0);
  EXPECT_EQ(out.str(), "audit chain OK: 3 records\n");
  EXPECT_NE(err.str().find("incomplete"), std::string::npos) << err.str();
}

TEST_F(AuditLogTest, AuditListTableShowsOneRowPerRecordWithDetailTruncated) {
  {
    std::unique_ptr<AuditLog> log = OpenLog();
    ASSERT_TRUE(log);
    Add(*log, Entry("r-1", AuditStep::kReceived, "short"));
    Add(*log, Entry("r-1", AuditStep::kFailed, std::string(100, 'x')));
  }
  std::ostringstream out, err;
  EXPECT_EQ(cli::RunAuditList(dir_.string(), /*json=*/false, out, err), 0);
  const std::vector<std::string> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 3u) << out.str();
  EXPECT_EQ(lines[0].rfind("seq", 0), 0u);
  EXPECT_NE(lines[1].find("r-1"), std::string::npos);
  EXPECT_NE(lines[1].find("received"), std::string::npos);
  EXPECT_NE(lines[1].find("orders"), std::string::npos);
  EXPECT_NE(lines[2].find(std::string(57, 'x') + "..."), std::string::npos) << lines[2];
  EXPECT_EQ(lines[2].find(std::string(58, 'x')), std::string::npos) << lines[2];
}

TEST_F(AuditLogTest, AuditListJsonPrintsArrayOfStoredRecords) {
  const std::vector<AuditRecord> records = WriteThreeRecords();
  std::ostringstream out, err;
  EXPECT_EQ(cli::RunAuditList(dir_.string(), /*json=*/true, out, err), 0);
  const nlohmann::json array = nlohmann::json::parse(out.str());
  ASSERT_TRUE(array.is_array());
  ASSERT_EQ(array.size(), 3u);
  EXPECT_EQ(array[1]["seq"], 2);
  EXPECT_EQ(array[2]["step"], "applied");
  EXPECT_EQ(array[2]["hash"], records[2].hash);
  EXPECT_EQ(array[2]["prev_hash"], records[1].hash);
}

TEST_F(AuditLogTest, AuditListWithoutLogPrintsEmptyArray) {
  std::ostringstream out, err;
  EXPECT_EQ(cli::RunAuditList(dir_.string(), /*json=*/true, out, err), 0);
  EXPECT_EQ(out.str(), "[]\n");
}

TEST_F(AuditLogTest, AuditListOnBrokenChainPrintsRecordsBeforeTheBreakAndFails) {
  WriteThreeRecords();
  std::string text = ReadWholeFile(path_);
  text[text.find("index built")] = 'I';
  WriteWholeFile(path_, text);
  std::ostringstream out, err;
  EXPECT_EQ(cli::RunAuditList(dir_.string(), /*json=*/true, out, err), 1);
  EXPECT_EQ(nlohmann::json::parse(out.str()).size(), 2u);
  EXPECT_NE(err.str().find("broken at seq 3"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace optischema::applier
