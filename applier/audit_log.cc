#include "applier/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "core/time_format.h"
#include "protocol/canonical_json.h"
#include "protocol/sha256.h"

namespace optischema::applier {

namespace {

using nlohmann::json;

constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// AuditStepName of each AuditStep, in the enumerators' order.
constexpr std::array<std::string_view, 12> kStepNames = {
    "received",      "verified",  "rejected",    "started",         "applied", "failed",
    "verify_passed", "regressed", "rolled_back", "rollback_failed", "noop",    "recovered"};

// Every key of a stored record; a record has exactly these.
constexpr std::array<std::string_view, 11> kRecordKeys = {
    "database",     "detail", "extra", "hash", "prev_hash", "recommendation_id",
    "rollback_sql", "seq",    "sql",   "step", "ts"};

bool IsHash(std::string_view s) {
  return s.size() == kZeroHash.size() && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// `s` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string ReplaceInvalidUtf8(const std::string& s) {
  const std::string quoted = json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  return json::parse(quoted).get<std::string>();
}

bool IsValidUtf8(const std::string& s) { return ReplaceInvalidUtf8(s) == s; }

// The record as a JSON object, with or without its "hash" member. Strings must be valid UTF-8.
json RecordObject(const AuditRecord& r, bool with_hash) {
  json extra = json::object();
  for (const auto& [key, value] : r.extra) {
    if (const auto* number = std::get_if<std::int64_t>(&value)) {
      extra[key] = *number;
    } else {
      extra[key] = std::get<std::string>(value);
    }
  }
  json object = {{"seq", r.seq},
                 {"ts", r.ts},
                 {"recommendation_id", r.recommendation_id},
                 {"database", r.database},
                 {"step", std::string(AuditStepName(r.step))},
                 {"detail", r.detail},
                 {"sql", r.sql},
                 {"rollback_sql", r.rollback_sql},
                 {"extra", std::move(extra)},
                 {"prev_hash", r.prev_hash}};
  if (with_hash) object["hash"] = r.hash;
  return object;
}

Result<std::string> CanonicalRecordJson(const AuditRecord& r, bool with_hash) {
  return protocol::CanonicalJson(
      RecordObject(r, with_hash).dump(-1, ' ', false, json::error_handler_t::replace));
}

// Why `entry` cannot be recorded, or nullopt.
std::optional<std::string> EntryProblem(const AuditEntry& entry) {
  if (AuditStepName(entry.step).empty()) {
    return "unknown audit step " + std::to_string(static_cast<int>(entry.step));
  }
  const std::pair<const char*, const std::string*> fields[] = {
      {"recommendation_id", &entry.recommendation_id},
      {"database", &entry.database},
      {"sql", &entry.sql},
      {"rollback_sql", &entry.rollback_sql}};
  for (const auto& [name, value] : fields) {
    if (!IsValidUtf8(*value)) return std::string(name) + " is not valid UTF-8";
  }
  for (const auto& [key, value] : entry.extra) {
    const auto* text = std::get_if<std::string>(&value);
    if (!IsValidUtf8(key) || (text != nullptr && !IsValidUtf8(*text))) {
      return "extra[\"" + ReplaceInvalidUtf8(key) + "\"] is not valid UTF-8";
    }
  }
  return std::nullopt;
}

// A complete line that is JSON, checked against the chain: the record, or why it is invalid.
std::variant<AuditRecord, std::string> CheckRecord(std::string_view line,
                                                   std::uint64_t expected_seq,
                                                   std::string_view expected_prev_hash) {
  const Result<std::string> unsigned_part = protocol::CanonicalJsonWithout(line, "hash");
  if (!unsigned_part.ok()) return unsigned_part.error().message;
  const json j = json::parse(line);
  if (!j.is_object()) return std::string("not a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (std::find(kRecordKeys.begin(), kRecordKeys.end(), key) == kRecordKeys.end()) {
      return "unexpected key \"" + key + "\"";
    }
  }
  AuditRecord r;
  std::string step;
  for (const auto& [key, field] :
       {std::pair{"ts", &r.ts}, std::pair{"recommendation_id", &r.recommendation_id},
        std::pair{"database", &r.database}, std::pair{"step", &step},
        std::pair{"detail", &r.detail}, std::pair{"sql", &r.sql},
        std::pair{"rollback_sql", &r.rollback_sql}, std::pair{"prev_hash", &r.prev_hash},
        std::pair{"hash", &r.hash}}) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return std::string(key) + " missing or not a string";
    *field = it->get<std::string>();
  }
  const auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned()) {
    return std::string("seq missing or not a positive integer");
  }
  r.seq = seq->get<std::uint64_t>();
  const auto extra = j.find("extra");
  if (extra == j.end() || !extra->is_object()) return std::string("extra missing or not an object");
  for (const auto& [key, value] : extra->items()) {
    if (value.is_string()) {
      r.extra.emplace(key, value.get<std::string>());
    } else if (value.is_number_integer()) {
      r.extra.emplace(key, value.get<std::int64_t>());  // CanonicalJson refused > int64 max
    } else {
      return "extra." + key + " is neither a string nor an integer";
    }
  }
  const std::optional<AuditStep> known_step = ParseAuditStep(step);
  if (!known_step) return "unknown step \"" + step + "\"";
  r.step = *known_step;
  if (!IsHash(r.prev_hash) || !IsHash(r.hash)) {
    return std::string("prev_hash or hash is not 64 lowercase hex digits");
  }
  if (r.seq != expected_seq) {
    return "seq " + std::to_string(r.seq) + " where " + std::to_string(expected_seq) +
           " was expected (a record is missing, repeated or out of order)";
  }
  if (r.prev_hash != expected_prev_hash) {
    return expected_seq == 1 ? std::string("prev_hash of the first record is not all zeros")
                             : "prev_hash is not the hash of seq " + std::to_string(r.seq - 1);
  }
  if (protocol::Sha256Hex(*unsigned_part) != r.hash) {
    return std::string("hash does not match the record's content (the record was changed)");
  }
  return r;
}

