#pragma once

// Runs a measurement in a forked child process, so that its CPU time and peak RSS are its own.

#include <cstring>
#include <functional>
#include <string>
#include <type_traits>

namespace optischema::bench {

// A private directory made with mkdtemp under TMPDIR (/tmp when unset), removed with its contents
// by the destructor. Throws std::runtime_error when it cannot be made.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Forks; the child runs `body` and sends the bytes it returns back through a pipe, then leaves
// with _exit, so no destructor of an object the parent owns (a PgCluster, say) runs in the child.
// The child starts as a copy of this process: open connections must not be used from both, so call
// this while none is open. Returns the child's bytes once it has exited successfully. Throws
// std::runtime_error naming `what` when the child fails (an exception escaping `body` is reported
// on stderr by the child) or dies.
std::string RunInChildForBytes(const std::string& what, const std::function<std::string()>& body);

// RunInChildForBytes for a result of trivially copyable type T.
template <class T, class F>
T RunInChild(const std::string& what, const F& body) {
  static_assert(std::is_trivially_copyable_v<T> && std::is_default_constructible_v<T>);
  const std::string bytes = RunInChildForBytes(what, [&body] {
    const T result = body();
    std::string out(sizeof(T), '\0');
    std::memcpy(out.data(), &result, sizeof(T));
    return out;
  });
  T result;
  std::memcpy(&result, bytes.data(), sizeof(T));
  return result;
}

}  // namespace optischema::bench
