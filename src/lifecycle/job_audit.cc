#include "lifecycle/job_audit.h"

namespace piivault::lifecycle {

void JobAuditTrail::Stamp(audit::Outcome outcome) {
  event_.SettleSubjects();
  event_.outcome = outcome;
  event_.at = clock_->Now();
}

Status JobAuditTrail::WriteIntent() {
  Stamp(audit::Outcome::kOk);
  auto appended = log_->Append(log_id_, event_);
  if (!appended) return appended.error();
  intent_ = *appended;
  intent_event_ = event_;
  return Status::Ok();
}

Status JobAuditTrail::Finish(const Status& result) {
  // Nothing was written, so nothing changed and nothing needs correcting.
  if (!intent_) return Status::Ok();
  event_.SettleSubjects();
  audit::Event final_word = event_;
  final_word.outcome =
      result.ok() ? audit::Outcome::kOk : audit::Outcome::kError;
  final_word.at = intent_event_.at;
  if (final_word == intent_event_) return Status::Ok();
  Stamp(final_word.outcome);
  event_.intent = *intent_;
  auto appended = log_->Append(log_id_, event_);
  if (!appended) return appended.error();
  return Status::Ok();
}

}  // namespace piivault::lifecycle