// The result of reading a log's text.
struct ParsedLog {
  std::vector<AuditRecord> records;  // valid records up to the first bad one
  std::size_t valid_bytes = 0;       // length of those records' lines
  std::size_t torn_bytes = 0;        // > 0: the last line is torn and this long
  std::uint64_t bad_line = 0;        // > 0: the first invalid complete line (= its seq)
  std::string reason;                // why bad_line is invalid
};

ParsedLog ParseLog(std::string_view text) {
  ParsedLog parsed;
  std::size_t pos = 0;
  std::string prev_hash(kZeroHash);
  while (pos < text.size()) {
    const std::uint64_t line_number = parsed.records.size() + 1;
    const std::size_t newline = text.find('\n', pos);
    if (newline == std::string_view::npos) {
      parsed.torn_bytes = text.size() - pos;
      break;
    }
    const std::string_view line = text.substr(pos, newline - pos);
    if (!json::accept(line)) {
      if (newline + 1 == text.size()) {
        parsed.torn_bytes = text.size() - pos;
      } else {
        parsed.bad_line = line_number;
        parsed.reason = "not JSON";
      }
      break;
    }
    auto checked = CheckRecord(line, line_number, prev_hash);
    if (auto* reason = std::get_if<std::string>(&checked)) {
      parsed.bad_line = line_number;
      parsed.reason = std::move(*reason);
      break;
    }
    parsed.records.push_back(std::get<AuditRecord>(std::move(checked)));
    prev_hash = parsed.records.back().hash;
    pos = newline + 1;
    parsed.valid_bytes = pos;
  }
  return parsed;
}

}  // namespace

std::string_view AuditStepName(AuditStep step) {
  const auto index = static_cast<std::size_t>(step);
  return index < kStepNames.size() ? kStepNames[index] : std::string_view();
}

std::optional<AuditStep> ParseAuditStep(std::string_view name) {
  const auto it = std::find(kStepNames.begin(), kStepNames.end(), name);
  if (it == kStepNames.end()) return std::nullopt;
  return static_cast<AuditStep>(it - kStepNames.begin());
}

bool IsOutcomeStep(AuditStep step) {
  switch (step) {
    case AuditStep::kApplied:
    case AuditStep::kNoop:
    case AuditStep::kFailed:
    case AuditStep::kRejected:
    case AuditStep::kVerifyPassed:
    case AuditStep::kRegressed:
    case AuditStep::kRolledBack:
    case AuditStep::kRollbackFailed:
      return true;
    case AuditStep::kReceived:
    case AuditStep::kVerified:
    case AuditStep::kStarted:
    case AuditStep::kRecovered:
      return false;
  }
  return false;
}

Result<std::string> AuditRecordJson(const AuditRecord& record) {
  return CanonicalRecordJson(record, /*with_hash=*/true);
}

