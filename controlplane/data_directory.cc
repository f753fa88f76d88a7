#include "controlplane/data_directory.h"

#include <sys/stat.h>

#include <cerrno>

#include "controlplane/input_limits.h"
#include "controlplane/signing_key.h"
#include "controlplane/store.h"
#include "core/file_io.h"

namespace optischema::controlplane {
namespace {

// Sets `mode` on `path` when it is a directory (`directory`) or a regular file; a missing path
// or another kind of file (a symbolic link) is left alone.
Status MakePrivate(const std::string& path, unsigned mode, bool directory) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return OkStatus();
    return IoErrorFromErrno(path, "cannot inspect");
  }
  const bool right_kind = directory ? S_ISDIR(info.st_mode) : S_ISREG(info.st_mode);
  if (!right_kind || (info.st_mode & 07777) == mode) return OkStatus();
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return IoErrorFromErrno(
        path, "cannot make private (mode 0" + std::string(directory ? "700" : "600") + ")");
  }
  return OkStatus();
}

}  // namespace

Status MakeDataDirectoryPrivate(const std::string& data_dir) {
  if (Status st = MakePrivate(data_dir, kDataDirectoryMode, /*directory=*/true); !st.ok()) {
    return st;
  }
  const std::string database = data_dir + "/" + kDatabaseFileName;
  for (const std::string& file :
       {database, database + "-wal", database + "-shm", data_dir + "/" + kSigningKeyFileName}) {
    if (Status st = MakePrivate(file, kDataFileMode, /*directory=*/false); !st.ok()) return st;
  }
  return OkStatus();
}

}  // namespace optischema::controlplane
