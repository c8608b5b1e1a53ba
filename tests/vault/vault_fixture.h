// A Vault over in-memory (or SQLite) stores with two regions, eu and us, for
// service-level tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "crypto/random.h"
#include "crypto/seal.h"
#include "storage/memory/memory_backend.h"
#include "vault/vault.h"

namespace piivault::vault::testing {

class FixedClock final : public Clock {
 public:
  TimePoint Now() const override { return now; }
  TimePoint now = FromUnixMicros(1'800'000'000'000'000);
};

inline std::vector<RegionConfig> TwoRegions() {
  return {{"eu", {"DE", "FR"}, "memory:"}, {"us", {"US"}, "memory:"}};
}

// Owns stores, keyring and services. Backends are kept reachable through
// raw pointers so tests can inspect or tamper with stored bytes.
struct VaultHarness {
  explicit VaultHarness(
      crypto::SecretBytes root = crypto::RandomSecret(crypto::kMasterKeySize)) {
    auto control = std::make_unique<storage::MemoryBackend>();
    auto eu = std::make_unique<storage::MemoryBackend>();
    auto us = std::make_unique<storage::MemoryBackend>();
    control_backend = control.get();
    eu_backend = eu.get();
    us_backend = us.get();
    std::map<std::string, std::unique_ptr<storage::Backend>> regions;
    regions.emplace("eu", std::move(eu));
    regions.emplace("us", std::move(us));
    router = std::make_unique<storage::RegionRouter>(
        std::move(control), TwoRegions(), std::move(regions));
    keyring =
        std::make_unique<crypto::Keyring>(std::move(root), &router->control());
    EXPECT_TRUE(keyring->InitializeOrVerify().ok());
    vault = std::make_unique<Vault>(router.get(), keyring.get(), &clock);
  }

  FixedClock clock;
  storage::MemoryBackend* control_backend;
  storage::MemoryBackend* eu_backend;
  storage::MemoryBackend* us_backend;
  std::unique_ptr<storage::RegionRouter> router;
  std::unique_ptr<crypto::Keyring> keyring;
  std::unique_ptr<Vault> vault;
};

// Every key/value pair of a backend (tests only: unbounded).
inline std::vector<storage::KeyValue> Dump(storage::Backend& backend) {
  auto all = backend.Scan("", "", SIZE_MAX);
  EXPECT_TRUE(all.has_value());
  return all.value_or(std::vector<storage::KeyValue>{});
}

}  // namespace piivault::vault::testing
