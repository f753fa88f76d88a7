#pragma once

// The control plane's data directory (`--data`) is private whatever existed before: the
// directory mode 0700 and every file the control plane keeps there (the SQLite database with
// its -wal and -shm files, the signing key) mode 0600 (input_limits.h kDataDirectoryMode,
// kDataFileMode). main() also sets umask 077, so that files made later start private.
//
// Thread-safe (system calls only).

#include <string>

#include "core/result.h"

namespace optischema::controlplane {

// Sets the modes above on `data_dir` (which must exist) and on those of its files that exist;
// symbolic links are left alone, never followed. kIo naming the path and the reason when a mode
// cannot be set (e.g. the directory belongs to another user).
Status MakeDataDirectoryPrivate(const std::string& data_dir);

}  // namespace optischema::controlplane
