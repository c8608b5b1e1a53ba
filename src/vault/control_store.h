// Sealed JSON documents in the control store. Every value is encrypted under
// the control key with its storage key as AAD, so the backend holds only
// ciphertext and a value cannot be moved to another key.
// Thread safety: thread-safe (the backend and keyring are).
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/coalesced_read.h"
#include "crypto/keyring.h"
#include "storage/backend.h"
#include "vault/request_context.h"

namespace piivault::vault {

class ControlStore {
 public:
  // REQUIRES: both outlive this.
  ControlStore(storage::Backend* backend, crypto::Keyring* keyring)
      : backend_(backend), keyring_(keyring) {}

  // The epoch a request's reads may be cached at, as of now (invalid if it
  // cannot be read: then nothing is cached). Read from the store, unless the
  // backend's change stamp shows it unwritten since the last read; the read
  // may be shared with concurrent callers, but always began after the call
  // (base/coalesced_read.h).
  ControlEpoch ReadEpoch();

  // The document at `key`. Identities, tenants, purposes and collections
  // may come from a cache, when written no later than `ctx`'s epoch.
  Result<std::optional<boost::json::value>> Get(const RequestContext& ctx,
                                                std::string_view key);
  // Documents under `prefix`, ascending by key.
  Result<std::vector<std::pair<std::string, boost::json::value>>> Scan(
      std::string_view prefix, std::size_t limit);
  // A page of documents under `prefix` whose keys come strictly after
  // `after_key` (empty: from the first), at most `limit`, ascending by key;
  // `more` when others follow.
  struct Page {
    std::vector<std::pair<std::string, boost::json::value>> docs;
    bool more = false;
  };
  Result<Page> ScanPage(std::string_view prefix, std::string_view after_key,
                        std::size_t limit);
  // The sealed bytes of `doc` for `key`, for CAS conditions.
  Result<std::optional<std::string>> GetRaw(std::string_view key);
  void Put(storage::WriteBatch& batch, std::string key,
           const boost::json::value& doc) const;
  // Bytes that are not a document (an export's chunks), sealed the same way
  // (AAD = the key) and never cached. kDataLoss when they do not open.
  void PutBytes(storage::WriteBatch& batch, std::string key,
                std::string_view bytes) const;
  Result<std::optional<std::string>> GetBytes(std::string_view key);
  // Adds to `batch` what makes every node stop trusting its cached documents:
  // for deletions written straight to the backend (a disposed tenant's).
  void ForgetCached(storage::WriteBatch& batch) const;
  // Applies `batch`; if it changes cached documents, `ctx` stops trusting
  // its epoch (so the request reads its own writes).
  Status Write(const RequestContext& ctx, const storage::WriteBatch& batch);

  // For operations kept under `prefix` until they finish (relocations,
  // erasures): calls `finish(key, doc)` for each. Returns how many finished;
  // the first error, if any, after trying them all.
  Result<int> FinishEach(
      std::string_view prefix,
      const std::function<Status(const std::string& key,
                                 const boost::json::value& doc)>& finish);

  // Opens and parses bytes read from `key` (e.g. from GetRaw).
  Result<boost::json::value> Decode(std::string_view key,
                                    std::string_view sealed) const;

  storage::Backend& backend() { return *backend_; }
  crypto::Keyring& keyring() { return *keyring_; }

 private:
  struct CachedDocument {
    std::string epoch;
    std::shared_ptr<const boost::json::value> doc;
  };
  static bool Cacheable(std::string_view key);

  storage::Backend* backend_;
  crypto::Keyring* keyring_;
  CoalescedRead<ControlEpoch> epoch_reads_;
  std::shared_mutex epoch_mu_;
  // The last epoch read, with the change stamp taken before reading it.
  std::optional<std::pair<std::uint64_t, ControlEpoch>> last_epoch_;
  std::shared_mutex cache_mu_;
  std::unordered_map<std::string, CachedDocument> cache_;
};

}  // namespace piivault::vault
