#include <memory>

#include "backend_conformance.h"
#include "storage/memory/memory_backend.h"

namespace piivault::storage::testing {
namespace {

struct MemoryFactory {
  std::unique_ptr<Backend> Open() { return std::make_unique<MemoryBackend>(); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Memory, BackendConformanceTest, MemoryFactory);

// Also reachable through OpenBackend.
struct MemoryUrlFactory {
  std::unique_ptr<Backend> Open() {
    auto backend = OpenBackend("memory:", "");
    return backend.has_value() ? *std::move(backend) : nullptr;
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(MemoryUrl, BackendConformanceTest,
                               MemoryUrlFactory);

}  // namespace
}  // namespace piivault::storage::testing
