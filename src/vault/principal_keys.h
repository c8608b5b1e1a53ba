// A principal's key entry in its region, `pkey/<t>/<pseudonym>`
// (vault/principal_key_state.h): its key wrapped under the tenant key, its
// consent state sealed under that key, and the phase a relocation or an
// erasure left it in. Every record write is guarded by the entry it read
// (compare-and-set on `PrincipalContext::raw`), so a write racing a
// relocation or an erasure aborts instead of being lost.
//
// What an entry allows depends on what the caller will do with it (KeyUse):
//  - kRead: an active entry, or, mid-relocation, the copy in the region the
//    principal directory names home (the other copy reads as absent);
//  - kWrite: only an active entry; kAborted ("conflict") while the principal
//    is being relocated, BeingErased() while it is being erased;
//  - kCreate: as kWrite, and where there is no entry yet a new random key.
//    A keyless tombstone (an erasure or a relocation away left it) is
//    replaced by a new key only if the directory places the principal in
//    this region now, so a create that read the directory before the
//    erasure or the switch can neither bring erased data back nor write
//    where the principal no longer lives (kAborted, "retry").
// Absent or unusable entries are kNotFound ("no such record").
//
// Thread safety: thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/keyring.h"
#include "storage/backend.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/principal_directory.h"
#include "vault/request_context.h"

namespace piivault::vault {

// What a caller will do with a principal's key: reading is allowed while it
// is being relocated (from the copy the directory names), writing not.
enum class KeyUse { kRead, kWrite, kCreate };

// A principal's key as one request uses it.
struct PrincipalContext {
  std::shared_ptr<const crypto::TenantKeys> keys;
  crypto::SecretBytes key;
  std::string raw;       // the key entry as stored (for compare-and-set)
  std::string consents;  // the sealed consent state in it
  storage::Backend* store = nullptr;  // where it was read (with its ledger)
  bool is_new = false;
  std::string replaces;  // for a new key: the tombstone it replaces, if any
};

class PrincipalKeys {
 public:
  // REQUIRES: all pointers outlive this.
  PrincipalKeys(ControlStore* control, PrincipalDirectory* directory)
      : control_(control), directory_(directory) {}

  // The principal's key as `backend`, the store of `region`, holds it, for
  // `use` (above).
  Result<PrincipalContext> Load(const RequestContext& context,
                                const Tenant& tenant, std::string_view region,
                                storage::Backend& backend,
                                std::string_view pseudonym, KeyUse use);
  // The same from the key entry `raw` as read from `region` (nullopt: none),
  // for callers that read many entries at once; `store` is left unset.
  Result<PrincipalContext> FromEntry(const RequestContext& context,
                                     const Tenant& tenant,
                                     std::string_view region,
                                     std::string_view pseudonym,
                                     std::optional<std::string> raw,
                                     KeyUse use);

  // Ok when `consent_purpose` is empty (the consent state is then never
  // opened) or the principal's consent state allows it and no ledger event
  // follows that state (one point read, so an older state put back is
  // kDataLoss); consent_required (403) otherwise.
  // REQUIRES: `principal.store` is set.
  static Status CheckConsent(const Tenant& tenant, std::string_view pseudonym,
                             const PrincipalContext& principal,
                             std::string_view consent_purpose);

 private:
  ControlStore* control_;
  PrincipalDirectory* directory_;
};

}  // namespace piivault::vault
