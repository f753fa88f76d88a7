#include "core/human_units.h"

#include <cstdio>

namespace optischema {

std::string HumanBytes(int64_t bytes) {
  char text[32];
  const double value = static_cast<double>(bytes);
  if (bytes >= (int64_t{1} << 30)) {
    std::snprintf(text, sizeof text, "%.1f GiB", value / (1 << 30));
  } else if (bytes >= (int64_t{1} << 20)) {
    std::snprintf(text, sizeof text, "%.1f MiB", value / (1 << 20));
  } else {
    std::snprintf(text, sizeof text, "%.0f KiB", value / 1024);
  }
  return text;
}

}  // namespace optischema
