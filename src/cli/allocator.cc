#include "cli/allocator.h"

#ifdef PIIVAULT_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace piivault::cli {

std::string AllocatorName() {
#ifdef PIIVAULT_WITH_JEMALLOC
  // Asking jemalloc itself also keeps the linker from dropping the library
  // as unused, which would silently leave the binary on glibc's malloc.
  const char* version = nullptr;
  std::size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) == 0 && version)
    return std::string("jemalloc ") + version;
  return "jemalloc";
#else
  return "system";
#endif
}

}  // namespace piivault::cli
