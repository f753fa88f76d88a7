#include "core/file_io.h"

#include <fcntl.h>
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

Status WriteNewFileSynced(const std::string& path, std::string_view bytes) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return IoErrorFromErrno(path, "cannot create");
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoErrorFromErrno(path, "cannot write");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0) return IoErrorFromErrno(path, "cannot fsync");
  if (fd.Close() != 0) return IoErrorFromErrno(path, "cannot close");
  return OkStatus();
}

Status SyncDirectory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return IoErrorFromErrno(dir, "cannot open directory");
  if (::fsync(fd.get()) != 0) return IoErrorFromErrno(dir, "cannot fsync directory");
  return OkStatus();
}

}  // namespace optischema
