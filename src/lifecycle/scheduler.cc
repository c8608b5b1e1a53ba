#include "lifecycle/scheduler.h"

#include <algorithm>
#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>

#include "base/crash_point.h"
#include "base/enum_names.h"
#include "base/retry.h"
#include "crypto/random.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::lifecycle {

namespace json = boost::json;
namespace keys = vault::keys;
using vault::Corrupt;
using vault::OpenStored;
using vault::RequestContext;

// A job this node has claimed: as stored, and its stored bytes (the
// compare-and-set guard of its next write).
struct JobProgress::Held {
  Job job;
  std::string raw;
};

namespace {

constexpr int kMaxAttempts = 8;  // of one compare-and-set loop
// A fixed id names its subject: "disposal-" and a tenant id of up to 64.
constexpr std::size_t kMaxJobId = 96;

Status LeaseLost() { return Aborted("the job's lease passed to another node"); }

json::value JobJson(const Job& job) {
  json::object o{{"id", job.id},
                 {"kind", JobKindName(job.kind)},
                 {"state", JobStateName(job.state)},
                 {"due_at", ToUnixMicros(job.due_at)},
                 {"created_at", ToUnixMicros(job.created_at)},
                 {"params", job.params},
                 {"done", job.done},
                 {"total", job.total},
                 {"attempts", job.attempts}};
  if (!job.error.empty()) o["error"] = job.error;
  if (job.state == JobState::kRunning) {
    o["holder"] = job.holder;
    o["lease_until"] = ToUnixMicros(job.lease_until);
  }
  if (job.finished_at) o["finished_at"] = ToUnixMicros(*job.finished_at);
  return o;
}

Result<Job> JobFromJson(const json::value& doc) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(doc, "job"));
  Job job;
  job.id = s.Str("id");
  auto kind = ParseJobKind(s.Str("kind"));
  auto state = ParseJobState(s.Str("state"));
  job.due_at = FromUnixMicros(s.Int("due_at"));
  job.created_at = FromUnixMicros(s.Int("created_at"));
  job.done = s.Int("done");
  job.total = s.Int("total");
  job.attempts = static_cast<int>(s.Int("attempts"));
  job.error = s.OptStr("error");
  job.holder = s.OptStr("holder");
  if (auto lease = s.OptInt("lease_until"))
    job.lease_until = FromUnixMicros(*lease);
  if (auto at = s.OptInt("finished_at")) job.finished_at = FromUnixMicros(*at);
  const json::value* params = s.obj->if_contains("params");
  if (!s.ok || !kind || !state || !params || !params->is_object())
    return Err(Corrupt("job"));
  job.kind = *kind;
  job.state = *state;
  job.params = params->get_object();
  return job;
}

// Where the job stands in the due index: scheduled ones by due time,
// running ones by the end of their lease (when they may be taken over);
// finished ones not at all.
std::optional<std::string> DueKey(const Job& job) {
  auto at = [&](TimePoint t) {
    return keys::JobDue(
        static_cast<uint64_t>(std::max<int64_t>(0, ToUnixMicros(t))), job.id);
  };
  switch (job.state) {
    case JobState::kScheduled:
      return at(job.due_at);
    case JobState::kRunning:
      return at(job.lease_until);
    case JobState::kCompleted:
    case JobState::kFailed:
      return std::nullopt;
  }
  return std::nullopt;
}

// The job id a due-index key names (keys::JobDue).
std::string_view IdOfDueKey(std::string_view key) {
  auto slash = key.rfind('/');
  return slash == std::string_view::npos ? std::string_view()
                                         : key.substr(slash + 1);
}

// The due time a due-index key names.
std::optional<TimePoint> TimeOfDueKey(std::string_view key) {
  key.remove_prefix(keys::JobDuePrefix().size());
  auto slash = key.find('/');
  if (slash != 16) return std::nullopt;
  uint64_t micros = 0;
  for (char c : key.substr(0, 16)) {
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
    if (digit < 0) return std::nullopt;
    micros = micros << 4 | static_cast<uint64_t>(digit);
  }
  return FromUnixMicros(static_cast<int64_t>(micros));
}

// The job finished, or goes back to wait for its next run: it has no
// holder any more.
void Unlease(Job& job) {
  job.holder.clear();
  job.lease_until = {};
}

}  // namespace

