#include "audit/event_trail.h"

namespace piivault::audit {

const std::string& EventTrail::LogId() {
  if (log_name_.empty()) log_name_ = log_id_();
  return log_name_;
}

void EventTrail::Stamp(Outcome outcome) {
  event_.SettleSubjects();
  event_.outcome = outcome;
  event_.at = clock_->Now();
}

Status EventTrail::WriteIntent() {
  Stamp(Outcome::kOk);
  auto appended = log_->Append(LogId(), event_);
  if (!appended) return appended.error();
  intent_ = *appended;
  intent_event_ = event_;
  return Status::Ok();
}

Status EventTrail::WriteOutcome(Outcome outcome) {
  if (!intent_) return Status::Ok();  // nothing written, nothing to correct
  event_.SettleSubjects();
  Event final_word = event_;
  final_word.outcome = outcome;
  final_word.at = intent_event_.at;
  if (final_word == intent_event_) return Status::Ok();
  Stamp(outcome);
  event_.intent = *intent_;
  auto appended = log_->Append(LogId(), event_);
  return appended ? Status::Ok() : appended.error();
}

void EventTrail::WriteAfter(Outcome outcome, AuditLog::Done done) {
  Stamp(outcome);
  log_->AppendAsync(LogId(), std::move(event_), std::move(done));
}

}  // namespace piivault::audit
