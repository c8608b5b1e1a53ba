// The lockbox: operator staff see a tenant's data only with the tenant's
// approval. An operator identity asks (reason, scope, duration); a
// tenant-admin of the tenant approves or denies; while approved and not
// expired, the requester may read in scope. Denial (also of an approved
// request, which revokes it) and expiry take effect on the next request on
// every node: requests are control documents read uncached. Every request
// ever made stays listed for the tenant.
//
// States: pending -> approved | denied; pending expires when undecided for
// kDecisionWindow, approved when its duration has passed since approval.
//
// Thread safety: thread-safe; concurrent decisions are serialized by
// compare-and-set on the stored request.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "compliance/access_request.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/request_context.h"

namespace piivault::compliance {

// What an approved request lets its operator read (compliance/
// access_request.h): the records of the listed principals in the listed
// collections. (Requests stored before scopes were explicit may hold empty
// lists: they now cover nothing.)
using LockboxScope = RequestScope;

// What a tenant-admin decided; stored as "", "approved" or "denied".
enum class LockboxDecision { kNone, kApproved, kDenied };
std::string_view LockboxDecisionName(LockboxDecision decision);
std::optional<LockboxDecision> ParseLockboxDecision(std::string_view name);

// A request's state at a given time, as the API names it ("pending",
// "approved", "denied", "expired"); derived, never stored.
enum class LockboxState { kPending, kApproved, kDenied, kExpired };
std::string_view LockboxStateName(LockboxState state);

struct LockboxRequest {
  std::string id;
  std::string tenant;
  std::string requested_by;  // operator identity id
  std::string reason;
  LockboxScope scope;
  std::chrono::seconds duration{0};
  LockboxDecision decision = LockboxDecision::kNone;
  std::string decided_by;
  TimePoint created_at;
  std::optional<TimePoint> decided_at;

  LockboxState StateAt(TimePoint now) const;
  std::optional<TimePoint> ExpiresAt() const;  // once approved
};

class LockboxService {
 public:
  static constexpr auto kDecisionWindow = std::chrono::hours(24);
  static constexpr auto kMaxDuration = std::chrono::hours(24);

  // REQUIRES: both outlive this.
  LockboxService(vault::ControlStore* control, const Clock* clock)
      : control_(control), clock_(clock) {}

  // The scope must name something: invalid_argument when both lists are
  // empty. One list left empty means all along that axis and is stored as
  // ["*"] (collections ["*"] for the whole tenant, principals omitted for
  // every principal of the named collections), so the stored scope is
  // always explicit. validation_failed for a reason that is not free text
  // (ValidateFreeText) of 1 to 1024 characters, a duration outside
  // PT1M..P1D, or a scope naming a collection the tenant does not have, a
  // malformed principal id, or "*" next to other entries.
  Result<LockboxRequest> Create(const vault::RequestContext& context,
                                const vault::Tenant& tenant,
                                const vault::Identity& requester,
                                std::string reason, LockboxScope scope,
                                std::string_view duration);

  // Approves (only a pending request) or denies (a pending or approved one,
  // revoking it). kFailedPrecondition when the request is expired or already
  // decided that way; kNotFound for an unknown id.
  Result<LockboxRequest> Decide(const vault::RequestContext& context,
                                const vault::Tenant& tenant,
                                std::string_view id,
                                const vault::Identity& admin, bool approve);

  Result<LockboxRequest> Get(const vault::RequestContext& context,
                             std::string_view tenant, std::string_view id);
  Result<std::vector<LockboxRequest>> List(std::string_view tenant);

  // The request `id` of `tenant`, when it is approved, unexpired and was
  // made by `identity`; kPermissionDenied (saying why) otherwise.
  Result<LockboxRequest> Active(const vault::RequestContext& context,
                                std::string_view tenant, std::string_view id,
                                std::string_view identity);

 private:
  vault::ControlStore* control_;
  const Clock* clock_;
};

}  // namespace piivault::compliance
