#include "delivery/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_io.h"

#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>
#include <vector>

namespace optischema::delivery {

namespace {

constexpr std::string_view kEntrySuffix = ".json.gz";
constexpr std::string_view kTempSuffix = ".tmp";
constexpr std::string_view kBadDirName = "bad";
constexpr std::size_t kSeqDigits = 20;  // enough for any uint64
constexpr std::size_t kMaxIdLength = 64;
constexpr int kGzipLevel = 3;  // a third of level 6's CPU; rounded snapshots still compress ~12:1
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip header and trailer
constexpr int kZlibMemLevel = 8;
constexpr std::size_t kZlibOutChunk = std::size_t{64} * 1024;
constexpr std::size_t kZlibMaxInChunk = std::numeric_limits<uInt>::max();

std::error_code Errno() { return {errno, std::generic_category()}; }

Error IoError(std::string_view path, std::string_view what, std::error_code ec) {
  std::string message = "spool ";
  message.append(path).append(": ").append(what).append(": ").append(ec.message());
  return MakeError(ErrorCode::kIo, std::move(message));
}

// Owns a zlib stream set up for gzip; ends it on destruction.
class GzipStream {
 public:
  enum class Direction { kCompress, kDecompress };

  explicit GzipStream(Direction direction) : direction_(direction) {
    const int ret = direction_ == Direction::kCompress
                        ? deflateInit2(&z_, kGzipLevel, Z_DEFLATED, kGzipWindowBits, kZlibMemLevel,
                                       Z_DEFAULT_STRATEGY)
                        : inflateInit2(&z_, kGzipWindowBits);
    initialized_ = ret == Z_OK;
  }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;
  ~GzipStream() {
    if (!initialized_) return;
    if (direction_ == Direction::kCompress) {
      deflateEnd(&z_);
    } else {
      inflateEnd(&z_);
    }
  }

  // False when zlib could not allocate its state.
  [[nodiscard]] bool ok() const { return initialized_; }
  z_stream* get() { return &z_; }

  // Hands zlib the next piece of `input` that fits in its 32-bit counter and consumes it.
  void FeedFrom(std::string_view* input) {
    const std::size_t chunk = std::min(input->size(), kZlibMaxInChunk);
    z_.next_in = reinterpret_cast<const Bytef*>(input->data());
    z_.avail_in = static_cast<uInt>(chunk);
    input->remove_prefix(chunk);
  }

  // Grows `out` by one chunk for zlib to write into; Trim() then drops what zlib left unused.
  void OfferSpace(std::string* out) {
    const std::size_t used = out->size();
    out->resize(used + kZlibOutChunk);
    z_.next_out = reinterpret_cast<Bytef*>(out->data() + used);
    z_.avail_out = static_cast<uInt>(kZlibOutChunk);
  }
  void Trim(std::string* out) const { out->resize(out->size() - z_.avail_out); }

 private:
  const Direction direction_;
  z_stream z_{};
  bool initialized_ = false;
};

Result<std::string> Gzip(std::string_view data) {
  GzipStream stream(GzipStream::Direction::kCompress);
  if (!stream.ok()) return MakeError(ErrorCode::kInternal, "spool: cannot initialise zlib deflate");
  std::string out;
  int flush = Z_NO_FLUSH;
  while (flush != Z_FINISH) {
    stream.FeedFrom(&data);
    if (data.empty()) flush = Z_FINISH;
    do {
      stream.OfferSpace(&out);
      // Cannot fail: the stream is valid and there is room for output.
      deflate(stream.get(), flush);
      stream.Trim(&out);
    } while (stream.get()->avail_out == 0);
  }
  return out;
}

// Errors carry no path; the caller adds it.
Result<std::string> Gunzip(std::string_view data) {
  GzipStream stream(GzipStream::Direction::kDecompress);
  if (!stream.ok()) return MakeError(ErrorCode::kInternal, "cannot initialise zlib inflate");
  std::string out;
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    if (stream.get()->avail_in == 0) {
      if (data.empty()) return MakeError(ErrorCode::kParseFailed, "corrupt gzip: truncated");
      stream.FeedFrom(&data);
    }
    stream.OfferSpace(&out);
    ret = inflate(stream.get(), Z_NO_FLUSH);
    stream.Trim(&out);
    if (ret == Z_DATA_ERROR) {
      const char* reason = stream.get()->msg;
      return MakeError(ErrorCode::kParseFailed,
                       std::string("corrupt gzip: ") + (reason != nullptr ? reason : "bad data"));
    }
    if (ret == Z_MEM_ERROR) return MakeError(ErrorCode::kInternal, "zlib inflate: out of memory");
  }
  if (stream.get()->avail_in != 0 || !data.empty()) {
    return MakeError(ErrorCode::kParseFailed, "corrupt gzip: data after the end of the stream");
  }
  return out;
}

bool IsValidId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// "<seq, 20 digits>-<id>.json.gz"
std::string EntryName(SpoolEntryId seq, std::string_view id) {
  char digits[kSeqDigits];
  const auto length =
      static_cast<std::size_t>(std::to_chars(digits, digits + kSeqDigits, seq).ptr - digits);
  std::string name(kSeqDigits - length, '0');
  name.append(digits, length).append("-").append(id).append(kEntrySuffix);
  return name;
}

struct ParsedName {
  SpoolEntryId seq;
  std::string_view id;
};

// Inverse of EntryName(); nullopt for any other name.
std::optional<ParsedName> ParseEntryName(std::string_view name) {
  if (!name.ends_with(kEntrySuffix)) return std::nullopt;
  name.remove_suffix(kEntrySuffix.size());
  if (name.size() < kSeqDigits + 2 || name[kSeqDigits] != '-') return std::nullopt;
  SpoolEntryId seq = 0;
  const char* digits_end = name.data() + kSeqDigits;
  const auto [ptr, ec] = std::from_chars(name.data(), digits_end, seq);
  if (ec != std::errc() || ptr != digits_end) return std::nullopt;
  const std::string_view id = name.substr(kSeqDigits + 1);
  if (!IsValidId(id)) return std::nullopt;
  return ParsedName{seq, id};
}

// Appends the names in `dir` to `names`.
std::error_code ListNames(const std::string& dir, std::vector<std::string>* names) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names->push_back(it->path().filename().string());
  }
  return ec;
}

