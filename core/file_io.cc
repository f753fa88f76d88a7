#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace optischema {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::Close() { return ::close(std::exchange(fd_, -1)); }

Error IoErrorFromErrno(std::string_view path, std::string_view what) {
  std::string message(path);
  message.append(": ").append(what).append(": ").append(
      std::error_code(errno, std::generic_category()).message());
  return MakeError(ErrorCode::kIo, std::move(message));
}

Status WriteAll(Fs& fs, int fd, const std::string& path, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = fs.Write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoErrorFromErrno(path, "cannot write");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return OkStatus();
}

Status WriteNewFileSynced(Fs& fs, const std::string& path, std::string_view bytes) {
  UniqueFd fd(fs.Open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return IoErrorFromErrno(path, "cannot create");
  if (Status written = WriteAll(fs, fd.get(), path, bytes); !written.ok()) return written;
  if (fs.Fsync(fd.get()) != 0) return IoErrorFromErrno(path, "cannot fsync");
  if (fd.Close() != 0) return IoErrorFromErrno(path, "cannot close");
  return OkStatus();
}

Status ReplaceFile(Fs& fs, const std::string& path, std::string_view bytes, unsigned mode) {
  const std::string temporary = path + ".tmp";
  UniqueFd fd(fs.Open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return IoErrorFromErrno(temporary, "cannot create");
  if (Status written = WriteAll(fs, fd.get(), temporary, bytes); !written.ok()) return written;
  // Explicitly, whatever the umask.
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    return IoErrorFromErrno(temporary, "cannot chmod");
  }
  if (fd.Close() != 0) return IoErrorFromErrno(temporary, "cannot close");
  if (fs.Rename(temporary, path) != 0) return IoErrorFromErrno(path, "cannot rename");
  return OkStatus();
}

namespace {

// Appends the whole content of `fd`, read from its start, to `out`: 0, or the errno of the read
// that failed.
int ReadAllFrom(int fd, std::string* out) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(out->size()));
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    out->append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace

Result<std::string> ReadWholeFd(int fd, const std::string& path) {
  std::string content;
  if (const int error = ReadAllFrom(fd, &content); error != 0) {
    errno = error;
    return IoErrorFromErrno(path, "cannot read");
  }
  return content;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return MakeError(ErrorCode::kIo, std::generic_category().message(errno));
  std::string content;
  if (const int error = ReadAllFrom(fd.get(), &content); error != 0) {
    return MakeError(ErrorCode::kIo, std::generic_category().message(error));
  }
  return content;
}

Result<std::optional<std::string>> ReadFileIfExists(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::string>();
    return IoErrorFromErrno(path, "cannot open");
  }
  Result<std::string> content = ReadWholeFd(fd.get(), path);
  RETURN_IF_ERROR(content);
  return std::optional<std::string>(std::move(*content));
}

Status SyncDirectory(Fs& fs, const std::string& dir) {
  if (fs.FsyncDirectory(dir) != 0) return IoErrorFromErrno(dir, "cannot fsync directory");
  return OkStatus();
}

}  // namespace optischema
