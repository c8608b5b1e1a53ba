// Records: field-level encrypted PII, routed to the principal's region.
//
// RecordService is the vault's one entry for records; it keeps record
// create, read, update and delete, tokens and the principal view, and uses
// the parts that each do one job:
//  - PrincipalDirectory (vault/principal_directory.h): where a principal
//    lives, and its pseudonym;
//  - PrincipalKeys (vault/principal_keys.h): a principal's key entry in its
//    region, what it allows while relocated or erased, and its consent;
//  - RecordSearch (vault/record_search.h): the blind index, and reading the
//    records an index names;
//  - StoredRecord (vault/stored_record.h): a record as stored, and opening
//    it.
//
// Each field value is sealed with AES-256-GCM under its principal's key with
// AAD = tenant | collection | record id | field, so a ciphertext moved to any
// other place fails to open (kDataLoss). Searchable fields also get a blind
// index entry HMAC(index key, normalized value). All writes of one request go
// to one backend in one atomic batch; updates and deletes are guarded by
// compare-and-set on the stored record, so concurrent writers never lose an
// update or leave a stale index entry.
//
// Reads and changes under a purpose that requires consent (marketing,
// advertising) pass it as `consent_purpose`: a principal is then served only
// while its consent state (vault/consent_state.h, kept in its key entry)
// holds an active consent for it and no ledger event follows that state (one
// point read, so an older state put back is kDataLoss), checked before any
// value is opened. Otherwise 403 consent_required; a search
// leaves such principals' records out instead. Empty: no check, and the
// consent state is never opened.
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
#include "vault/consent_state.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/principal_directory.h"
#include "vault/principal_keys.h"
#include "vault/record.h"
#include "vault/record_pseudonyms.h"
#include "vault/record_search.h"
#include "vault/request_context.h"
#include "vault/stored_record.h"

namespace piivault::vault {

// Whether `id` has the shape of the record ids the vault issues
// (crypto::RandomId("rec_")): "rec_" and 26 characters of lower-case RFC 4648
// base32 holding 128 bits, so the last character's two low bits are zero.
bool IsRecordIdShape(std::string_view id);

struct PrincipalView {
  std::string principal;
  std::string region;
  std::vector<Record> records;  // one page, by record id
  Consents consents;            // current ones, by purpose
  // The record id to read the next page after; none after the last page.
  std::optional<std::string> next;
};

// Which of a principal's records one read returns: at most `limit`, those
// whose ids sort after `after` (empty: from the first), so no request reads
// an unbounded number of records.
struct RecordPage {
  static constexpr std::size_t kMaxLimit = 1000;
  std::string after;
  std::size_t limit = kMaxLimit;
};

class RecordService {
 public:
  // REQUIRES: all pointers outlive this.
  RecordService(storage::RegionRouter* router, ControlStore* control,
                const Clock* clock)
      : router_(router),
        control_(control),
        clock_(clock),
        directory_(router, control, clock),
        keys_(control, &directory_),
        search_(router, control, &keys_) {}
  // The parts point at each other.
  RecordService(const RecordService&) = delete;
  RecordService& operator=(const RecordService&) = delete;

  // Validates and normalizes `fields` against `collection`, places a new
  // principal in `region` (default: the tenant's default region) and stores
  // the record. Returns the record without field values. The record gets a
  // fresh random id, or `id` when given (an import keeping the ids of the
  // tenant's export): it must have the shape of the ids this vault issues
  // (IsRecordIdShape) and be free in every region of the tenant.
  // Errors: validation_failed (with field; "id" for a malformed id),
  // region_not_allowed (403), kAborted when the principal lives in another
  // region (409), kAlreadyExists when `id` is taken (409).
  Result<Record> Create(const RequestContext& context, const Tenant& tenant,
                        const Collection& collection,
                        std::string_view principal,
                        std::optional<std::string> region, const Fields& fields,
                        std::optional<std::string> id = std::nullopt);

  // kNotFound when no record `id` of `collection` exists in any of the
  // tenant's regions; kDataLoss when a value fails its integrity check.
  Result<Record> Get(const RequestContext& context, const Tenant& tenant,
                     std::string_view collection, std::string_view id,
                     const FieldFilter& filter,
                     std::string_view consent_purpose = {});