// The spool's errors name it: "spool <path>: <step>: <reason>".
Status InSpool(Status status) {
  if (status.ok()) return status;
  Error e = std::move(status).error();
  e.message = "spool " + e.message;
  return e;
}

// Deletes a file when it goes out of scope unless dismissed, so that a failed Append() leaves
// nothing behind.
class UnlinkUnlessDismissed {
 public:
  UnlinkUnlessDismissed(Fs& fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  UnlinkUnlessDismissed(const UnlinkUnlessDismissed&) = delete;
  UnlinkUnlessDismissed& operator=(const UnlinkUnlessDismissed&) = delete;
  ~UnlinkUnlessDismissed() {
    if (!path_.empty()) fs_.Unlink(path_);
  }

  void Retarget(std::string path) { path_ = std::move(path); }
  void Dismiss() { path_.clear(); }

 private:
  Fs& fs_;
  std::string path_;
};

// A failed write names what to do about it: the snapshot is lost either way.
Error WithRemedy(Error error, const std::string& dir) {
  const bool full =
      error.message.find(std::make_error_code(std::errc::no_space_on_device).message()) !=
          std::string::npos ||
      error.message.find(std::error_code(EDQUOT, std::generic_category()).message()) !=
          std::string::npos;
  error.message +=
      full ? "; free space on the file system holding " + dir + " or lower agent.spool_max_bytes"
           : "; check the disk holding " + dir + " and its permissions";
  return error;
}

}  // namespace

Spool::Spool(std::string dir, std::uint64_t max_bytes, Fs& fs)
    : dir_(std::move(dir)), max_bytes_(max_bytes), fs_(fs) {}

Status Spool::Open() {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError(dir_, "cannot create directory", Errno());
  }
  std::vector<std::string> names;
  if (const std::error_code ec = ListNames(dir_, &names)) {
    return IoError(dir_, "cannot list directory", ec);
  }

  std::map<SpoolEntryId, SpoolEntry> entries;
  std::uint64_t bytes = 0;
  SpoolEntryId max_seq = 0;
  for (const std::string& name : names) {
    const std::string path = dir_ + "/" + name;
    const std::string_view view = name;
    if (view.ends_with(kTempSuffix) &&
        ParseEntryName(view.substr(0, view.size() - kTempSuffix.size()))) {
      if (fs_.Unlink(path) != 0 && errno != ENOENT) {
        return IoError(path, "cannot remove temp file", Errno());
      }
      continue;
    }
    const std::optional<ParsedName> parsed = ParseEntryName(name);
    if (!parsed) continue;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return IoError(path, "cannot stat", Errno());
    if (!S_ISREG(st.st_mode)) continue;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (entries
            .try_emplace(parsed->seq, SpoolEntry{std::string(parsed->id), parsed->seq, path, size})
            .second) {
      bytes += size;
      max_seq = std::max(max_seq, parsed->seq);
    }
  }

  // Quarantined entries keep their names; continuing after them keeps names in bad/ unique.
  const std::string bad_dir = dir_ + "/" + std::string(kBadDirName);
  names.clear();
  const std::error_code bad_ec = ListNames(bad_dir, &names);
  if (bad_ec && bad_ec != std::errc::no_such_file_or_directory) {
    return IoError(bad_dir, "cannot list directory", bad_ec);
  }
  for (const std::string& name : names) {
    if (const std::optional<ParsedName> parsed = ParseEntryName(name)) {
      max_seq = std::max(max_seq, parsed->seq);
    }
  }

  std::lock_guard lock(mu_);
  entries_ = std::move(entries);
  bytes_ = bytes;
  next_seq_ = max_seq + 1;
  return OkStatus();
}

