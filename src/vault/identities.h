// Identities and their API keys. A key is "pv." + identity id + "." + a
// 256-bit random secret; only a keyed digest of the secret is stored, and it
// is checked in constant time. Ids are random 128-bit values created with a
// must-not-exist condition, so an id is never issued twice, and a
// deactivated identity is kept (never deleted) so its id stays taken.
// Thread safety: thread-safe.
#pragma once

#include <string>
#include <vector>

#include "base/clock.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/request_context.h"

namespace piivault::vault {

struct IssuedIdentity {
  Identity identity;
  std::string api_key;  // shown once
};

class IdentityService {
 public:
  // REQUIRES: both pointers outlive this.
  IdentityService(ControlStore* control, const Clock* clock)
      : control_(control), clock_(clock) {}

  // REQUIRES: tenant is non-empty exactly when role is a tenant role, and
  // names an existing tenant (checked by the caller). validation_failed
  // ("name") unless `name` is free text of 1 to 256 characters
  // (ValidateFreeText).
  Result<IssuedIdentity> Create(const RequestContext& context, std::string name,
                                Role role, std::string tenant,
                                boost::json::value policy = nullptr);
  // The operator's bootstrap: a tenant-admin of `tenant` only while the
  // tenant has no active tenant-admin (decided atomically with every
  // tenant-admin created or deactivated meanwhile); kPermissionDenied
  // otherwise.
  Result<IssuedIdentity> CreateFirstAdmin(const RequestContext& context,
                                          std::string name, std::string tenant);

  // A new API key for the active identity `id` of `tenant` (empty for
  // operator identities); the old key stops working at once.
  Result<IssuedIdentity> Rotate(const RequestContext& context,
                                std::string_view id, std::string_view tenant);

  // The active identity the key belongs to; kUnauthenticated for malformed,
  // unknown, wrong or deactivated keys (one message for all, so callers
  // learn nothing about which).
  Result<Identity> Authenticate(const RequestContext& context,
                                std::string_view api_key);

  Result<Identity> Get(const RequestContext& context, std::string_view id);
  Result<std::vector<Identity>> ListOperators(const RequestContext& context);
  Result<std::vector<Identity>> ListTenant(const RequestContext& context,
                                           std::string_view tenant);

  // Deactivates at once; idempotent. `tenant` must match the identity's
  // tenant (empty for operator identities) or the identity is not found.
  Status Deactivate(const RequestContext& context, std::string_view id,
                    std::string_view tenant);
  Result<Identity> SetPolicy(const RequestContext& context, std::string_view id,
                             std::string_view tenant,
                             boost::json::value policy);

 private:
  Result<std::vector<Identity>> ListByIndex(const RequestContext& context,
                                            const std::string& prefix);
  Result<IssuedIdentity> CreateOnce(const RequestContext& context,
                                    std::string name, Role role,
                                    std::string tenant,
                                    const boost::json::value& policy,
                                    bool first_admin);
  // Adds to `batch` the change of the tenant's admins guard, conditioned on
  // its current value.
  Status TouchAdminsGuard(storage::WriteBatch& batch, std::string_view tenant);
  // Read-modify-write of one identity under compare-and-set.
  template <typename Fn>
  Result<Identity> Modify(const RequestContext& context, std::string_view id,
                          std::string_view tenant, Fn fn);

  ControlStore* control_;
  const Clock* clock_;
};

}  // namespace piivault::vault
