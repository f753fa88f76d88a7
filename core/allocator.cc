#include "core/allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace optischema {

namespace {

constexpr int kMmapThresholdBytes = 4 << 20;
constexpr int kTrimThresholdBytes = 4 << 20;

}  // namespace

void ConfigureAllocator() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);
#endif
}

}  // namespace optischema