AuditFileContents ReadAuditFile(const std::string& path) {
  AuditFileContents contents;
  AuditVerification& v = contents.verification;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      v.ok = true;
      return contents;
    }
    v.exists = true;
    v.reason = IoErrorFromErrno(path, "cannot open").message;
    return contents;
  }
  v.exists = true;
  Result<std::string> text = ReadWholeFd(fd.get(), path);
  if (!text.ok()) {
    v.reason = text.error().message;
    return contents;
  }
  ParsedLog parsed = ParseLog(*text);
  v.ok = parsed.bad_line == 0;
  v.records = parsed.records.size();
  v.first_bad_seq = parsed.bad_line;
  v.reason = std::move(parsed.reason);
  v.torn_tail = parsed.torn_bytes > 0;
  contents.records = std::move(parsed.records);
  return contents;
}

AuditVerification VerifyAuditFile(const std::string& path) {
  return ReadAuditFile(path).verification;
}

AuditLog::AuditLog(std::string path, const Clock& clock, Fs& fs, int fd)
    : path_(std::move(path)), clock_(clock), fs_(fs), fd_(fd) {}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, const Clock& clock,
                                                 Fs& fs) {
  bool created = true;
  int fd = fs.Open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = fs.Open(path, O_RDWR | O_APPEND | O_CLOEXEC, 0);
  }
  if (fd < 0) return IoErrorFromErrno(path, "cannot open audit log");
  std::unique_ptr<AuditLog> log(new AuditLog(path, clock, fs, fd));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return MakeError(ErrorCode::kConfig,
                       path +
                           ": in use by another process (is a second agent running with the "
                           "same state directory?)");
    }
    return IoErrorFromErrno(path, "cannot lock audit log");
  }
  if (created) {
    // The mode given to open() is reduced by the umask.
    if (::fchmod(fd, 0600) != 0) return IoErrorFromErrno(path, "cannot set mode 0600");
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (Status st = SyncDirectory(fs, dir.empty() ? "." : dir); !st.ok()) {
      return std::move(st).error();
    }
  }
  if (Status st = log->Load(); !st.ok()) return std::move(st).error();
  return log;
}

Status AuditLog::Load() {
  Result<std::string> text = ReadWholeFd(fd_.get(), path_);
  RETURN_IF_ERROR(text);
  ParsedLog parsed = ParseLog(*text);
  if (parsed.bad_line > 0) {
    return MakeError(ErrorCode::kParseFailed,
                     path_ + ": line " + std::to_string(parsed.bad_line) + " (seq " +
                         std::to_string(parsed.bad_line) + "): " + parsed.reason +
                         "; the audit chain is broken there, so applying recommendations is off "
                         "until the file is repaired or moved aside (see `optischema-agent audit "
                         "verify`)");
  }
  if (parsed.torn_bytes > 0) {
    if (::ftruncate(fd_.get(), static_cast<off_t>(parsed.valid_bytes)) != 0) {
      return IoErrorFromErrno(path_, "cannot remove the incomplete last line");
    }
    if (fs_.Fsync(fd_.get()) != 0) return IoErrorFromErrno(path_, "cannot fsync");
    repaired_tail_warning_ = path_ + ": removed an incomplete last line (" +
                             std::to_string(parsed.torn_bytes) +
                             " bytes) left by an interrupted write; the chain continues from seq " +
                             std::to_string(parsed.records.size());
  }
  size_ = parsed.valid_bytes;
  records_ = std::move(parsed.records);
  for (std::size_t i = 0; i < records_.size(); ++i) IndexOutcome(i);
  return OkStatus();
}

