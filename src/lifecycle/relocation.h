// Relocation: moves everything a principal has in one region (its key,
// records, record index, blind-index entries and consent ledger) to another
// region.
//
// The move is a resumable sequence of steps, each one atomic on one store and
// idempotent, recorded in the control store (keys::Relocation) until done:
//   1. freeze   source key entry -> kOutgoing: the source stays readable, and
//               every record write (guarded by the active key entry) aborts;
//   2. copy     one atomic batch into the target, guarded by the target
//               having no entry for the principal, with the key as
//               kIncoming and the target's record counter;
//   3. verify   every copied key and value equals the source's, and the key
//               unwraps; a bad copy is removed and made again;
//   4. switch   the principal directory names the target (the commit point),
//               with the principal counters, guarded by the directory entry
//               and the stored tenant (which must still allow the target);
//   5. activate target key entry -> active: writes resume there;
//   6. purge    one atomic batch deleting everything from the source, with
//               the source's record counter.
// Before the switch, reads are answered from the source; from it on, from the
// target. After a crash at any step, ResumeInterrupted() (run at startup) or
// the next Relocate() of the principal drives the move to its end, so the
// data is never lost and never readable in two places.
//
// Thread safety: thread-safe; concurrent drivers of one move are serialized
// by the compare-and-set guards of each step.
#pragma once

#include <string>
#include <string_view>

#include "base/clock.h"
#include "storage/region_router.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/records.h"
#include "vault/request_context.h"

namespace piivault::lifecycle {

class RelocationService {
 public:
  // REQUIRES: all pointers outlive this.
  RelocationService(storage::RegionRouter* router, vault::ControlStore* control,
                    vault::RecordService* records, const Clock* clock)
      : router_(router), control_(control), records_(records), clock_(clock) {}

  // Moves `principal` to `target` and returns its region afterwards.
  // Errors: region_not_allowed (403) for a region the tenant does not
  // accept new principals in, kNotFound for an unknown principal,
  // kUnavailable when either region cannot be reached (the move is then
  // finished later; the principal stays readable but not writable).
  Result<std::string> Relocate(const vault::RequestContext& context,
                               const vault::Tenant& tenant,
                               std::string_view principal,
                               std::string_view target);

  // Drives every interrupted relocation to its end. Returns how many were
  // finished; the first error, if any, after trying them all.
  Result<int> ResumeInterrupted();

 private:
  Status Drive(const vault::RequestContext& context, const std::string& key,
               const vault::RelocationRecord& move);
  Status Freeze(const vault::RequestContext& context, storage::Backend& source,
                const vault::RelocationRecord& move);
  Status CopyAndVerify(const vault::RequestContext& context,
                       storage::Backend& source, storage::Backend& target,
                       const vault::RelocationRecord& move);
  // kFailedPrecondition when the tenant no longer accepts the target.
  Status Switch(const vault::RequestContext& context,
                const vault::RelocationRecord& move);
  Status Activate(const vault::RequestContext& context,
                  storage::Backend& target,
                  const vault::RelocationRecord& move);
  // Removes the principal's rows and key entry from `backend`; with
  // `tombstone`, a keyless entry stays in place of the key entry (the
  // source of a finished move: a create that read the directory before the
  // switch must not give the principal a new key there).
  Status Purge(const vault::RequestContext& context, storage::Backend& backend,
               const vault::RelocationRecord& move, bool tombstone = false);
  Status Abandon(const vault::RequestContext& context, storage::Backend& source,
                 storage::Backend& target, const std::string& key,
                 const vault::RelocationRecord& move);

  storage::RegionRouter* router_;
  vault::ControlStore* control_;
  vault::RecordService* records_;
  const Clock* clock_;
};

}  // namespace piivault::lifecycle
