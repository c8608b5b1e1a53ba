// Backups of one region's store, and restores from them (issue 12).
//
// A backup is a logical dump of every row and counter of the region's
// backend from one consistent snapshot (storage::Backend::Dump), streamed
// through the transfer stream encrypted to the deployment's backup key (an
// X25519 pair derived from the root key, crypto::Keyring::BackupKeyPair, so
// only this deployment's root key opens it) and signed with the deployment's
// Ed25519 key over its header, its item counts and the SHA-256 of the
// ciphertext. Memory stays flat: at most a chunk of the stream is held. The
// byte format: docs/formats/backup.md.
//
// A restore needs an operator-admin and a reason, and goes in steps, each
// idempotent; one interrupted anywhere (a crash, kill -9) is finished by
// running the same restore again, and until then `serve` refuses to start
// (PendingRestores):
//  0. verify: the signature verifies with this deployment's key (a backup of
//     another deployment, or a changed byte anywhere, is refused), the
//     header names the region, the ciphertext's SHA-256 is the signed one.
//     Nothing is changed before this;
//  1. intent: the operator audit event (who, why, which backup, the region)
//     is written, then restore/<region> in the control store names the
//     backup (a rerun finds it and goes on, without a second event);
//  2. replace: Backend::ReplaceAll with the decrypted items, in one
//     transaction, with the registers applied on the way, so nothing they
//     name is written even for a moment: every row and counter of a tenant
//     whose state is disposed is left out, and so is every row of a
//     principal whose erasure in its tenant's register completed after the
//     backup was taken (or in the same second), whose key entry becomes the
//     erasure's keyless tombstone (and the tenant's record count drops by
//     its records). A chunk failing to authenticate, or a hash or count other
//     than the signed ones, rolls it back: nothing changed;
//  3. erasures: each such principal is checked in the store and purged
//     there if anything of it is left (PurgePrincipalRows, as erasure), then
//     the store is compacted (Backend::Compact), as after an erasure;
//  4. done: the intent goes.
// So principals erased and tenants disposed of after the backup stay gone.
//
// Thread safety: thread-safe; a restore expects no server writing to the
// region (serve stopped).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "crypto/signer.h"
#include "crypto/transfer_stream.h"
#include "lifecycle/erasure.h"
#include "storage/region_router.h"
#include "vault/control_store.h"
#include "vault/model.h"

namespace piivault::lifecycle {

// Format constants (docs/formats/backup.md).
inline constexpr std::string_view kBackupMagic = "PVBK";
inline constexpr std::string_view kBackupEndMagic = "PVBE";
inline constexpr uint8_t kBackupVersion = 1;
inline constexpr std::string_view kBackupFormat = "piivault-backup-v1";
// magic | version | header length (4)
inline constexpr std::size_t kBackupPreludeSize = 4 + 1 + 4;
inline constexpr std::size_t kBackupMaxHeaderSize = 64 * 1024;
// rows (8) | counters (8) | SHA-256 (32) | signature (64) | end magic (4)
inline constexpr std::size_t kBackupTrailerSize = 8 + 8 + 32 + 64 + 4;

struct BackupHeader {
  std::string backup_id;  // "bk_…"
  std::string region;
  TimePoint created_at;  // microseconds; taken before the snapshot
  std::string key_id;    // the deployment key that signed it
};

struct BackupSummary {
  BackupHeader header;
  int64_t rows = 0;
  int64_t counters = 0;
};

struct RestoreSummary {
  BackupSummary backup;
  bool resumed = false;       // an interrupted restore was finished
  uint64_t audit_index = 0;   // the restoration's operator audit entry
  int64_t dropped_items = 0;  // rows and counters of disposed tenants
  int64_t erasures_reapplied = 0;
};

// A backup file read by position (a restore reads it twice: to verify it,
// then to restore from it).
struct BackupInput {
  uint64_t size = 0;
  // Reads exactly `n` bytes at `offset`.
  std::function<Status(uint64_t offset, char* out, std::size_t n)> read_at;
};

// Items done so far, of `total` (0 when not known yet).
using BackupProgress = std::function<void(int64_t done, int64_t total)>;

class BackupService {
 public:
  // REQUIRES: all pointers outlive this.
  BackupService(storage::RegionRouter* router, vault::ControlStore* control,
                ErasureService* erasures, audit::AuditLog* audit,
                const crypto::Ed25519Key* signer, const Clock* clock)
      : router_(router),
        control_(control),
        erasures_(erasures),
        audit_(audit),
        signer_(signer),
        clock_(clock) {}

  // Writes a backup of `region` to `out`. kNotFound for a region the
  // configuration does not define; the store's or the sink's error.
  Result<BackupSummary> Backup(std::string_view region,
                               const crypto::ByteSink& out,
                               const BackupProgress& progress = {});

  // Step 0 alone: what the backup is, once its signature, region and hash
  // check out. kFailedPrecondition for a backup of another deployment,
  // kDataLoss for a damaged or changed file, kInvalidArgument for one of
  // another region or not a backup at all.
  Result<BackupSummary> Verify(std::string_view region, const BackupInput& in);

  // Restores `region` from `in` on behalf of `who`. kPermissionDenied
  // unless `who` is an active operator-admin; validation_failed ("reason")
  // unless `reason` is free text of 1 to 1000 characters; Verify's errors;
  // kFailedPrecondition while an interrupted restore of another backup is
  // pending for the region. On any error before step 2 commits, the region
  // is unchanged.
  Result<RestoreSummary> Restore(const vault::Identity& who,
                                 std::string_view region,
                                 std::string_view reason, const BackupInput& in,
                                 const BackupProgress& progress = {});

  struct Pending {
    std::string region;
    std::string backup_id;
  };
  // Restores interrupted and not yet finished.
  Result<std::vector<Pending>> PendingRestores();

  // What the registers say a restore must not bring back (backup.cc).
  struct Registers;

 private:
  struct Layout;  // where a verified file's parts are
  struct Intent;  // restore/<region>
  Result<Layout> Check(std::string_view region, const BackupInput& in);
  Result<Registers> ReadRegisters(TimePoint backup_taken);
  Result<int64_t> ReapplyErasures(storage::Backend& backend,
                                  const Registers& registers);

  storage::RegionRouter* router_;
  vault::ControlStore* control_;
  ErasureService* erasures_;
  audit::AuditLog* audit_;
  const crypto::Ed25519Key* signer_;
  const Clock* clock_;
};

}  // namespace piivault::lifecycle