Result<AuditRecord> AuditLog::Append(const AuditEntry& entry) {
  if (std::optional<std::string> problem = EntryProblem(entry)) {
    return MakeError(ErrorCode::kInvalidArgument, path_ + ": cannot record: " + *problem);
  }
  std::lock_guard lock(mu_);
  if (!broken_.empty()) return MakeError(ErrorCode::kIo, broken_);

  AuditRecord record{.seq = records_.empty() ? 1 : records_.back().seq + 1,
                     .ts = FormatRfc3339(clock_.Now()),
                     .recommendation_id = entry.recommendation_id,
                     .database = entry.database,
                     .step = entry.step,
                     .detail = ReplaceInvalidUtf8(entry.detail),
                     .sql = entry.sql,
                     .rollback_sql = entry.rollback_sql,
                     .extra = entry.extra,
                     .prev_hash = records_.empty() ? std::string(kZeroHash) : records_.back().hash,
                     .hash = {}};
  Result<std::string> unsigned_part = CanonicalRecordJson(record, /*with_hash=*/false);
  RETURN_IF_ERROR(unsigned_part);
  record.hash = protocol::Sha256Hex(*unsigned_part);
  Result<std::string> line = CanonicalRecordJson(record, /*with_hash=*/true);
  RETURN_IF_ERROR(line);
  line->push_back('\n');

  std::string_view rest = *line;
  while (!rest.empty()) {
    const ssize_t n = fs_.Write(fd_.get(), rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Error error = IoErrorFromErrno(path_, "cannot write");
      if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {
        broken_ = error.message + "; cutting the partial record off failed too: open the log again";
      }
      return error;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (fs_.Fsync(fd_.get()) != 0) {
    Error error = IoErrorFromErrno(path_, "cannot fsync");
    // After a failed fsync the kernel may have dropped the data while later fsyncs succeed, so
    // nothing written through this descriptor can be trusted to be on disk any more.
    broken_ = error.message + "; whether the last record is on disk is unknown: open the log again";
    return error;
  }
  size_ += line->size();
  records_.push_back(record);
  IndexOutcome(records_.size() - 1);
  return record;
}

void AuditLog::IndexOutcome(std::size_t index) {
  const AuditRecord& r = records_[index];
  if (!r.recommendation_id.empty() && IsOutcomeStep(r.step)) {
    last_outcome_[r.recommendation_id] = index;
  }
}

std::optional<AuditRecord> AuditLog::LastOutcome(std::string_view recommendation_id) const {
  std::lock_guard lock(mu_);
  const auto it = last_outcome_.find(std::string(recommendation_id));
  if (it == last_outcome_.end()) return std::nullopt;
  return records_[it->second];
}

std::vector<AuditRecord> AuditLog::ReadAll() const {
  std::lock_guard lock(mu_);
  return records_;
}

std::vector<AuditRecord> AuditLog::After(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  // seq n is at index n - 1.
  if (seq >= records_.size()) return {};
  return std::vector<AuditRecord>(records_.begin() + static_cast<std::ptrdiff_t>(seq),
                                  records_.end());
}

std::vector<AuditRecord> AuditLog::ForRecommendation(std::string_view recommendation_id) const {
  std::lock_guard lock(mu_);
  std::vector<AuditRecord> out;
  for (const AuditRecord& r : records_) {
    if (r.recommendation_id == recommendation_id) out.push_back(r);
  }
  return out;
}

bool AuditLog::Applied(std::string_view recommendation_id) const {
  std::lock_guard lock(mu_);
  bool applied = false;
  for (const AuditRecord& r : records_) {
    if (r.recommendation_id != recommendation_id) continue;
    if (r.step == AuditStep::kApplied || r.step == AuditStep::kNoop) applied = true;
    if (r.step == AuditStep::kRolledBack) applied = false;
  }
  return applied;
}

std::vector<std::string> AuditLog::Unstarted() const {
  std::lock_guard lock(mu_);
  std::map<std::string_view, std::size_t> latest;
  for (std::size_t i = 0; i < records_.size(); ++i) latest[records_[i].recommendation_id] = i;
  std::vector<std::size_t> taken;
  for (const auto& [id, index] : latest) {
    const AuditStep step = records_[index].step;
    if (!id.empty() && (step == AuditStep::kReceived || step == AuditStep::kVerified)) {
      taken.push_back(index);
    }
  }
  std::sort(taken.begin(), taken.end());
  std::vector<std::string> out;
  for (std::size_t index : taken) out.push_back(records_[index].recommendation_id);
  return out;
}

std::vector<std::string> AuditLog::InFlight() const {
  std::lock_guard lock(mu_);
  // Latest record index per recommendation.
  std::map<std::string_view, std::size_t> latest;
  for (std::size_t i = 0; i < records_.size(); ++i) latest[records_[i].recommendation_id] = i;
  std::vector<std::size_t> started;
  for (const auto& [id, index] : latest) {
    if (records_[index].step == AuditStep::kStarted) started.push_back(index);
  }
  std::sort(started.begin(), started.end());
  std::vector<std::string> out;
  for (std::size_t index : started) out.push_back(records_[index].recommendation_id);
  return out;
}

}  // namespace optischema::applier
