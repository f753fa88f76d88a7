#include "agent/agent_identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/file_io.h"
#include "core/uuid.h"

namespace optischema::agent {

namespace {

// Writes `content` to `path` durably: a fresh temp file (a leftover from a crash is replaced),
// fsync, rename, fsync of the directory.
Status WriteDurably(const std::string& dir, const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  if (Status st = WriteNewFileSynced(SystemFs(), tmp, content); !st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = IoErrorFromErrno(path, "cannot rename into place");
    ::unlink(tmp.c_str());
    return e;
  }
  return SyncDirectory(SystemFs(), dir);
}

}  // namespace

Result<std::string> LoadOrCreateAgentId(const StateDir& layout) {
  const std::string& state_dir = layout.root();
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoErrorFromErrno(state_dir, "cannot create state directory");
  }
  const std::string path = layout.AgentIdFile();
  Result<std::optional<std::string>> content = ReadFileIfExists(path);
  RETURN_IF_ERROR(content);
  if (content->has_value()) {
    std::string id = std::move(**content);
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    if (!IsCanonicalUuid(id)) {
      return MakeError(ErrorCode::kParseFailed,
                       path +
                           ": does not hold an agent id (a UUID); fix or remove the file — a "
                           "new id makes this agent a new one for the control plane");
    }
    return id;
  }
  std::string id = NewUuidV4();
  if (Status st = WriteDurably(state_dir, path, id + "\n"); !st.ok()) return std::move(st).error();
  return id;
}

}  // namespace optischema::agent
