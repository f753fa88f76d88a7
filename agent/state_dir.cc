#include "agent/state_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/file_io.h"

namespace optischema::agent {
namespace {

constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;
constexpr mode_t kHealthFileMode = 0644;

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

Status EnsureDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
    return IoErrorFromErrno(dir, "cannot create state directory");
  }
  return OkStatus();
}

// Through a symbolic link only when `follow` (the configured state_dir itself); otherwise never,
// even through one that replaced `path` after it was examined.
Status SetMode(const std::string& path, const struct stat& st, mode_t mode, bool follow) {
  if ((st.st_mode & 07777) == mode) return OkStatus();
  if (::fchmodat(AT_FDCWD, path.c_str(), mode, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == EOPNOTSUPP || errno == ENOENT) return OkStatus();  // now a link, or gone
    return IoErrorFromErrno(path, "cannot set mode");
  }
  return OkStatus();
}

// Sets the modes on `dir` (already known to be a directory) and, depth first, below it.
Status SecureTree(const std::string& dir, const struct stat& dir_stat, bool top) {
  if (Status st = SetMode(dir, dir_stat, kDirMode, top); !st.ok()) return st;
  std::unique_ptr<DIR, DirCloser> handle(::opendir(dir.c_str()));
  if (handle == nullptr) return IoErrorFromErrno(dir, "cannot list");
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(handle.get())) {
    const std::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  if (errno != 0) return IoErrorFromErrno(dir, "cannot list");
  handle.reset();
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile (a spool file sent)
      return IoErrorFromErrno(path, "cannot stat");
    }
    Status status = OkStatus();
    if (S_ISDIR(st.st_mode)) {
      status = SecureTree(path, st, false);
    } else if (S_ISREG(st.st_mode)) {
      status = SetMode(path, st, top && name == StateDir::kHealthName ? kHealthFileMode : kFileMode,
                       false);
    }
    if (!status.ok()) return status;
  }
  return OkStatus();
}

Result<pg::DigestKey> ParseKey(const std::string& path, std::string_view bytes) {
  std::optional<pg::DigestKey> key = pg::DigestKey::FromBytes(bytes);
  if (!key) {
    return MakeError(ErrorCode::kParseFailed,
                     path + ": does not hold a digest key (" + std::to_string(pg::kDigestKeyBytes) +
                         " bytes); remove the file to have a new one made (table digests then "
                         "change, and recommendations made before are refused as drift)");
  }
  return *std::move(key);
}

// The key file's content, or nullopt when it does not exist. Never follows a symbolic link.
Result<std::optional<std::string>> ReadKeyFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::string>();
    return IoErrorFromErrno(path, "cannot open");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoErrorFromErrno(path, "cannot stat");
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kIo, path + ": not a regular file");
  }
  if ((st.st_mode & 077) != 0 && ::fchmod(fd.get(), kFileMode) != 0) {
    return IoErrorFromErrno(path, "cannot set mode");
  }
  std::string content(pg::kDigestKeyBytes + 1, '\0');
  std::size_t used = 0;
  while (used < content.size()) {
    const ssize_t n = ::read(fd.get(), content.data() + used, content.size() - used);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoErrorFromErrno(path, "cannot read");
    }
    used += static_cast<std::size_t>(n);
  }
  content.resize(used);
  return std::optional<std::string>(std::move(content));
}

// Writes a new key to a temp file and links it into place unless `path` exists by then.
Status CreateKeyFile(const std::string& state_dir, const std::string& path) {
  std::string bytes(pg::kDigestKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) !=
      1) {
    return MakeError(ErrorCode::kInternal, path + ": no random bytes for a new digest key");
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  Status written = WriteNewFileSynced(SystemFs(), tmp, bytes);
  std::fill(bytes.begin(), bytes.end(), '\0');
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  // Written by root (a one-shot command) into the service user's directory: the service must
  // still be able to read it.
  struct stat dir_stat {};
  if (::geteuid() == 0 && ::stat(state_dir.c_str(), &dir_stat) == 0 &&
      ::chown(tmp.c_str(), dir_stat.st_uid, dir_stat.st_gid) != 0) {
    Error e = IoErrorFromErrno(tmp, "cannot give to the state directory's owner");
    ::unlink(tmp.c_str());
    return e;
  }
  const bool linked = ::link(tmp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!linked && link_errno != EEXIST) {
    errno = link_errno;
    return IoErrorFromErrno(path, "cannot link into place");
  }
  return SyncDirectory(SystemFs(), state_dir);
}

}  // namespace

Status SecureStateDir(const StateDir& layout) {
  const std::string& state_dir = layout.root();
  if (Status st = EnsureDirectory(state_dir); !st.ok()) return st;
  struct stat st {};
  if (::lstat(state_dir.c_str(), &st) != 0) return IoErrorFromErrno(state_dir, "cannot stat");
  if (S_ISLNK(st.st_mode) && ::stat(state_dir.c_str(), &st) != 0) {
    return IoErrorFromErrno(state_dir, "cannot stat");
  }
  if (!S_ISDIR(st.st_mode)) return MakeError(ErrorCode::kIo, state_dir + ": not a directory");
  return SecureTree(state_dir, st, true);
}

Result<pg::DigestKey> ReadDigestKey(const StateDir& state_dir) {
  const std::string path = state_dir.DigestKeyFile();
  auto content = ReadKeyFile(path);
  RETURN_IF_ERROR(content);
  if (!*content) return MakeError(ErrorCode::kIo, path + ": does not exist");
  return ParseKey(path, **content);
}

Result<pg::DigestKey> LoadOrCreateDigestKey(const StateDir& state_dir) {
  if (Status st = EnsureDirectory(state_dir.root()); !st.ok()) return std::move(st).error();
  const std::string path = state_dir.DigestKeyFile();
  auto content = ReadKeyFile(path);
  RETURN_IF_ERROR(content);
  if (*content) return ParseKey(path, **content);
  if (Status created = CreateKeyFile(state_dir.root(), path); !created.ok()) {
    return std::move(created).error();
  }
  return ReadDigestKey(state_dir);
}

}  // namespace optischema::agent
