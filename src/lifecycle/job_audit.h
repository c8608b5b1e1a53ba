// The audit trail of one change a job makes on no request's behalf (a
// retention disposal, a tenant's disposal): as the API's trail does for a
// request, the event is appended to its log ahead of the change's first
// write, through the write-ahead of the context the change runs in, so a
// change is never made unaudited (fail closed: no event, no change). When
// the change then fails, or touched more than the event said, an outcome
// entry linked to it gives the final word (the log is append-only).
//
// Thread safety: belongs to one change.
#pragma once

#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "audit/event.h"
#include "base/clock.h"
#include "storage/write_hook.h"
#include "vault/request_context.h"

namespace piivault::lifecycle {

class JobAuditTrail {
 public:
  // REQUIRES: `log` and `clock` outlive this.
  JobAuditTrail(audit::AuditLog* log, std::string log_id, audit::Event event,
                const Clock* clock)
      : log_(log),
        log_id_(std::move(log_id)),
        event_(std::move(event)),
        clock_(clock) {}
  // The write-ahead points at this trail.
  JobAuditTrail(const JobAuditTrail&) = delete;
  JobAuditTrail& operator=(const JobAuditTrail&) = delete;

  // The context to run the change in: the services note its subjects, and
  // its first write waits until the event is durable.
  vault::RequestContext Context() {
    return vault::RequestContext(&event_, &write_ahead_, nullptr);
  }

  // Whether the event was written ahead (the change got as far as a write).
  bool written() const { return intent_.has_value(); }

  // After the change, whose result is `result`: the outcome entry if one is
  // needed. Its error means the log could not take it.
  Status Finish(const Status& result);

 private:
  Status WriteIntent();
  void Stamp(audit::Outcome outcome);

  audit::AuditLog* log_;
  std::string log_id_;
  audit::Event event_;
  const Clock* clock_;
  storage::WriteAhead write_ahead_{[this] { return WriteIntent(); }};
  std::optional<uint64_t> intent_;  // index of the entry written ahead
  audit::Event intent_event_;       // as it was written
};

}  // namespace piivault::lifecycle
