#pragma once

// Where tests leave files for a human to look at after the run (screenshots, logs): the directory
// named by the environment variable OPTISCHEMA_TEST_ARTIFACTS when it is set and not empty, else
// "test-artifacts" in the build directory. Nothing removes what tests write there.

#include <string>

namespace optischema::testing {

// The artifact directory, created (with its parents) if missing. Thread-safe. Throws
// std::runtime_error when it cannot be created.
std::string ArtifactDir();

}  // namespace optischema::testing
