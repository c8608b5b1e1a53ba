// Records: field-level encrypted PII, routed to the principal's region.
//
// Each field value is sealed with AES-256-GCM under its principal's key with
// AAD = tenant | collection | record id | field, so a ciphertext moved to any
// other place fails to open (kDataLoss). Searchable fields also get a blind
// index entry HMAC(index key, normalized value). All writes of one request go
// to one backend in one atomic batch; updates and deletes are guarded by
// compare-and-set on the stored record, so concurrent writers never lose an
// update or leave a stale index entry.
//
// Thread safety: thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "crypto/keyring.h"
#include "storage/region_router.h"
#include "vault/control_store.h"
#include "vault/model.h"

namespace piivault::vault {

using Fields = std::vector<std::pair<std::string, FieldValue>>;
// A field set to nullopt in an update is removed.
using FieldChanges =
    std::vector<std::pair<std::string, std::optional<FieldValue>>>;

struct Record {
  std::string id;
  std::string collection;
  std::string principal;
  std::string region;
  Fields fields;  // in schema order at write time
  TimePoint created_at;
  TimePoint updated_at;
};

struct PrincipalView {
  std::string principal;
  std::string region;
  std::vector<Record> records;
};

// Which fields a read returns; nullopt means all.
using FieldFilter = std::optional<std::vector<std::string>>;

class RecordService {
 public:
  // REQUIRES: all pointers outlive this.
  RecordService(storage::RegionRouter* router, ControlStore* control,
                const Clock* clock)
      : router_(router), control_(control), clock_(clock) {}

  // Validates and normalizes `fields` against `collection`, places a new
  // principal in `region` (default: the tenant's default region) and stores
  // the record. Returns the record without field values.
  // Errors: validation_failed (with field), region_not_allowed (403),
  // kAborted when the principal lives in another region (409).
  Result<Record> Create(const Tenant& tenant, const Collection& collection,
                        std::string_view principal,
                        std::optional<std::string> region,
                        const Fields& fields);

  // kNotFound when no record `id` of `collection` exists in any of the
  // tenant's regions; kDataLoss when a value fails its integrity check.
  Result<Record> Get(const Tenant& tenant, std::string_view collection,
                     std::string_view id, const FieldFilter& filter);

  Result<Record> Update(const Tenant& tenant, const Collection& collection,
                        std::string_view id, const FieldChanges& changes);
  Status Delete(const Tenant& tenant, std::string_view collection,
                std::string_view id);

  // Records whose searchable `field` equals `value` after normalization.
  Result<std::vector<Record>> Search(const Tenant& tenant,
                                     const Collection& collection,
                                     std::string_view field,
                                     const FieldValue& value,
                                     std::size_t limit);

  // Deterministic pointer tokens: the same record and field always give the
  // same token; the token reveals nothing without the tenant's token key.
  Result<std::map<std::string, std::string>> Tokenize(
      const Tenant& tenant, const Collection& collection,
      std::string_view record_id, const std::vector<std::string>& fields);
  // What a token points to. kInvalidArgument for a token not issued for
  // this tenant. Reading the value is a separate Get, so callers can check
  // access to the collection and field first.
  struct TokenTarget {
    std::string collection;
    std::string record_id;
    std::string field;
  };
  Result<TokenTarget> ResolveToken(const Tenant& tenant,
                                   std::string_view token);

  Result<PrincipalView> GetPrincipal(const Tenant& tenant,
                                     std::string_view principal);

  // The keyed pseudonym that stands for `principal` in storage keys.
  Result<std::string> Pseudonym(const Tenant& tenant,
                                std::string_view principal);

  // Where an existing principal's data lives, for what is kept next to its
  // records (its consent ledger): writes there must be guarded by
  // `key_entry`, so that they abort while the principal is relocated.
  // kNotFound for a principal never placed (or erased); kAborted
  // ("conflict") when `for_write` while it is being relocated.
  struct PrincipalHome {
    std::string pseudonym;
    std::string region;
    storage::Backend* store = nullptr;
    crypto::SecretBytes key;
    std::string key_entry;
  };
  Result<PrincipalHome> OpenPrincipal(const Tenant& tenant,
                                      std::string_view principal,
                                      bool for_write);

 private:
  struct Located;  // a stored record and where it was found
  struct PrincipalContext;
  struct Found;
  // What a caller will do with a principal's key: reading is allowed while
  // it is being relocated (from the copy the directory names), writing not.
  enum class KeyUse { kRead, kWrite, kCreate };

  // Where the principal lives; nullopt when it was never placed.
  Result<std::optional<Placement>> HomeOf(const Tenant& tenant,
                                          std::string_view pseudonym);
  Result<std::string> PlacePrincipal(const Tenant& tenant,
                                     const std::string& pseudonym,
                                     const std::optional<std::string>& region);
  // The record and its principal's key, from the region that is the
  // principal's home. kUnavailable when not found and a region is down.
  Result<Found> Find(const Tenant& tenant, std::string_view collection,
                     std::string_view id, KeyUse use);
  // kNotFound when the region holds no usable key for the principal (never
  // written, erased, or the non-home side of a relocation); kAborted
  // ("conflict") for kWrite/kCreate while the principal is being relocated.
  Result<PrincipalContext> LoadPrincipalKey(const Tenant& tenant,
                                            std::string_view region,
                                            storage::Backend& backend,
                                            std::string_view pseudonym,
                                            KeyUse use);
  // The records whose ids end the keys under `prefix` (an index), in key
  // order, at most `limit`; entries whose record is gone are skipped.
  Result<std::vector<Located>> LoadIndexed(const Tenant& tenant,
                                           const std::string& region,
                                           storage::Backend& backend,
                                           const std::string& prefix,
                                           std::size_t limit);
  Result<Record> Open(const Tenant& tenant, const Located& located,
                      const PrincipalContext& principal,
                      const FieldFilter& filter);

  storage::RegionRouter* router_;
  ControlStore* control_;
  const Clock* clock_;
};

}  // namespace piivault::vault