namespace {
constexpr EnumNames<JobKind, 5> kJobKinds{{{
    {JobKind::kNoop, "noop"},
    {JobKind::kRetention, "retention"},
    {JobKind::kDisposal, "disposal"},
    {JobKind::kExport, "export"},
    {JobKind::kDisclosureNotice, "disclosure_notice"},
}}};
constexpr EnumNames<JobState, 4> kJobStates{{{
    {JobState::kScheduled, "scheduled"},
    {JobState::kRunning, "running"},
    {JobState::kCompleted, "completed"},
    {JobState::kFailed, "failed"},
}}};
}  // namespace

std::string_view JobKindName(JobKind kind) { return kJobKinds.Name(kind); }

std::optional<JobKind> ParseJobKind(std::string_view name) {
  return kJobKinds.Parse(name);
}

std::string_view JobStateName(JobState state) { return kJobStates.Name(state); }

std::optional<JobState> ParseJobState(std::string_view name) {
  return kJobStates.Parse(name);
}

Status JobProgress::Report(int64_t done, int64_t total) {
  done_ = done;
  total_ = total;
  if (scheduler_->stopping_) {
    stopping_ = true;
    return Aborted("this node is stopping; the job is handed back");
  }
  TimePoint now = scheduler_->clock_->Now();
  if (next_save_ && now < *next_save_) return Status::Ok();
  Status saved = scheduler_->UpdateHeld(*held_, [&](Job& job) {
    job.done = done;
    job.total = total;
    job.params = work_->params;
    job.lease_until = now + scheduler_->options_.lease;
  });
  if (LostRace(saved)) lost_ = true;
  PV_RETURN_IF_ERROR(saved);
  CrashPoint("scheduler.progress");
  next_save_ = now + scheduler_->options_.persist_every;
  return Status::Ok();
}

Scheduler::Scheduler(vault::ControlStore* control, const Clock* clock,
                     SchedulerOptions options)
    : control_(control),
      clock_(clock),
      options_(options),
      node_id_(crypto::RandomId("node_")) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Register(JobKind kind, JobHandler handler) {
  handlers_[kind] = std::move(handler);
}

bool Scheduler::ValidJobId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxJobId &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

Result<std::optional<std::pair<Job, std::string>>> Scheduler::Read(
    std::string_view id) {
  const std::string key = keys::Job(id);
  PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
  if (!raw) return std::optional<std::pair<Job, std::string>>();
  PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(key, *raw));
  PV_ASSIGN_OR_RETURN(auto job, JobFromJson(doc));
  return std::optional<std::pair<Job, std::string>>(
      std::pair{std::move(job), std::move(*raw)});
}

Result<std::string> Scheduler::Replace(const std::optional<std::string>& raw,
                                       const std::optional<Job>& current,
                                       const Job& next) {
  const std::string key = keys::Job(next.id);
  storage::WriteBatch batch;
  batch.RequireValue(key, raw);
  auto old_due = current ? DueKey(*current) : std::nullopt;
  auto new_due = DueKey(next);
  if (old_due && old_due != new_due) batch.Delete(*old_due);
  if (new_due) batch.Put(*new_due, "");
  control_->Put(batch, key, JobJson(next));
  // The sealed bytes just put (Put adds the document last): the guard of
  // this node's next write.
  std::string sealed = batch.ops().back().value;
  PV_RETURN_IF_ERROR(control_->Write(RequestContext(), batch));
  return sealed;
}

Result<Job> Scheduler::Schedule(NewJob spec, storage::WriteBatch& batch) {
  if (!spec.id.empty() && !ValidJobId(spec.id))
    return Err(InvalidArgument("a job id is 1-96 letters, digits, _ or -"));
  Job job;
  job.id = spec.id.empty() ? crypto::RandomId("job_") : std::move(spec.id);
  job.kind = spec.kind;
  job.due_at = spec.due_at;
  job.created_at = clock_->Now();
  job.params = std::move(spec.params);
  const std::string key = keys::Job(job.id);
  batch.RequireAbsent(key);
  batch.Put(*DueKey(job), "");
  control_->Put(batch, key, JobJson(job));
  return job;
}

