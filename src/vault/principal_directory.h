// The principal directory: where each principal of a tenant lives. Its entry
// in the control store, `principal/<t>/<pseudonym>`, names the one region
// that holds the principal's key, records and consent ledger; nothing of the
// principal is written anywhere else. A principal is named in storage only by
// its pseudonym, a keyed HMAC of its id under the tenant's index key.
//
// Placing a principal is checked against the stored tenant and guarded by it
// (compare-and-set), so a concurrent PATCH closing the region cannot strand
// the new principal there; the same batch counts the principal into the
// region's exact location count. Relocations and erasures change the entry
// (lifecycle/relocation.h, lifecycle/erasure.h).
//
// Thread safety: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "storage/region_router.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/request_context.h"

namespace piivault::vault {

// kAborted: an erasure of the principal has begun; nothing of it may be
// written any more.
inline Status BeingErased() { return Aborted("the principal is being erased"); }

class PrincipalDirectory {
 public:
  // REQUIRES: all pointers outlive this.
  PrincipalDirectory(storage::RegionRouter* router, ControlStore* control,
                     const Clock* clock)
      : router_(router), control_(control), clock_(clock) {}

  // The keyed pseudonym that stands for `principal` in storage keys.
  Result<std::string> Pseudonym(const Tenant& tenant,
                                std::string_view principal);

  // Where the principal lives; nullopt when it was never placed (or its
  // erasure finished).
  Result<std::optional<Placement>> HomeOf(const RequestContext& context,
                                          const Tenant& tenant,
                                          std::string_view pseudonym);

  // The principal's region, placing it first in `region` (default: the
  // tenant's default region) when it has no entry yet; the placement is
  // noted for the request's audit event. Placing the same principal again
  // gives the region it has.
  // Errors: region_not_allowed (403) for a region the stored tenant does not
  // accept new principals in, or that is not served; kAborted ("conflict")
  // when `region` names another region than the principal's; BeingErased()
  // once its erasure has begun; kUnavailable when the region cannot be
  // reached (checked before anything is placed).
  Result<std::string> Place(const RequestContext& context, const Tenant& tenant,
                            const std::string& pseudonym,
                            const std::optional<std::string>& region);

 private:
  storage::RegionRouter* router_;
  ControlStore* control_;
  const Clock* clock_;
};

}  // namespace piivault::vault
