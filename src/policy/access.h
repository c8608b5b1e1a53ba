// The access decision: who may do what, in one place.
//
// Every route of the API declares the Operation it performs; Decide() takes
// the caller, the operation and the tenant it is on and returns either the
// error to answer or a Decision that carries everything the handler needs to
// stay within it: the tenant, the purpose, the lockbox in force, the field
// grant of each collection and the consent the purpose requires. Handlers
// never look at roles or policies themselves.
//
// Thread safety: AccessDecider is thread-safe; a Decision belongs to one
// request.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "policy/access_policy.h"
#include "policy/policy_cache.h"
#include "services/vault.h"

namespace piivault::policy {

// What a route does. The table in access.cc says, for each, who may do it,
// whether it is data-plane processing (X-Purpose, tenant-app policy), whether
// it writes and what the audit log records of it.
enum class Operation {
  // Deployment-wide.
  kWhoAmI,
  kListRegions,
  kReadPublicKey,
  kCreateOperatorIdentity,
  kListOperatorIdentities,
  kDeactivateOperatorIdentity,
  kRotateOperatorIdentity,
  kCreateTenant,
  kListTenants,
  kReadOperatorAudit,
  kListJobs,
  kListDeadLetters,
  // Deployment-wide, about the one tenant a legal disclosure request names
  // (decided on that tenant by AccessDecider::DecideAbout).
  kCreateDisclosure,
  kDecideDisclosure,
  kFulfilDisclosure,
  kReadDisclosure,
  // The sub-processor and incident registers (compliance/).
  kPutSubProcessor,
  kListSubProcessors,
  kRemoveSubProcessor,
  kListObjections,
  kCreateIncident,
  kReadIncidents,
  kNotifyIncident,
  kUpdateIncident,
  // The compliance evidence (compliance/soa.h): the Statement of
  // Applicability, the operator's declarations, the external audits.
  kReadSoa,
  kReadComplianceReport,
  kRecordDeclaration,
  kListDeclarations,
  kRecordExternalAudit,
  kListExternalAudits,
  // On one tenant: its control plane.
  kReadTenant,
  kUpdateTenant,
  kTerminateTenant,
  kDisposeTenant,
  kReadLocations,
  kCreateTenantIdentity,
  kListTenantIdentities,
  kDeactivateTenantIdentity,
  kRotateTenantIdentity,
  kSetIdentityPolicy,
  kListPurposes,
  kPutPurpose,
  kPutCollection,
  kReadCollection,
  kReadCertificates,
  kReadTenantAudit,
  kRequestLockbox,
  kDecideLockbox,
  kReadLockbox,
  kRelocatePrincipal,
  kListNotifications,
  kPutWebhook,
  kReadWebhook,
  kDeleteWebhook,
  kListTenantDisclosures,
  kObjectToSubProcessor,
  // On one tenant: its consent ledger (no purpose: recording consent is not
  // processing under one; tenant-apps need consent_read/consent_write).
  kReadConsents,
  kRecordConsent,
  // On one tenant: the data plane (X-Purpose; tenant-apps per policy).
  kCreateRecord,
  kReadRecord,
  kUpdateRecord,
  kDeleteRecord,
  kSearchRecords,
  kTokenize,
  kDetokenize,
  kReadPrincipal,
  kExportPrincipal,
  kErasePrincipal,
  // On one tenant: its export (lifecycle/tenant_export.h), the tenant's
  // data as a whole. Creating and downloading one is processing under a
  // purpose; its state is control-plane.
  kCreateExport,
  kGetExport,
  kDownloadExport,
  kLast = kDownloadExport,
};

// What the audit log records of an operation.
enum class Audited {
  kNever,   // reads nothing personal and changes nothing
  kAlways,  // reads personal data or changes state: one event per request
};

// Where an operation runs, by how long it may hold its thread.
enum class Runs {
  kInline,   // a few point reads: on the I/O thread, saving two hand-offs
  kOffload,  // changes state (waits for durable commits) or reads up to a
             // page of rows: on the handler pool, never stalling I/O
};

struct OperationSpec {
  bool on_tenant;    // the route's first path parameter is the tenant
  bool on_identity;  // the next path parameter is an identity id
  // Refused while the tenant is not active (403 tenant_not_active): every
  // change of its data, consents, schema, purposes, regions or identities
  // but a deactivation or key rotation, which only take access away.
  bool writes;
  Audited audited;
  // Reads, returns, changes or discloses a data subject's personal data
  // (records, a principal's view, consents, where it lives). Always
  // audited, and its event lists every record and principal it touched
  // (tests/api/app_audit_completeness_test.cc holds every such route to
  // that). Pseudonyms alone (audit events, certificates) do not count.
  bool personal_data;
  Runs runs;
};
const OperationSpec& Spec(Operation op);

// Who is asking, and what the request says about purpose and lockbox.
struct Caller {
  const vault::Identity& identity;
  std::string_view purpose;  // X-Purpose, may be empty
  std::string_view lockbox;  // X-Lockbox-Request, may be empty
};

// Which fields of one collection a caller may use for an action: nullopt
// for unrestricted callers (tenant-admins); for tenant-apps the policy's
// grant.
using FieldGrant = std::optional<AccessPolicy::Grant>;
// Whether `field` may be returned/used in plain text under `grant`.
bool PlainAllowed(const FieldGrant& grant, std::string_view field);
// Whether `grant` covers `field` at all (plain or masked).
bool Granted(const FieldGrant& grant, std::string_view field);

class Decision {
 public:
  // The tenant the operation is on (on_tenant operations).
  const vault::Tenant& tenant() const { return *tenant_; }
  bool has_tenant() const { return tenant_.has_value(); }
  // The request's purpose (data-plane operations).
  const vault::Purpose& purpose() const { return *purpose_; }
  // The scope an operator reads within (an approved lockbox or disclosure
  // request), if any.
  const std::optional<compliance::RequestScope>& scope() const {
    return scope_;
  }
  // The lockbox request an operator acts under, if any.
  const std::optional<compliance::LockboxRequest>& lockbox() const {
    return lockbox_;
  }
  // The purpose whose consent each principal concerned must have given: the
  // request's when its category requires consent, else empty (other
  // purposes never look at consent).
  std::string_view consent_purpose() const;

