// A Vault over in-memory (or SQLite) stores with two regions, eu and us, for
// service-level tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "crypto/random.h"
#include "crypto/seal.h"
#include "services/vault.h"
#include "storage/memory/memory_backend.h"
#include "storage/write_hook.h"
#include "support/fixed_clock.h"
#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"

namespace piivault::vault::testing {

using piivault::testing::FixedClock;

inline std::vector<RegionConfig> TwoRegions() {
  return {{"eu", {"DE", "FR"}, "memory:"}, {"us", {"US"}, "memory:"}};
}

// Failure injection shared by every store of a harness: a store marked down
// fails every call with kUnavailable; with fail_write_in = n > 0 the n-th
// write from now (on any store) fails, applying nothing.
struct Faults {
  std::set<const storage::Backend*> down;
  int fail_write_in = 0;
  // Called with every batch before it is applied (on any store): to change
  // a store between two writes of a running operation.
  std::function<void(const storage::WriteBatch&)> before_write;
  // Reads (Get, MultiGet, Scan, ...) each store was asked for.
  std::map<const storage::Backend*, int> reads;
};

class FaultyBackend final : public storage::Backend {
 public:
  FaultyBackend(std::unique_ptr<storage::Backend> inner, Faults* faults)
      : inner_(std::move(inner)), faults_(faults) {}
  storage::Backend* inner() { return inner_.get(); }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    PV_RETURN_IF_ERROR(Check(false));
    return inner_->Get(key);
  }
  Result<std::vector<std::optional<std::string>>> MultiGet(
      std::span<const std::string> keys) override {
    PV_RETURN_IF_ERROR(Check(false));
    return inner_->MultiGet(keys);
  }
  Result<std::vector<storage::KeyValue>> Scan(std::string_view prefix,
                                              std::string_view start,
                                              std::size_t limit) override {
    PV_RETURN_IF_ERROR(Check(false));
    return inner_->Scan(prefix, start, limit);
  }
  Result<int64_t> SumCounters(std::string_view prefix) override {
    PV_RETURN_IF_ERROR(Check(false));
    return inner_->SumCounters(prefix);
  }
  Status Write(const storage::WriteBatch& batch) override {
    PV_RETURN_IF_ERROR(Check(true));
    if (faults_->before_write) faults_->before_write(batch);
    return inner_->Write(batch);
  }
  Status Dump(const storage::DumpSink& sink) override {
    PV_RETURN_IF_ERROR(Check(false));
    return inner_->Dump(sink);
  }
  Status ReplaceAll(const storage::DumpSource& source) override {
    PV_RETURN_IF_ERROR(Check(true));
    return inner_->ReplaceAll(source);
  }
  Status DeleteCounters(std::string_view prefix) override {
    PV_RETURN_IF_ERROR(Check(true));
    return inner_->DeleteCounters(prefix);
  }
  Status Compact() override {
    PV_RETURN_IF_ERROR(Check(false));
    return inner_->Compact();
  }

 private:
  Status Check(bool write) {
    std::lock_guard lock(mu_);
    if (!write) ++faults_->reads[this];
    if (faults_->down.contains(this))
      return Unavailable("injected: store is down");
    if (write && faults_->fail_write_in > 0 && --faults_->fail_write_in == 0)
      return Unavailable("injected: write failed");
    return Status::Ok();
  }
  static inline std::mutex mu_;
  std::unique_ptr<storage::Backend> inner_;
  Faults* faults_;
};

// Owns stores, keyring and services. Backends are kept reachable through
// raw pointers so tests can inspect or tamper with stored bytes.
struct VaultHarness {
  explicit VaultHarness(
      crypto::SecretBytes root = crypto::RandomSecret(crypto::kMasterKeySize)) {
    auto control = Wrap(control_backend, control_store);
    auto eu = Wrap(eu_backend, eu_store);
    auto us = Wrap(us_backend, us_store);
    std::map<std::string, std::unique_ptr<storage::Backend>> regions;
    regions.emplace("eu", std::move(eu));
    regions.emplace("us", std::move(us));
    router = std::make_unique<storage::RegionRouter>(
        std::move(control), TwoRegions(), std::move(regions));
    keyring =
        std::make_unique<crypto::Keyring>(std::move(root), &router->control());
    EXPECT_TRUE(keyring->InitializeOrVerify().ok());
    vault =
        std::make_unique<services::Vault>(router.get(), keyring.get(), &clock);
  }

