#pragma once

// File writing and reading shared by the state directory's users. Durable writes (spool, agent id):
// a file is written completely and fsync'ed before it is renamed into place, and the directory is
// fsync'ed after the rename. Errors are kIo with the message "<path>: <step>: <system reason>".

#include <optional>
#include <string>
#include <string_view>

#include "core/fs.h"
#include "core/result.h"

namespace optischema {

// Owns a file descriptor; closes it on destruction, ignoring errors (use Close() to see them).
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  [[nodiscard]] int get() const { return fd_; }
  // Closes now: 0, or -1 with errno set.
  int Close();

 private:
  int fd_;
};

// kIo error "<path>: <what>: <reason of the current errno>".
Error IoErrorFromErrno(std::string_view path, std::string_view what);

// Creates `path` (which must not exist; mode 0600), writes all of `bytes`, fsyncs and closes it.
// On a failed write or fsync the file is left in place for the caller to remove.
Status WriteNewFileSynced(Fs& fs, const std::string& path, std::string_view bytes);

// Writes all of `bytes` to `fd` (the file `path`, for messages) through `fs`, retrying interrupted
// and short writes.
Status WriteAll(Fs& fs, int fd, const std::string& path, std::string_view bytes);

// fsyncs the directory `dir`, making renames and removals in it durable.
Status SyncDirectory(Fs& fs, const std::string& dir);

// Replaces `path` with `bytes` (mode `mode`): written to "<path>.tmp", then renamed into place, so
// a reader sees the old file or the new one, never half of one. Not fsynced: for files that are
// rewritten often and can be lost with a crash (health status, advisor history).
Status ReplaceFile(Fs& fs, const std::string& path, std::string_view bytes, unsigned mode);

// The whole content of the open file `fd` (`path`, for messages), read from its start whatever
// its offset. kIo "<path>: cannot read: <reason>".
Result<std::string> ReadWholeFd(int fd, const std::string& path);

// The whole content of `path`. kIo whose message is the system's reason alone ("No such file or
// directory", "Is a directory"), for callers that name the file in their own words.
Result<std::string> ReadWholeFile(const std::string& path);

// The whole content of `path`, or nullopt when it does not exist. kIo "<path>: cannot
// open|read: <reason>".
Result<std::optional<std::string>> ReadFileIfExists(const std::string& path);

}  // namespace optischema