Result<SpoolEntryId> Spool::Append(std::string_view id, std::string_view json_body) {
  if (!IsValidId(id)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "spool: snapshot id must be 1 to 64 characters from [A-Za-z0-9-]");
  }
  Result<std::string> compressed = Gzip(json_body);
  RETURN_IF_ERROR(compressed);

  // Held until the entry is indexed, so entries are indexed in seq order whatever the number of
  // appending threads.
  std::lock_guard append_lock(append_mu_);
  SpoolEntryId seq = 0;
  {
    std::lock_guard lock(mu_);
    seq = next_seq_++;
  }
  SpoolEntry entry{std::string(id), seq, dir_ + "/" + EntryName(seq, id), compressed->size()};
  const std::string temp_path = entry.path + std::string(kTempSuffix);
  UnlinkUnlessDismissed cleanup(fs_, temp_path);
  if (Status written = InSpool(WriteNewFileSynced(fs_, temp_path, *compressed)); !written.ok()) {
    return WithRemedy(std::move(written).error(), dir_);
  }
  if (fs_.Rename(temp_path, entry.path) != 0) {
    return WithRemedy(IoError(temp_path, "cannot rename into place", Errno()), dir_);
  }
  cleanup.Retarget(entry.path);
  if (Status synced = InSpool(SyncDirectory(fs_, dir_)); !synced.ok()) {
    return WithRemedy(std::move(synced).error(), dir_);
  }
  cleanup.Dismiss();

  std::lock_guard lock(mu_);
  bytes_ += entry.size;
  entries_.emplace(seq, std::move(entry));
  EnforceBoundLocked();
  return seq;
}

void Spool::EnforceBoundLocked() {
  // Appends are serialised, so the newest entry has the highest seq: never first of two or more.
  while (bytes_ > max_bytes_ && entries_.size() > 1) {
    const auto oldest = entries_.begin();
    // A file that cannot be deleted stays on disk and is indexed again by the next Open().
    fs_.Unlink(oldest->second.path);
    bytes_ -= oldest->second.size;
    entries_.erase(oldest);
    ++dropped_;
  }
}

std::optional<SpoolEntry> Spool::Oldest() const {
  std::lock_guard lock(mu_);
  if (entries_.empty()) return std::nullopt;
  return entries_.begin()->second;
}

Result<std::string> Spool::ReadBody(const SpoolEntry& entry) const {
  Result<std::string> compressed = ReadCompressed(entry);
  if (!compressed.ok()) return compressed;
  Result<std::string> body = Gunzip(*compressed);
  if (!body.ok()) {
    return MakeError(body.error().code, "spool " + entry.path + ": " + body.error().message);
  }
  return body;
}

Result<std::string> Spool::ReadCompressed(const SpoolEntry& entry) const {
  Result<std::string> bytes = ReadWholeFile(entry.path);
  if (!bytes.ok()) {
    return MakeError(ErrorCode::kIo,
                     "spool " + entry.path + ": cannot read: " + bytes.error().message);
  }
  return bytes;
}

Status Spool::Remove(const SpoolEntry& entry) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(entry.seq);
  if (it == entries_.end()) return OkStatus();
  if (fs_.Unlink(it->second.path) != 0 && errno != ENOENT) {
    return IoError(it->second.path, "cannot delete", Errno());
  }
  bytes_ -= it->second.size;
  entries_.erase(it);
  return OkStatus();
}

Status Spool::Quarantine(const SpoolEntry& entry) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(entry.seq);
  if (it == entries_.end()) return OkStatus();
  const std::string bad_dir = dir_ + "/" + std::string(kBadDirName);
  if (::mkdir(bad_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError(bad_dir, "cannot create directory", Errno());
  }
  const std::string target = bad_dir + "/" + EntryName(it->second.seq, it->second.id);
  if (fs_.Rename(it->second.path, target) != 0 && errno != ENOENT) {
    return IoError(it->second.path, "cannot move to " + bad_dir, Errno());
  }
  bytes_ -= it->second.size;
  entries_.erase(it);
  return OkStatus();
}

std::size_t Spool::Depth() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::uint64_t Spool::Bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

std::uint64_t Spool::TakeDropped() {
  std::lock_guard lock(mu_);
  return std::exchange(dropped_, 0);
}

}  // namespace optischema::delivery
