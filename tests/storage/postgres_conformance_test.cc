#include <memory>
#include <string>

#include "backend_conformance.h"
#include "support/postgres_env.h"

namespace piivault::storage::testing {
namespace {

using piivault::testing::CreateTestDatabase;
using piivault::testing::DropTestDatabase;
using piivault::testing::TestDatabase;
using piivault::testing::TestPostgresUrl;

// A fresh database on the test server, opened through OpenBackend (the
// backend creates its tables on first use). Without a server the test fails.
class PostgresFactory {
 public:
  PostgresFactory() {
    auto server = TestPostgresUrl();
    if (!server.has_value()) {
      ADD_FAILURE() << server.error();
      return;
    }
    server_ = *server;
    auto db = CreateTestDatabase(server_);
    if (!db.has_value()) {
      ADD_FAILURE() << db.error();
      return;
    }
    db_ = *db;
  }
  ~PostgresFactory() {
    if (!db_.name.empty()) (void)DropTestDatabase(server_, db_.name);
  }
  PostgresFactory(const PostgresFactory&) = delete;
  PostgresFactory& operator=(const PostgresFactory&) = delete;

  std::unique_ptr<Backend> Open() {
    if (db_.url.empty()) return nullptr;
    auto backend = OpenBackend(db_.url, BackendOptions{});
    EXPECT_TRUE(backend.has_value()) << backend.error().ToString();
    return backend.has_value() ? *std::move(backend) : nullptr;
  }

 private:
  std::string server_;
  TestDatabase db_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, BackendConformanceTest,
                               PostgresFactory);

}  // namespace
}  // namespace piivault::storage::testing
