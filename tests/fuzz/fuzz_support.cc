#include "tests/fuzz/fuzz_support.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/time_format.h"

namespace optischema::fuzz {
namespace {

std::string MakeScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/optischema-fuzz.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) Fail("cannot create a scratch directory");
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(ScratchDir(), ignored);
  });
  return pattern;
}

}  // namespace

std::chrono::system_clock::time_point TestNow() {
  static const auto now = ParseRfc3339(kTestNow).value();
  return now;
}

void SilenceLogging() { spdlog::set_level(spdlog::level::off); }

const std::string& ScratchDir() {
  // Never destroyed: the exit handler that removes the directory reads it.
  static const std::string* const dir = new std::string(MakeScratchDir());
  return *dir;
}

void WriteFileOrDie(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) Fail("cannot write " + path);
}

void Fail(std::string_view what) {
  std::fprintf(stderr, "fuzz invariant failed: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

}  // namespace optischema::fuzz
