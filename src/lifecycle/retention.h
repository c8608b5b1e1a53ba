// Retention: a collection's `retention` (an ISO 8601 duration) disposes of
// its records once they are older than it, counted from their last update
// (`updated_at`; a record created long ago but updated since is kept), in a
// periodic pass run by the scheduler (JobKind::kRetention).
//
// A pass goes through every tenant with at least one collection that has a
// retention, and every region of the tenant, a page of records at a time in
// id order. Each record older than its collection's retention at the pass's
// start is deleted through RecordService::Delete (so its index entries,
// principal row and the tenant's record counter go with it), after an event
// ("retention.dispose", actor "scheduler", the job id as request id, the
// record id and principal pseudonym as subjects) is durable in the tenant's
// audit log: if the event cannot be written, the record stays and the pass
// fails (to be retried). The pass keeps its cursor (tenant, region, last
// record id) in the job's params with its progress, so a pass interrupted
// by a crash continues from there; a record deleted twice is simply gone. A
// record whose principal is being relocated or erased is left for the next
// pass.
//
// After each run, whatever its result, the next pass is scheduled at the
// next multiple of the interval (Unix time), under the fixed id
// "retention-<its Unix seconds>", so that nodes scheduling it at once
// schedule it once; `serve` calls ScheduleNext at start so that a fresh
// deployment, or one whose chain was broken, gets its pass.
//
// Thread safety: thread-safe.
#pragma once

#include <chrono>
#include <cstddef>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "lifecycle/scheduler.h"
#include "storage/region_router.h"
#include "vault/control_store.h"
#include "vault/records.h"

namespace piivault::lifecycle {

struct RetentionOptions {
  std::chrono::seconds interval{3600};  // between passes
  std::size_t page = 256;               // records read per step
};

class RetentionService {
 public:
  // REQUIRES: all pointers outlive this.
  RetentionService(storage::RegionRouter* router, vault::ControlStore* control,
                   vault::RecordService* records, audit::AuditLog* audit,
                   const Clock* clock, RetentionOptions options = {});

  // One pass, as kRetention's handler (resumable; see above).
  Status Run(Job& job, JobProgress& progress);

  // Registers the handler with `scheduler`: Run, then ScheduleNext.
  // REQUIRES: `scheduler` outlives this; before it runs jobs.
  void Register(Scheduler* scheduler);

  // Schedules the pass of the next interval boundary after now, unless it
  // is scheduled already (then ok as well).
  Status ScheduleNext(Scheduler& scheduler);

 private:
  // Disposes of one record: true when it went, false when it was gone
  // already or is left for the next pass.
  Result<bool> Dispose(const Job& job, const vault::Tenant& tenant,
                       const std::string& collection, const std::string& id);

  storage::RegionRouter* router_;
  vault::ControlStore* control_;
  vault::RecordService* records_;
  audit::AuditLog* audit_;
  const Clock* clock_;
  const RetentionOptions options_;
};

}  // namespace piivault::lifecycle
