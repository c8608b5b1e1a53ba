// Erasure of a principal, on the controller's request (the principal's right
// to erasure, ISO/IEC 27018 A.2.1): its key, records, index entries and
// consent ledger are deleted from its region, its directory entry from the
// control store, and a signed certificate joins the tenant's register.
//
// Steps, each atomic and idempotent; an interrupted erasure is finished by
// the next Erase of the principal or by ResumeInterrupted at startup:
//  1. intent: erasure/<t>/<pseudonym> (control store) names the certificate
//     id and the region. It is written only while no relocation is pending,
//     together with the directory entry marked erasing: nothing new is
//     placed, and a relocation starting at the same time aborts;
//  2. freeze: the key entry is marked erasing, so no record or consent write
//     lands any more; reads still work;
//  3. count: the records then held are counted into the intent, so the
//     certificate says how many went even after a crash;
//  4. purge: every row of the principal goes, and a keyless tombstone takes
//     the key entry's place, in one batch (a create that looked the
//     principal up before the intent cannot give it a new key); then the
//     region's store is compacted (Backend::Compact: no image of the rows
//     stays in an SQLite WAL);
//  5. finish: the directory entry and the intent go and the certificate is
//     stored, in one batch.
// The register is also the erasure ledger a restore from backup must apply
// again.
//
// Thread safety: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "crypto/signer.h"
#include "storage/region_router.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/records.h"
#include "vault/request_context.h"

namespace piivault::lifecycle {

// Signed with the deployment's Ed25519 key (the one that signs audit tree
// heads; GET /v1/audit/public-key).
struct ErasureCertificate {
  std::string id;  // "cert_…"
  std::string kind = "principal_erasure";
  std::string tenant;
  std::string principal_pseudonym;
  int64_t records = 0;
  TimePoint completed_at;  // whole seconds
  std::string key_id;
  std::string signature;  // 64 bytes

  // What the signature covers: "piivault-erasure-certificate-v1" and then
  // id, kind, tenant, principal_pseudonym, records (decimal) and
  // completed_at (RFC 3339), each on a line of its own ("\n"-terminated).
  std::string SignedBytes() const;
  bool Verify(std::string_view public_key) const;
};

class ErasureService {
 public:
  // REQUIRES: all pointers outlive this.
  ErasureService(storage::RegionRouter* router, vault::ControlStore* control,
                 vault::RecordService* records, const Clock* clock)
      : router_(router), control_(control), records_(records), clock_(clock) {}

  // Erases `principal` and returns the certificate, signed with `signer`.
  // kNotFound for a principal that does not exist (never placed, or erased
  // already); kAborted ("conflict") while it is being relocated;
  // kUnavailable when its region cannot be reached (the erasure then
  // finishes on a retry or at the next start; until then the principal is
  // readable, not writable).
  Result<ErasureCertificate> Erase(const vault::RequestContext& context,
                                   const vault::Tenant& tenant,
                                   std::string_view principal,
                                   const crypto::Ed25519Key& signer);

  // The tenant's certificates, oldest first.
  Result<std::vector<ErasureCertificate>> Certificates(std::string_view tenant);

  // Finishes every interrupted erasure. Returns how many; the first error,
  // if any, after trying them all.
  Result<int> ResumeInterrupted(const crypto::Ed25519Key& signer);

 private:
  struct Intent;  // erasure/<t>/<pseudonym>
  static boost::json::value IntentJson(const Intent& intent);
  static Result<Intent> IntentFromJson(const boost::json::value& doc,
                                       std::string raw);
  Result<ErasureCertificate> Drive(const vault::RequestContext& context,
                                   Intent intent,
                                   const crypto::Ed25519Key& signer);
  Status Freeze(const vault::RequestContext& context, storage::Backend& backend,
                const Intent& intent);

  storage::RegionRouter* router_;
  vault::ControlStore* control_;
  vault::RecordService* records_;
  const Clock* clock_;
};

}  // namespace piivault::lifecycle
