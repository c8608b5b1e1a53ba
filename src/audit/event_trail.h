// One event's way into its log around a change: a request, or a job's change
// on no request's behalf. The event is written ahead of the change's first
// write, through write_ahead() (fail closed: no event, no change), or, for a
// change that wrote nothing, afterwards with WriteAfter(). When a change
// written ahead then fails, or touched more than its event said, an outcome
// entry linked to it gives the final word (the log is append-only).
//
// Thread safety: belongs to one change.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "audit/event.h"
#include "base/clock.h"
#include "storage/write_hook.h"

namespace piivault::audit {

class EventTrail {
 public:
  // `log_id` names the event's log; it is asked once, when the event is
  // first written. REQUIRES: `log` and `clock` outlive this.
  EventTrail(AuditLog* log, std::function<std::string()> log_id,
             const Clock* clock)
      : log_(log), log_id_(std::move(log_id)), clock_(clock) {}
  // The write-ahead points at this trail.
  EventTrail(const EventTrail&) = delete;
  EventTrail& operator=(const EventTrail&) = delete;

  Event& event() { return event_; }
  // For the batches of the change: the first one waits for the event.
  storage::WriteAhead* write_ahead() { return &write_ahead_; }
  // Whether the event was written ahead (the change got as far as a write).
  bool written() const { return intent_.has_value(); }

  // After a change written ahead: the outcome entry, if `outcome` or the
  // subjects differ from what was written. Its error: the log refused it.
  Status WriteOutcome(Outcome outcome);
  // After a change that wrote nothing: appends the event with `outcome`
  // without blocking; `done` gets the append's result.
  void WriteAfter(Outcome outcome, AuditLog::Done done);

 private:
  Status WriteIntent();
  void Stamp(Outcome outcome);
  const std::string& LogId();

  AuditLog* log_;
  std::function<std::string()> log_id_;
  const Clock* clock_;
  std::string log_name_;  // once known
  Event event_;
  storage::WriteAhead write_ahead_{[this] { return WriteIntent(); }};
  std::optional<uint64_t> intent_;  // index of the entry written ahead
  Event intent_event_;              // as it was written
};

}  // namespace piivault::audit
