// Tenants (the controllers) and their purposes.
// Thread safety: thread-safe; concurrent updates are serialized by
// compare-and-set on the stored document.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "storage/region_router.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/request_context.h"

namespace piivault::vault {

struct TenantPatch {
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> regions;
  std::optional<std::string> default_region;
};

// Where a tenant's data is: per region, exact counts kept as counters.
struct RegionLocation {
  RegionConfig region;
  int64_t principals = 0;
  std::optional<int64_t> records;  // nullopt: the region is unreachable
};

// Every tenant of the deployment, disposed ones too (their certificates
// and audit logs stay), ascending by id; read uncached.
Result<std::vector<Tenant>> ListTenants(ControlStore& control);

class TenantService {
 public:
  // REQUIRES: all pointers outlive this.
  TenantService(ControlStore* control, storage::RegionRouter* router,
                const Clock* clock)
      : control_(control), router_(router), clock_(clock) {}

  // Creates the tenant, its key and its default purposes in one batch.
  // Empty `regions` means every configured region; empty default means the
  // first allowed region; empty `name` means the id. Names (here and in
  // Update) and purpose descriptions are free text (ValidateFreeText):
  // validation_failed naming the member otherwise.
  Result<Tenant> Create(const RequestContext& context, std::string id,
                        std::string name, std::vector<std::string> regions,
                        std::string default_region);
  Result<Tenant> Get(const RequestContext& context, std::string_view id);
  // ListTenants() of this deployment.
  Result<std::vector<Tenant>> List() { return ListTenants(*control_); }
  // Removing a region from the list is refused (kFailedPrecondition) while
  // any of the tenant's principals lives there.
  Result<Tenant> Update(const RequestContext& context, std::string_view id,
                        const TenantPatch& patch);
  // Terminates an active tenant: state terminating, to be disposed of at
  // `disposal_due_at`, under compare-and-set on its document. `also` adds
  // what must take effect with it (the disposal job) to the same batch, so
  // both or neither are written. kAborted (409 conflict) when the tenant is
  // not active: terminating already, or disposed.
  Result<Tenant> Terminate(
      const RequestContext& context, std::string_view id,
      TimePoint disposal_due_at,
      const std::function<Status(storage::WriteBatch&)>& also);
  // Marks a terminating tenant disposed, with what `also` adds to the same
  // batch (the destruction of its key), under compare-and-set on its
  // document. kFailedPrecondition when it is active (terminate it first);
  // kAborted (409 conflict) when it was disposed of already.
  Result<Tenant> MarkDisposed(
      const RequestContext& context, std::string_view id,
      const std::function<Status(storage::WriteBatch&)>& also);
  Result<std::vector<RegionLocation>> Locations(const Tenant& tenant);

  Result<std::vector<Purpose>> ListPurposes(std::string_view tenant);
  // kNotFound when the tenant has no such purpose.
  Result<Purpose> GetPurpose(const RequestContext& context,
                             std::string_view tenant, std::string_view purpose);
  Result<Purpose> PutPurpose(const RequestContext& context,
                             std::string_view tenant, Purpose purpose);

 private:
  struct Stored {
    Tenant tenant;
    std::string raw;  // as stored, for compare-and-set
  };
  Result<Stored> Load(std::string_view id);
  // Replaces `before` with `after`, with what `also` adds to the batch.
  Status Store(const RequestContext& context, const Stored& before,
               const Tenant& after,
               const std::function<Status(storage::WriteBatch&)>& also = {});
  Result<int64_t> PrincipalsIn(std::string_view tenant,
                               std::string_view region);
  Status ValidateRegions(const std::vector<std::string>& regions,
                         const std::string& default_region) const;

  ControlStore* control_;
  storage::RegionRouter* router_;
  const Clock* clock_;
};

}  // namespace piivault::vault
