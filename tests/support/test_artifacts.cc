#include "tests/support/test_artifacts.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace optischema::testing {

std::string ArtifactDir() {
  const char* configured = std::getenv("OPTISCHEMA_TEST_ARTIFACTS");
  const std::string dir = configured != nullptr && *configured != '\0'
                              ? configured
                              : OPTISCHEMA_DEFAULT_TEST_ARTIFACTS_DIR;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    throw std::runtime_error("cannot create test artifact directory " + dir + ": " +
                             error.message());
  }
  return dir;
}

}  // namespace optischema::testing
