// Disposal of a terminated tenant (API.md, Return, transfer, disposal;
// ISO/IEC 27018 A.10.3): crypto-shredding first, so every value of the
// tenant is unreadable at once, then the deletion of every row it has in
// every region, then a signed certificate in its register, kept for good.
//
// Steps, each atomic and idempotent; an interrupted disposal is finished by
// the next Dispose of the tenant (a job ResumeInterrupted schedules at
// startup, the tenant's disposal job, or a tenant-admin's confirmation):
//  1. shred: one control-store batch destroys the tenant key (every
//     principal key, and so every value, of the tenant with it: the wrapped
//     principal keys in the regions no longer open), marks the tenant
//     disposed (from then on no request reaches its data: policy/access.h)
//     and writes disposal/<t>: the certificate id, when it began, the key
//     versions destroyed and the principals and records each region held
//     (read from the exact counters just before);
//  2. purge: every region of the deployment deletes every row and counter
//     of the tenant (lifecycle/tenant_rows.h), with progress, then compacts
//     (Backend::Compact: SQLite checkpoints and truncates its WAL, so no old
//     page image stays);
//  3. control: the tenant's principal directory, schemas, purposes, exports
//     and counters go from the control store, its identities are
//     deactivated, and the control store is compacted too;
//  4. certify: the signed certificate is stored (disposal-cert/<t>) and
//     disposal/<t> removed, in one batch.
// Crash points after each: dispose.shredded, dispose.purged,
// dispose.control_purged, dispose.certified.
//
// Thread safety: thread-safe; two runs at once (a node's job and a
// confirmation) repeat idempotent deletions and one certificate wins.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "crypto/keyring.h"
#include "crypto/signer.h"
#include "lifecycle/scheduler.h"
#include "storage/region_router.h"
#include "vault/control_store.h"
#include "vault/identities.h"
#include "vault/request_context.h"
#include "vault/tenants.h"

namespace piivault::lifecycle {

// Signed with the deployment's Ed25519 key (GET /v1/audit/public-key).
struct DisposalCertificate {
  static constexpr std::string_view kKind = "tenant_disposal";
  static constexpr std::string_view kMethod =
      "crypto-shredding: the tenant key (AES-256) destroyed, then every row "
      "of the tenant deleted in every region and the stores compacted";

  struct RegionCount {
    std::string region;
    int64_t principals = 0;
    int64_t records = 0;
  };

  std::string id;  // "cert_…"
  std::string tenant;
  std::vector<RegionCount> regions;         // by region id
  std::vector<std::string> keys_destroyed;  // "<tenant>/v<version>"
  TimePoint started_at;                     // whole seconds: the shredding
  TimePoint completed_at;                   // whole seconds
  std::string key_id;
  std::string signature;  // 64 bytes

  // What the signature covers: "piivault-disposal-certificate-v1", then id,
  // kind, tenant, method, each region as "<region> <principals> <records>",
  // each destroyed key id, started_at and completed_at (RFC 3339), each on a
  // line of its own ("\n"-terminated).
  std::string SignedBytes() const;
  bool Verify(std::string_view public_key) const;
};

class DisposalService {
 public:
  // REQUIRES: all pointers outlive this.
  DisposalService(storage::RegionRouter* router, vault::ControlStore* control,
                  vault::TenantService* tenants,
                  vault::IdentityService* identities, const Clock* clock)
      : router_(router),
        control_(control),
        tenants_(tenants),
        identities_(identities),
        clock_(clock) {}

  // Disposes of the terminating tenant, or finishes its interrupted
  // disposal, and returns the certificate, signed with `signer`; `progress`
  // (may be null) hears how many records are gone of how many. Written
  // through `context`, so a request's or a job's audit event is written
  // ahead of the shredding. kFailedPrecondition for an active tenant;
  // kAborted (409 conflict) when its disposal was certified already;
  // kNotFound for no such tenant; kUnavailable when a region cannot be
  // reached (nothing is shredded before every region was counted; after
  // that the next run goes on where this one stopped).
  Result<DisposalCertificate> Dispose(const vault::RequestContext& context,
                                      std::string_view tenant,
                                      const crypto::Ed25519Key& signer,
                                      JobProgress* progress = nullptr);

  // Schedules, due at once, a run of every disposal a crash interrupted
  // after its shredding (its tenant-admins may be deactivated already and
  // its due time far off): the scheduler finishes it in the background.
  // Returns how many.
  Result<int> ResumeInterrupted(Scheduler& scheduler);

  // The tenant's disposal certificate, once issued.
  Result<std::optional<DisposalCertificate>> Certificate(
      std::string_view tenant);

  // Registers the kDisposal job kind: at the due time the tenant is disposed
  // of, on no request's behalf, with an event in its audit log written
  // ahead, and certified with the log's signing key. REQUIRES: `audit`
  // outlives this.
  void Register(Scheduler* scheduler, audit::AuditLog* audit);

 private:
  struct State;  // disposal/<t>
  Result<State> Shred(const vault::RequestContext& context,
                      std::string_view tenant);
  Status PurgeRegions(const vault::RequestContext& context, const State& state,
                      JobProgress* progress);
  Status PurgeControl(const vault::RequestContext& context,
                      std::string_view tenant);
  Result<DisposalCertificate> Certify(const vault::RequestContext& context,
                                      const State& state,
                                      const crypto::Ed25519Key& signer);
  Result<std::optional<State>> LoadState(std::string_view tenant);

  storage::RegionRouter* router_;
  vault::ControlStore* control_;
  vault::TenantService* tenants_;
  vault::IdentityService* identities_;
  const Clock* clock_;
};

}  // namespace piivault::lifecycle
