// Which memory allocator the piivault binary runs on.
#pragma once

#include <string>

namespace piivault::cli {

// "jemalloc <version>" when the binary is linked with it (the default
// build), else "system" (sanitizer builds, or -DPIIVAULT_JEMALLOC=OFF).
std::string AllocatorName();

}  // namespace piivault::cli
