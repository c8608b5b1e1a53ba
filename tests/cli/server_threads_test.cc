#include <gtest/gtest.h>

#include "cli/deployment.h"

namespace piivault::cli {
namespace {

Config WithStores(std::string control, std::string region) {
  Config config;
  config.control_backend = std::move(control);
  config.regions.push_back({"eu", {"DE"}, std::move(region)});
  config.storage_pool_size = 12;
  return config;
}

TEST(ServerThreadsTest, EmbeddedStoresGetOnePerCore) {
  EXPECT_EQ(
      ServerThreads(WithStores("sqlite://control.db", "sqlite://eu.db"), 4), 4);
  EXPECT_EQ(
      ServerThreads(WithStores("sqlite://control.db", "sqlite://eu.db"), 0), 1);
}

// Handlers block in a round trip per point read: one thread per pooled
// connection more, whichever store is networked.
TEST(ServerThreadsTest, ANetworkedStoreAddsItsPool) {
  EXPECT_EQ(ServerThreads(WithStores("postgresql://db/c", "sqlite://eu.db"), 2),
            14);
  EXPECT_EQ(
      ServerThreads(WithStores("sqlite://control.db", "postgres://db/eu"), 2),
      14);
}

TEST(ServerThreadsTest, AConfiguredCountIsKept) {
  Config config = WithStores("postgresql://db/c", "postgresql://db/eu");
  config.server.threads = 3;
  EXPECT_EQ(ServerThreads(config, 8), 3);
}

}  // namespace
}  // namespace piivault::cli