  // memory <- faults <- write-ahead hook (as RegionRouter::Open hooks
  // every store).
  std::unique_ptr<storage::Backend> Wrap(storage::MemoryBackend*& raw,
                                         FaultyBackend*& faulty) {
    auto inner = std::make_unique<storage::MemoryBackend>();
    raw = inner.get();
    auto with_faults =
        std::make_unique<FaultyBackend>(std::move(inner), &faults);
    faulty = with_faults.get();
    return std::make_unique<storage::HookedBackend>(std::move(with_faults));
  }

  // The tenant "acme", with regions eu (its default) and us.
  Tenant CreateAcme() {
    auto t = vault->tenants.Create(vault::RequestContext(), "acme", "Acme",
                                   {"eu", "us"}, "eu");
    EXPECT_TRUE(t.has_value()) << t.error().ToString();
    return t.value_or(Tenant{});
  }

  FixedClock clock;
  Faults faults;
  // The stores themselves, bypassing injected faults.
  storage::MemoryBackend* control_backend;
  storage::MemoryBackend* eu_backend;
  storage::MemoryBackend* us_backend;
  // The stores as the vault sees them (keys for `faults.down`).
  FaultyBackend* control_store;
  FaultyBackend* eu_store;
  FaultyBackend* us_store;
  std::unique_ptr<storage::RegionRouter> router;
  std::unique_ptr<crypto::Keyring> keyring;
  std::unique_ptr<services::Vault> vault;
};

// Every key/value pair of a backend (tests only: unbounded).
inline std::vector<storage::KeyValue> Dump(storage::Backend& backend) {
  auto all = backend.Scan("", "", SIZE_MAX);
  EXPECT_TRUE(all.has_value());
  return all.value_or(std::vector<storage::KeyValue>{});
}

// The value stored under `key` (tests read rows to tamper with them).
inline std::string Peek(storage::Backend& backend, const std::string& key) {
  auto value = backend.Get(key);
  EXPECT_TRUE(value.has_value() && value->has_value()) << key;
  return value && *value ? **value : std::string();
}

// Stores `value` under `key` as a database writer without the master key
// could.
inline void Poke(storage::Backend& backend, const std::string& key,
                 const std::string& value) {
  storage::WriteBatch batch;
  batch.Put(key, value);
  EXPECT_TRUE(backend.Write(batch).ok()) << key;
}

// The key of principal `pseudonym` of `tenant` as its key entry in `backend`
// holds it, unwrapped: tests seal rows in the formats of earlier versions
// with it.
inline crypto::SecretBytes PrincipalKeyOf(VaultHarness& h,
                                          storage::Backend& backend,
                                          std::string_view tenant,
                                          std::string_view pseudonym) {
  auto entry = PrincipalKeyState::Decode(
      Peek(backend, keys::PrincipalKey(tenant, pseudonym)));
  EXPECT_TRUE(entry.has_value());
  auto keys = h.keyring->GetTenantKeys(tenant);
  EXPECT_TRUE(keys.has_value());
  if (!entry || !keys) return {};
  auto key = crypto::Keyring::UnwrapPrincipalKey(**keys, tenant, pseudonym,
                                                 entry->wrapped);
  EXPECT_TRUE(key.has_value());
  if (!key) return {};
  return std::move(*key);
}

// Whether `backend` holds anything under a key naming `needle` (a pseudonym,
// a record id) beyond the keyless tombstone an erasure or a relocation away
// leaves in place of a principal's key entry.
inline bool HoldsAnything(storage::Backend& backend, std::string_view needle) {
  for (auto& kv : Dump(backend)) {
    if (kv.key.find(needle) == std::string::npos) continue;
    if (kv.key.starts_with("pkey/")) {
      auto entry = PrincipalKeyState::Decode(kv.value);
      if (entry && entry->tombstone() && entry->consents.empty()) continue;
    }
    return true;
  }
  return false;
}

}  // namespace piivault::vault::testing
