#include "agent/agent_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/uuid.h"

namespace optischema::agent {

namespace {

Error IoError(const std::string& path, const std::string& what) {
  return MakeError(ErrorCode::kIo, path + ": " + what + ": " + std::strerror(errno));
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status WriteDurably(const std::string& dir, const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return IoError(tmp, "cannot create");
    if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()) ||
        ::fsync(fd.get()) != 0) {
      Error e = IoError(tmp, "cannot write");
      ::unlink(tmp.c_str());
      return e;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = IoError(path, "cannot rename into place");
    ::unlink(tmp.c_str());
    return e;
  }
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) return IoError(dir, "cannot sync directory");
  return OkStatus();
}

}  // namespace

bool IsCanonicalUuid(std::string_view t) {
  if (t.size() != 36) return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (t[i] == '-')) return false;
    if (!dash && !((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f'))) return false;
  }
  return true;
}

Result<std::string> LoadOrCreateAgentId(const std::string& state_dir) {
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError(state_dir, "cannot create state directory");
  }
  const std::string path = state_dir + "/agent_id";
  std::ifstream in(path);
  if (in) {
    std::stringstream buf;
    buf << in.rdbuf();
    std::string id = buf.str();
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    if (!IsCanonicalUuid(id)) {
      return MakeError(ErrorCode::kParseFailed,
                       path +
                           ": does not hold an agent id (a UUID); fix or remove the file — a "
                           "new id makes this agent a new one for the control plane");
    }
    return id;
  }
  if (errno != ENOENT) return IoError(path, "cannot read");
  std::string id = NewUuidV4();
  if (Status st = WriteDurably(state_dir, path, id + "\n"); !st.ok()) return std::move(st).error();
  return id;
}

}  // namespace optischema::agent