Result<Job> Scheduler::Schedule(const RequestContext& context, NewJob spec) {
  storage::WriteBatch batch = context.Batch();
  PV_ASSIGN_OR_RETURN(Job job, Schedule(std::move(spec), batch));
  Status written = control_->Write(context, batch);
  if (LostRace(written)) return Err(AlreadyExists("a job with this id exists"));
  PV_RETURN_IF_ERROR(written);
  return job;
}

Result<Job> Scheduler::Get(std::string_view id) {
  if (!ValidJobId(id)) return Err(NotFound("no such job"));
  PV_ASSIGN_OR_RETURN(auto stored, Read(id));
  if (!stored) return Err(NotFound("no such job"));
  return std::move(stored->first);
}

Result<Scheduler::Page> Scheduler::List(std::string_view after,
                                        std::size_t limit) {
  PV_ASSIGN_OR_RETURN(
      auto stored,
      control_->ScanPage(keys::JobPrefix(),
                         after.empty() ? "" : keys::Job(after), limit));
  Page page;
  for (auto& [key, doc] : stored.docs) {
    PV_ASSIGN_OR_RETURN(auto job, JobFromJson(doc));
    page.jobs.push_back(std::move(job));
  }
  if (stored.more && !page.jobs.empty()) page.next = page.jobs.back().id;
  return page;
}

bool Scheduler::Holds(const Job& job, const Held& held) const {
  // The attempt count tells this node's claim from an earlier one of its
  // own that lapsed and was taken over since.
  return job.state == JobState::kRunning && job.holder == node_id_ &&
         job.attempts == held.job.attempts;
}

Status Scheduler::UpdateHeld(Held& held,
                             const std::function<void(Job&)>& change) {
  bool reread = false;
  auto attempt = [&]() -> std::optional<Status> {
    if (reread) {
      PV_ASSIGN_OR_RETURN(auto stored, Read(held.job.id));
      if (!stored || !Holds(stored->first, held)) return LeaseLost();
      held.job = std::move(stored->first);
      held.raw = std::move(stored->second);
    }
    Job next = held.job;
    change(next);
    auto written = Replace(held.raw, held.job, next);
    if (LostRace(written)) {
      reread = true;  // changed under us: still ours?
      return std::nullopt;
    }
    PV_RETURN_IF_ERROR(written);
    held.job = std::move(next);
    held.raw = std::move(*written);
    return Status::Ok();
  };
  return RetryOnConflict("the job", attempt, kMaxAttempts);
}

Result<Scheduler::Claimed> Scheduler::Claim(std::string_view id, TimePoint now,
                                            Held& held) {
  auto attempt = [&]() -> std::optional<Result<Claimed>> {
    PV_ASSIGN_OR_RETURN(auto stored, Read(id));
    if (!stored) return Claimed::kNothing;
    auto& [job, raw] = *stored;
    const bool due = job.state == JobState::kScheduled && job.due_at <= now;
    const bool lapsed =
        job.state == JobState::kRunning && job.lease_until <= now;
    if (!due && !lapsed) return Claimed::kNothing;  // leased, or finished
    // A kind this node cannot run is left to the nodes that can.
    if (!handlers_.contains(job.kind)) return Claimed::kNothing;
    Job next = job;
    Unlease(next);
    Claimed outcome = Claimed::kClaimed;
    if (lapsed && job.attempts >= options_.max_attempts) {
      // Its holder died (or hung) on the last attempt it had.
      next.state = JobState::kFailed;
      next.error = "the job was interrupted on each of its " +
                   std::to_string(job.attempts) + " attempts";
      next.finished_at = now;
      outcome = Claimed::kFailed;
    } else {
      next.state = JobState::kRunning;
      next.holder = node_id_;
      // From the clock, not `now`: jobs run one after another, so `now`
      // may be long past by the time a later one in the page is claimed.
      next.lease_until = std::max(now, clock_->Now()) + options_.lease;
      ++next.attempts;
    }
    auto written = Replace(raw, job, next);
    if (LostRace(written)) return std::nullopt;  // another node came first
    PV_RETURN_IF_ERROR(written);
    CrashPoint(outcome == Claimed::kFailed ? "scheduler.failed"
                                           : "scheduler.claimed");
    held.job = std::move(next);
    held.raw = std::move(*written);
    return outcome;
  };
  return RetryOnConflict("the job", attempt, kMaxAttempts);
}

