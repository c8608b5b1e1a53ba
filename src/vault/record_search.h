// Reading records through an index: equality search over the blind index,
// and the records any index's entries name.
//
// A searchable field's value is indexed under
// `bidx/<t>/<c>/<field>/<BlindHash>/<record id>`, the hash a keyed
// HMAC(index key, normalized value), so the store learns which records share
// a value but never the value. An entry's value is the record's principal
// pseudonym (a hint: the record's own envelope decides), so a search under a
// purpose that requires consent leaves out the principals without it before
// reading their records, checking each one's consent state against its
// ledger (vault/consent_state.h) first.
//
// Thread safety: thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/keyring.h"
#include "storage/region_router.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/principal_keys.h"
#include "vault/record.h"
#include "vault/request_context.h"
#include "vault/stored_record.h"

namespace piivault::vault {

// Which records a read may open, by collection and principal pseudonym
// (both known before anything is decrypted); empty: every record. A record
// outside it is neither opened nor named in the audit event, as the caller
// may not see it.
using RecordScope = std::function<bool(std::string_view collection,
                                       std::string_view pseudonym)>;

class RecordSearch {
 public:
  // REQUIRES: all pointers outlive this.
  RecordSearch(storage::RegionRouter* router, ControlStore* control,
               PrincipalKeys* keys)
      : router_(router), control_(control), keys_(keys) {}

  // The blind index's hash of `canonical` (NormalizeField's text) for
  // `field` of `collection`: what a record write indexes and a search looks
  // up.
  static std::string BlindHash(const crypto::TenantKeys& keys,
                               std::string_view collection,
                               std::string_view field, FieldType type,
                               std::string_view canonical);

  // Up to `limit` records in `scope` whose searchable `field` equals
  // `value` after normalization, in index order per region. Under a
  // `consent_purpose`, principals without that consent are left out. A
  // region that cannot be searched fails the search (kUnavailable) rather
  // than returning part of the answer.
  // Errors: validation_failed (not a field, or a bad value),
  // kInvalidArgument for a field that is not searchable.
  Result<std::vector<Record>> Search(const RequestContext& context,
                                     const Tenant& tenant,
                                     const Collection& collection,
                                     std::string_view field,
                                     const FieldValue& value, std::size_t limit,
                                     std::string_view consent_purpose,
                                     const RecordScope& scope);

  // The records whose ids end the keys of `entries` (of an index under
  // `prefix` in `backend`, the store of `region`), in their order; entries
  // whose record is gone are skipped. Nothing is opened.
  static Result<std::vector<StoredRecord>> ReadIndexed(
      const Tenant& tenant, const std::string& region,
      storage::Backend& backend, const std::string& prefix,
      const std::vector<storage::KeyValue>& entries);
  // Drops from `found` what `scope` leaves out, before anything is opened.
  static void LeaveOutOfScope(std::vector<StoredRecord>& found,
                              const RecordScope& scope);

 private:
  storage::RegionRouter* router_;
  ControlStore* control_;
  PrincipalKeys* keys_;
};

}  // namespace piivault::vault
