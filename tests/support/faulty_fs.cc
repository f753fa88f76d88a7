#include "tests/support/faulty_fs.h"

#include <cerrno>
#include <utility>

namespace optischema::testing {

void FaultyFs::Inject(Fault fault, std::string path_part, int times) {
  std::lock_guard lock(mu_);
  pending_[fault] = {std::move(path_part), times};
}

int FaultyFs::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

bool FaultyFs::Take(Fault fault, const std::string& path) {
  std::lock_guard lock(mu_);
  const auto it = pending_.find(fault);
  if (it == pending_.end() || it->second.times <= 0) return false;
  if (path.find(it->second.path_part) == std::string::npos) return false;
  --it->second.times;
  ++hits_;
  return true;
}

std::string FaultyFs::PathOf(int fd) const {
  std::lock_guard lock(mu_);
  const auto it = open_paths_.find(fd);
  return it == open_paths_.end() ? std::string() : it->second;
}

int FaultyFs::Open(const std::string& path, int flags, mode_t mode) {
  const int fd = SystemFs().Open(path, flags, mode);
  if (fd >= 0) {
    std::lock_guard lock(mu_);
    open_paths_[fd] = path;
    torn_.erase(fd);
  }
  return fd;
}

ssize_t FaultyFs::Write(int fd, const char* data, std::size_t size) {
  {
    std::lock_guard lock(mu_);
    if (torn_[fd]) {
      torn_[fd] = false;
      errno = ENOSPC;
      return -1;
    }
  }
  const std::string path = PathOf(fd);
  if (Take(Fault::kNoSpaceOnWrite, path)) {
    errno = ENOSPC;
    return -1;
  }
  if (size > 1 && Take(Fault::kTornWrite, path)) {
    const ssize_t written = SystemFs().Write(fd, data, size / 2);
    std::lock_guard lock(mu_);
    torn_[fd] = true;
    return written;
  }
  return SystemFs().Write(fd, data, size);
}

int FaultyFs::Fsync(int fd) {
  if (Take(Fault::kEioOnFsync, PathOf(fd))) {
    errno = EIO;
    return -1;
  }
  return SystemFs().Fsync(fd);
}

int FaultyFs::FsyncDirectory(const std::string& dir) {
  if (Take(Fault::kDirectoryFsyncFails, dir)) {
    errno = EIO;
    return -1;
  }
  return SystemFs().FsyncDirectory(dir);
}

int FaultyFs::Rename(const std::string& from, const std::string& to) {
  if (Take(Fault::kRenameFails, from)) {
    errno = EIO;
    return -1;
  }
  return SystemFs().Rename(from, to);
}

int FaultyFs::Unlink(const std::string& path) { return SystemFs().Unlink(path); }

}  // namespace optischema::testing
