#pragma once

// FaultyFs: the Fs seam (core/fs.h) over the real file system, with faults injected on demand:
// a full disk on write, a write torn half-way, EIO on fsync, a failed rename or directory fsync.
// Each injected fault hits the next matching call once (or `times` times), on paths containing
// `path_part`; every other call goes to the system. Thread-safe.

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

#include "core/fs.h"

namespace optischema::testing {

class FaultyFs final : public Fs {
 public:
  enum class Fault {
    kNoSpaceOnWrite,       // write(2) fails with ENOSPC, nothing written
    kTornWrite,            // half the bytes are written, then the next write fails with ENOSPC
    kEioOnFsync,           // fsync(2) of a file fails with EIO
    kRenameFails,          // rename(2) fails with EIO
    kDirectoryFsyncFails,  // the directory fsync fails with EIO
  };

  void Inject(Fault fault, std::string path_part = "", int times = 1);
  // How many injected faults were hit so far.
  int hits() const;

  int Open(const std::string& path, int flags, mode_t mode) override;
  ssize_t Write(int fd, const char* data, std::size_t size) override;
  int Fsync(int fd) override;
  int FsyncDirectory(const std::string& dir) override;
  int Rename(const std::string& from, const std::string& to) override;
  int Unlink(const std::string& path) override;

 private:
  struct Pending {
    std::string path_part;
    int times = 0;
  };
  // True (and one use consumed) when `fault` is pending for `path`.
  bool Take(Fault fault, const std::string& path);
  std::string PathOf(int fd) const;

  mutable std::mutex mu_;
  std::map<Fault, Pending> pending_;
  std::map<int, std::string> open_paths_;  // fd → path, for the faults on fds
  std::map<int, bool> torn_;               // fds whose next write fails after a torn one
  int hits_ = 0;
};

}  // namespace optischema::testing
