#pragma once

// Fs: the file-system calls that durable state depends on (the spool, the audit log, the files
// core/file_io writes), as a seam. SystemFs() makes the real calls; tests inject faults behind it
// (tests/support/faulty_fs.h): a full disk, EIO on fsync, a torn write, a failed rename or
// directory fsync. Reading, listing and locking go to the system directly: their failures are
// reported, never survived silently.
//
// Each call behaves as the POSIX call it is named after: it returns what that call returns and
// sets errno on failure, so callers report errors with IoErrorFromErrno (core/file_io.h).
// Implementations must be safe to call from any thread.

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace optischema {

class Fs {
 public:
  virtual ~Fs() = default;

  // open(2): a file descriptor, or -1.
  virtual int Open(const std::string& path, int flags, mode_t mode) = 0;
  // write(2): the number of bytes written (possibly fewer than `size`), or -1.
  virtual ssize_t Write(int fd, const char* data, std::size_t size) = 0;
  // fsync(2) of an open file: 0, or -1.
  virtual int Fsync(int fd) = 0;
  // Opens the directory `dir`, fsyncs it (making renames and removals in it durable) and closes
  // it: 0, or -1.
  virtual int FsyncDirectory(const std::string& dir) = 0;
  // rename(2): 0, or -1.
  virtual int Rename(const std::string& from, const std::string& to) = 0;
  // unlink(2): 0, or -1.
  virtual int Unlink(const std::string& path) = 0;
};

// The process's file system. Stateless; lives for the whole process.
Fs& SystemFs();

}  // namespace optischema