  // The caller's grant on `collection` for `action`, or permission_denied
  // when no rule allows it, or when a lockbox does not cover the collection.
  Result<FieldGrant> Fields(Action action,
                            const vault::Collection& collection) const;
  // Like Fields, but for what a reply may show: nullopt (show no field) when
  // the caller holds no grant, instead of an error.
  std::optional<FieldGrant> FieldsIfAny(
      Action action, const vault::Collection& collection) const;
  // Ok unless a lockbox or disclosure request is in force and does not
  // cover the principal.
  Status RequireInScope(std::string_view principal) const;
  // Consent actions name a purpose rather than a collection: whether the
  // caller may read or record consents for `purpose`.
  bool AllowsConsentPurpose(Action action, std::string_view purpose) const;
  // True for identities whose tenant role grants everything (tenant-admin).
  bool unrestricted() const { return policy_ == nullptr && !scope_; }

  // What an allowed operation is further limited to, for the handler (or
  // the service, atomically) to hold the caller to.
  enum class Limit {
    kNone,
    kFirstAdminOnly,   // an operator creates a tenant's first admin only
    kOwnRequestsOnly,  // operator staff see the lockbox requests they made
  };
  Limit limit() const { return limit_; }

 private:
  friend class AccessDecider;
  Status OutOfScope() const;
  std::optional<vault::Tenant> tenant_;
  std::optional<vault::Purpose> purpose_;
  std::optional<compliance::LockboxRequest> lockbox_;
  std::optional<compliance::RequestScope> scope_;  // lockbox or disclosure
  std::shared_ptr<const AccessPolicy> policy_;     // tenant-apps only
  Limit limit_ = Limit::kNone;
};

class AccessDecider {
 public:
  // REQUIRES: both outlive this.
  AccessDecider(services::Vault* vault, PolicyCache* policies)
      : vault_(vault), policies_(policies) {}

  // What an operation is on: the tenant (empty for deployment-wide
  // operations) and, for operations on an identity, its id (an identity may
  // rotate its own key).
  struct Target {
    std::string_view tenant;
    std::string_view identity;
  };
  // Whether `caller` may perform `op` on `target`. Errors, in this order:
  // permission_denied (role, tenant, policy, lockbox), not_found (no such
  // tenant), tenant_not_active (writes), purpose_required / unknown_purpose
  // (data plane).
  // Reads what it needs (tenant, purpose, lockbox) within `context`.
  Result<Decision> Decide(const vault::RequestContext& context,
                          const Caller& caller, Operation op,
                          const Target& target) const;
  // A deployment-wide operation about the tenant its request's body or
  // stored document names (legal disclosure requests): decides `op` as
  // Decide does, then the tenant as an operation on it would be: not_found
  // for no such tenant, tenant_not_active for a write to one not active,
  // not_found for personal data of a disposed one. With `disclosure` (an
  // approved request being fulfilled) the decision acts for it as for a
  // lockbox: held to its scope, read-only, under the tenant's
  // `legal_obligation` purpose (failed_precondition when the tenant has
  // none, permission_denied when it is a consent purpose).
  Result<Decision> DecideAbout(
      const vault::RequestContext& context, const Caller& caller, Operation op,
      std::string_view tenant,
      const compliance::DisclosureRequest* disclosure = nullptr) const;

 private:
  Result<Decision> DecideData(const vault::RequestContext& context,
                              const Caller& caller, Operation op,
                              Decision d) const;
  services::Vault* vault_;
  PolicyCache* policies_;
};

}  // namespace piivault::policy
