// Termination of a tenant (API.md, Return, transfer, disposal): the tenant
// becomes `terminating` with a `disposal_due_at`, its data stays readable
// and exportable for the return period and can no longer change (the access
// decision refuses writes of a tenant that is not active), and its disposal
// is scheduled for the due time.
//
// The state change and the disposal job (kind kDisposal, fixed id
// DisposalJobId) are one batch: both are written or neither, so a
// terminating tenant always has its disposal scheduled, whatever crashes.
// The disposal itself (crypto-shredding, then deletion) is a later step; a
// job of a kind without a handler is left alone by the scheduler until one
// is registered.
//
// Thread safety: thread-safe; concurrent terminations of one tenant are
// serialized by compare-and-set on its document (one wins, the others get
// 409 conflict).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/config.h"
#include "lifecycle/scheduler.h"
#include "vault/request_context.h"
#include "vault/tenants.h"

namespace piivault::lifecycle {

class TerminationService {
 public:
  // REQUIRES: all pointers outlive this (`scheduler` need not be constructed
  // yet: it is used only by Terminate).
  TerminationService(vault::TenantService* tenants, Scheduler* scheduler,
                     const Clock* clock)
      : tenants_(tenants), scheduler_(scheduler), clock_(clock) {}

  // The return period of a request that names none ([tenants]
  // return_period). REQUIRES: before the first Terminate.
  void set_default_return_period(std::chrono::seconds period) {
    default_return_period_ = period;
  }

  // Terminates the tenant: disposal due `return_period` (the default when
  // nullopt) from now. validation_failed naming `return_period` outside
  // kMinReturnPeriod..kMaxReturnPeriod; kNotFound for no such tenant;
  // kAborted (409 conflict) when it is not active (terminated already, or
  // disposed); nothing changed on any error.
  Result<vault::Tenant> Terminate(
      const vault::RequestContext& context, std::string_view tenant,
      std::optional<std::chrono::seconds> return_period);

  // The id of a tenant's disposal job: one per tenant, ever.
  static std::string DisposalJobId(std::string_view tenant);

 private:
  vault::TenantService* tenants_;
  Scheduler* scheduler_;
  const Clock* clock_;
  std::chrono::seconds default_return_period_ = std::chrono::days(30);
};

}  // namespace piivault::lifecycle
