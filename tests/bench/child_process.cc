#include "tests/bench/child_process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <stdexcept>

namespace optischema::bench {
namespace {

std::runtime_error ErrnoError(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// Writes all of `data` to `fd`; false on error.
bool WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads `fd` to end of file.
std::string ReadAll(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ErrnoError("reading from the measurement process");
    if (n == 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

// Body of the child: never returns.
[[noreturn]] void RunChild(int write_fd, const std::string& what,
                           const std::function<std::string()>& body) {
  int code = 0;
  try {
    if (!WriteAll(write_fd, body())) {
      std::cerr << what << ": cannot report the result: " << std::strerror(errno) << "\n";
      code = 1;
    }
  } catch (const std::exception& e) {
    std::cerr << what << ": " << e.what() << "\n";
    code = 1;
  }
  std::cout.flush();
  std::cerr.flush();
  _exit(code);
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw ErrnoError("mkdtemp " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string RunInChildForBytes(const std::string& what, const std::function<std::string()>& body) {
  // Unflushed output would otherwise be written twice, once by each process.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw ErrnoError("pipe2");
  const pid_t pid = fork();
  if (pid < 0) {
    const std::runtime_error error = ErrnoError("fork");
    close(fds[0]);
    close(fds[1]);
    throw error;
  }
  if (pid == 0) {
    close(fds[0]);
    RunChild(fds[1], what, body);
  }
  close(fds[1]);
  std::string bytes;
  std::exception_ptr read_error;
  try {
    bytes = ReadAll(fds[0]);
  } catch (...) {
    read_error = std::current_exception();
  }
  close(fds[0]);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw ErrnoError("waitpid");
  }
  if (read_error) std::rethrow_exception(read_error);
  if (WIFSIGNALED(status)) {
    throw std::runtime_error(what + ": measurement process killed by signal " +
                             std::to_string(WTERMSIG(status)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(what + ": measurement process failed (see its message above)");
  }
  return bytes;
}

}  // namespace optischema::bench