std::chrono::seconds Scheduler::Backoff(int attempts) const {
  std::chrono::seconds backoff = options_.retry_backoff;
  for (int i = 1; i < attempts && backoff < options_.max_backoff; ++i)
    backoff *= 2;
  return std::min(backoff, options_.max_backoff);
}

Status Scheduler::Execute(Held& held, RunReport& report) {
  const JobHandler& handler = handlers_.at(held.job.kind);  // Claim checked
  Job work = held.job;
  JobProgress progress(this, &held, &work);
  Status result;
  try {
    result = handler(RequestContext(), work, progress);
  } catch (const std::exception&) {
    // No message of the exception: it might quote data.
    result = Internal("the job's handler failed unexpectedly");
  }
  if (progress.lost_) {
    ++report.lost;
    return Status::Ok();
  }
  const TimePoint now = clock_->Now();
  enum { kCompleted, kRetry, kFailed, kReleased } end;
  if (result.ok()) {
    end = kCompleted;
  } else if (progress.stopping_) {
    end = kReleased;
  } else {
    end = held.job.attempts < options_.max_attempts ? kRetry : kFailed;
  }
  Status written = UpdateHeld(held, [&](Job& job) {
    job.done = progress.done();
    job.total = progress.total();
    job.params = work.params;
    Unlease(job);
    switch (end) {
      case kCompleted:
        job.state = JobState::kCompleted;
        job.finished_at = now;
        job.error.clear();  // an earlier attempt's, no longer the answer
        break;
      case kRetry:
        job.state = JobState::kScheduled;
        job.due_at = now + Backoff(job.attempts);
        job.error = result.ToString();
        break;
      case kFailed:
        job.state = JobState::kFailed;
        job.finished_at = now;
        job.error = result.ToString();
        break;
      case kReleased:
        // Handed back whole: an orderly stop is no failed attempt.
        job.state = JobState::kScheduled;
        job.due_at = now;
        --job.attempts;
        break;
    }
  });
  if (LostRace(written)) {
    ++report.lost;
    return Status::Ok();
  }
  PV_RETURN_IF_ERROR(written);
  switch (end) {
    case kCompleted:
      CrashPoint("scheduler.completed");
      ++report.completed;
      break;
    case kRetry:
      CrashPoint("scheduler.retry_scheduled");
      ++report.retried;
      break;
    case kFailed:
      CrashPoint("scheduler.failed");
      ++report.failed;
      break;
    case kReleased:
      CrashPoint("scheduler.released");
      ++report.released;
      break;
  }
  return Status::Ok();
}

Result<RunReport> Scheduler::RunDue(TimePoint now) {
  RunReport report;
  if (stopping_) return report;
  PV_ASSIGN_OR_RETURN(
      auto due,
      control_->backend().Scan(keys::JobDuePrefix(), "", options_.claim_page));
  Status first_error;
  auto note = [&](const Status& s) {
    if (!s.ok() && first_error.ok()) first_error = s;
  };
  for (auto& entry : due) {
    auto at = TimeOfDueKey(entry.key);
    if (!at) {
      note(Corrupt("job due index entry"));
      continue;
    }
    if (*at > now) break;  // ascending: nothing further is due
    if (stopping_) break;
    Held held;
    auto claimed = Claim(IdOfDueKey(entry.key), now, held);
    if (!claimed) {
      note(claimed.error());
      continue;
    }
    if (*claimed == Claimed::kFailed) ++report.failed;
    if (*claimed == Claimed::kClaimed) note(Execute(held, report));
  }
  if (!first_error.ok()) return Err(first_error);
  return report;
}

void Scheduler::Start(Loop loop) {
  loop_ = std::jthread([this, loop](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    while (!stop.stop_requested()) {
      auto ran = RunDue(clock_->Now());
      if (!ran && loop.on_error) loop.on_error(ran.error());
      cv.wait_for(lock, stop, loop.interval, [] { return false; });
    }
  });
}

void Scheduler::Stop() {
  stopping_ = true;
  if (loop_.joinable()) {
    loop_.request_stop();
    loop_.join();
  }
}

}  // namespace piivault::lifecycle
