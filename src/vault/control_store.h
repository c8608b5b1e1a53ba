// Sealed JSON documents in the control store. Every value is encrypted under
// the control key with its storage key as AAD, so the backend holds only
// ciphertext and a value cannot be moved to another key.
// Thread safety: thread-safe (the backend and keyring are).
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crypto/keyring.h"
#include "storage/backend.h"

namespace piivault::vault {

class ControlStore {
 public:
  // REQUIRES: both outlive this.
  ControlStore(storage::Backend* backend, crypto::Keyring* keyring)
      : backend_(backend), keyring_(keyring) {}

  Result<std::optional<boost::json::value>> Get(std::string_view key);
  // Documents under `prefix`, ascending by key.
  Result<std::vector<std::pair<std::string, boost::json::value>>> Scan(
      std::string_view prefix, std::size_t limit);
  // The sealed bytes of `doc` for `key`, for CAS conditions.
  Result<std::optional<std::string>> GetRaw(std::string_view key);
  void Put(storage::WriteBatch& batch, std::string key,
           const boost::json::value& doc) const;
  Status Write(const storage::WriteBatch& batch) {
    return backend_->Write(batch);
  }

  // Opens and parses bytes read from `key` (e.g. from GetRaw).
  Result<boost::json::value> Decode(std::string_view key,
                                    std::string_view sealed) const;

  storage::Backend& backend() { return *backend_; }
  crypto::Keyring& keyring() { return *keyring_; }

 private:
  storage::Backend* backend_;
  crypto::Keyring* keyring_;
};

}  // namespace piivault::vault