  Result<Record> Update(const RequestContext& context, const Tenant& tenant,
                        const Collection& collection, std::string_view id,
                        const FieldChanges& changes,
                        std::string_view consent_purpose = {});
  Status Delete(const RequestContext& context, const Tenant& tenant,
                std::string_view collection, std::string_view id,
                std::string_view consent_purpose = {});

  // Which records a read may open (vault/record_search.h).
  using RecordScope = vault::RecordScope;

  // Up to `limit` records in `scope` whose searchable `field` equals
  // `value` after normalization, in index order per region
  // (RecordSearch::Search).
  Result<std::vector<Record>> Search(const RequestContext& context,
                                     const Tenant& tenant,
                                     const Collection& collection,
                                     std::string_view field,
                                     const FieldValue& value, std::size_t limit,
                                     std::string_view consent_purpose = {},
                                     const RecordScope& scope = {});

  // Deterministic pointer tokens: the same record and field always give the
  // same token; the token reveals nothing without the tenant's token key.
  Result<std::map<std::string, std::string>> Tokenize(
      const RequestContext& context, const Tenant& tenant,
      const Collection& collection, std::string_view record_id,
      const std::vector<std::string>& fields,
      std::string_view consent_purpose = {});
  // The token of `field` of record `record_id` of `collection`, as
  // Tokenize gives it, without reading the record (for tenant-wide work
  // that has read it already).
  Result<std::string> Token(const Tenant& tenant, std::string_view collection,
                            std::string_view record_id, std::string_view field);
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

  // Everything held about `principal`, its records (those in `scope`) a
  // page at a time (the limit clamped to 1..RecordPage::kMaxLimit). Under a
  // consent purpose, also consent_required for a principal that does not
  // exist.
  Result<PrincipalView> GetPrincipal(const RequestContext& context,
                                     const Tenant& tenant,
                                     std::string_view principal,
                                     std::string_view consent_purpose = {},
                                     const RecordPage& page = {},
                                     const RecordScope& scope = {});

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
  Result<PrincipalHome> OpenPrincipal(const RequestContext& context,
                                      const Tenant& tenant,
                                      std::string_view principal,
                                      bool for_write);

  // Tenant-wide reads (an export), a region at a time. Not for requests on
  // a principal's behalf: nothing is checked against a consent purpose.
  //
  // Up to `limit` of the tenant's records stored in `region`, those whose
  // ids sort after `after` (empty: from the first), each opened whole with
  // its principal id. A record whose principal's data lives elsewhere (the
  // other copy during a relocation, a tombstone) is left out: it is read
  // where its principal lives. kDataLoss for a record that fails its
  // integrity check (an export must not drop it silently).
  struct RegionPage {
    std::vector<Record> records;
    std::string last;   // the id of the last record examined; "" if none
    bool more = false;  // more records may follow `last`
  };
  Result<RegionPage> ScanRegion(const RequestContext& context,
                                const Tenant& tenant, std::string_view region,
                                std::string_view after, std::size_t limit);
  // The principal `pseudonym` as `region` holds it, for reading what is kept
  // next to its records (its consent ledger), and its id when one of its
  // records names it (nullopt for a principal without records: only its
  // records carry its id, sealed). kNotFound when its data is not there.
  struct RegionPrincipal {
    PrincipalHome home;
    std::optional<std::string> principal;
  };
  Result<RegionPrincipal> OpenPrincipalIn(const RequestContext& context,
                                          const Tenant& tenant,
                                          std::string_view region,
                                          std::string_view pseudonym);

 private:
  struct Found;  // a stored record and its principal's key

  // The record and its principal's key, from the region that is the
  // principal's home. kUnavailable when not found and a region is down.
  Result<Found> Find(const RequestContext& context, const Tenant& tenant,
                     std::string_view collection, std::string_view id,
                     KeyUse use);

  storage::RegionRouter* router_;
  ControlStore* control_;
  const Clock* clock_;
  PrincipalDirectory directory_;
  PrincipalKeys keys_;
  RecordSearch search_;
  RecordPseudonyms pseudonyms_;
};

}  // namespace piivault::vault
