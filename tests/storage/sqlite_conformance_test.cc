#include <memory>
#include <string>

#include "backend_conformance.h"
#include "storage/sqlite/sqlite_backend.h"
#include "support/temp_dir.h"

namespace piivault::storage::testing {
namespace {

using piivault::testing::ScopedTempDir;

// A fresh database file in a fresh temp dir, opened through OpenBackend.
class SqliteFactory {
 public:
  std::unique_ptr<Backend> Open() {
    EXPECT_TRUE(dir_.ok()) << "cannot create a temp dir";
    auto backend = OpenBackend("sqlite://conformance.db", dir_.path());
    EXPECT_TRUE(backend.has_value()) << backend.error().ToString();
    return backend.has_value() ? *std::move(backend) : nullptr;
  }

 private:
  ScopedTempDir dir_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, BackendConformanceTest, SqliteFactory);

}  // namespace
}  // namespace piivault::storage::testing
