// Timed work (tenant disposal at its due time, retention passes, and later
// notification and incident deadlines), persistent in the control store and
// safe with several `serve` processes over it.
//
// A job is a control document (job/<id>): its kind, when it is due, its
// state (scheduled → running → completed | failed), the progress its
// handler reported, how many times it was claimed, the last error (a safe
// message) and, while running, its lease: the node holding it and until
// when. Each job of a kind is run by the handler registered for the kind.
//
// Exactly one node runs a job at a time. RunDue(now) claims a due job by
// compare-and-set on its document (holder = this node, lease_until = now +
// lease): of nodes racing for it, one write wins and the others see the job
// leased. The holder renews its lease whenever its handler's progress is
// saved, and ends the run under the same compare-and-set: completed, or on
// failure scheduled again after a backoff (doubling from retry_backoff up to
// max_backoff) until max_attempts claims have been spent, then failed. A
// node that dies, hangs or stops renewing leaves its job running with a
// lease that lapses; the next RunDue on any node after that takes it over
// (as another attempt), and the stale holder's next renewal or final write
// fails, so it stops without touching the job. A job taken over after its
// last attempt is failed instead of run again, so a job that kills its node
// cannot take every node down in turn.
//
// A due index (job-due/<time>/<id>, written in the same batch as the job)
// lists scheduled jobs by due time and running ones by lease end, so RunDue
// reads only what is due, however many finished jobs are kept.
//
// Handlers must be resumable: after a crash or a takeover the job runs
// again from the start, or from a cursor the handler kept in the job's
// params (saved with its progress). A handler calls JobProgress::Report
// well within the lease (the default lease is a minute) and stops as soon
// as Report fails.
//
// Crash points (base/crash_point.h), each right after the write of a state
// change: scheduler.claimed, scheduler.progress, scheduler.completed,
// scheduler.retry_scheduled, scheduler.failed, scheduler.released.
//
// Thread safety: thread-safe once the handlers are registered; RunDue may
// run on several threads and nodes at once.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "vault/control_store.h"
#include "vault/request_context.h"

namespace piivault::lifecycle {

enum class JobKind {
  kNoop,  // does nothing; for tests of the scheduler itself
  kRetention,
  // A terminated tenant's disposal (lifecycle/termination.h).
  kDisposal,
  // A tenant export (lifecycle/tenant_export.h).
  kExport,
  // The tenant's notice of a legal disclosure once its non-disclosure
  // period ends (compliance/disclosure.h).
  kDisclosureNotice,
};
std::string_view JobKindName(JobKind kind);
std::optional<JobKind> ParseJobKind(std::string_view name);

enum class JobState { kScheduled, kRunning, kCompleted, kFailed };
std::string_view JobStateName(JobState state);
std::optional<JobState> ParseJobState(std::string_view name);

struct Job {
  std::string id;  // "job_…", or the id it was scheduled with
  JobKind kind = JobKind::kNoop;
  JobState state = JobState::kScheduled;
  TimePoint due_at;
  TimePoint created_at;
  // What the kind's handler needs (ids, never personal data), and any
  // resume cursor it keeps there.
  boost::json::object params;
  int64_t done = 0;  // progress, as last saved
  int64_t total = 0;
  int attempts = 0;         // claims so far: runs and takeovers
  std::string error;        // the last failed attempt's, a safe message
  std::string holder;       // running: the node holding the lease
  TimePoint lease_until{};  // running: when the lease lapses
  std::optional<TimePoint> finished_at;  // completed or failed
};

class Scheduler;

// What a running job's handler reports its progress through.
class JobProgress {
 public:
  // Notes how far the job has come. At most every `persist_every` (and at
  // the first report) it is saved with the job's params and the lease is
  // renewed. A non-ok answer means the job must stop now and return it:
  // kAborted when the lease passed to another node or this node is
  // stopping, or the store's error when it could not be saved (the lease
  // may lapse meanwhile).
  Status Report(int64_t done, int64_t total);

  int64_t done() const { return done_; }
  int64_t total() const { return total_; }

 private:
  friend class Scheduler;
  struct Held;
  JobProgress(Scheduler* scheduler, Held* held, Job* work)
      : scheduler_(scheduler), held_(held), work_(work) {}

  Scheduler* scheduler_;
  Held* held_;
  Job* work_;  // the handler's copy: its params are saved too
  int64_t done_ = 0;
  int64_t total_ = 0;
  std::optional<TimePoint> next_save_;  // nullopt: save at the next report
  bool lost_ = false;                   // the lease passed to another node
  bool stopping_ = false;               // this node is stopping
};

// The work of one job kind. May be run again from the start (see above).
using JobHandler = std::function<Status(const vault::RequestContext& context,
                                        Job& job, JobProgress& progress)>;

struct SchedulerOptions {
  std::chrono::seconds lease{60};
  // Progress is saved, and the lease renewed, at most this often.
  std::chrono::seconds persist_every{10};
  int max_attempts = 5;
  std::chrono::seconds retry_backoff{30};  // after the first failed attempt
  std::chrono::seconds max_backoff{3600};
  std::size_t claim_page = 64;  // due jobs read per RunDue
};

// What one RunDue did.
struct RunReport {
  int completed = 0;
  int retried = 0;   // failed, scheduled again after a backoff
  int failed = 0;    // failed for good
  int lost = 0;      // the lease passed to another node mid-run
  int released = 0;  // handed back unfinished because this node is stopping
};

class Scheduler {
 public:
  // REQUIRES: both outlive this.
  Scheduler(vault::ControlStore* control, const Clock* clock,
            SchedulerOptions options = {});
  // Stop()s first.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // REQUIRES: before the first RunDue or Start; one handler per kind.
  void Register(JobKind kind, JobHandler handler);

  struct NewJob {
    JobKind kind = JobKind::kNoop;
    TimePoint due_at;
    boost::json::object params;
    // Empty: a random "job_…". Otherwise a fixed id (letters, digits, '_',
    // '-', at most 96), so that work scheduled once per subject (a tenant's
    // disposal) is scheduled once: kAlreadyExists when taken.
    std::string id;
  };
  Result<Job> Schedule(const vault::RequestContext& context, NewJob spec);
  // The same, added to `batch` (which must also be written, with other
  // changes that are to take effect with the job, or not at all): the job
  // as it will be stored. The write fails as having lost a race (kAborted)
  // when the fixed id is taken.
  Result<Job> Schedule(NewJob spec, storage::WriteBatch& batch);

  // kNotFound for no such job.
  Result<Job> Get(std::string_view id);

  // Jobs in id order, `limit` at most, after the id `after` (empty: from
  // the first); `next` is the last id returned while more follow.
  struct Page {
    std::vector<Job> jobs;
    std::optional<std::string> next;
  };
  Result<Page> List(std::string_view after, std::size_t limit);

  // Claims and runs, one after another on this thread, the jobs due at
  // `now` (scheduled ones due by then, running ones whose lease lapsed by
  // then), up to claim_page of them; a lease runs from the clock's time of
  // its claim. Jobs of a kind without a handler here are left alone. The
  // first store error, if any, after trying them all; nothing when
  // stopping.
  Result<RunReport> RunDue(TimePoint now);

  struct Loop {
    std::chrono::milliseconds interval{1000};
    std::function<void(const Status&)> on_error;  // for the operator's log
  };
  // RunDue(clock now) every `interval` on a background thread until Stop().
  void Start(Loop loop);
  // Stops the loop: a running job stops at its next progress report and is
  // handed back (scheduled, due at once, the attempt not counted) for the
  // next node. Waits for the loop thread. Idempotent.
  void Stop();

  // This process's node id ("node_…", random): the holder of its leases.
  const std::string& node_id() const { return node_id_; }

  // Ids accepted for fixed-id jobs and as a List cursor.
  static bool ValidJobId(std::string_view id);

 private:
  friend class JobProgress;
  using Held = JobProgress::Held;
  enum class Claimed { kNothing, kClaimed, kFailed };

  Result<Claimed> Claim(std::string_view id, TimePoint now, Held& held);
  // Runs a claimed job to its end and records how it ended.
  Status Execute(Held& held, RunReport& report);
  // Replaces the held job, under compare-and-set, with `change` applied:
  // kAborted when this node no longer holds it.
  Status UpdateHeld(Held& held, const std::function<void(Job&)>& change);
  // Writes `next` in place of `current` (stored as `raw`), moving its
  // due-index entry; the new stored bytes.
  Result<std::string> Replace(const std::optional<std::string>& raw,
                              const std::optional<Job>& current,
                              const Job& next);
  Result<std::optional<std::pair<Job, std::string>>> Read(std::string_view id);
  bool Holds(const Job& job, const Held& held) const;
  std::chrono::seconds Backoff(int attempts) const;

  vault::ControlStore* control_;
  const Clock* clock_;
  const SchedulerOptions options_;
  const std::string node_id_;
  std::map<JobKind, JobHandler> handlers_;
  std::atomic<bool> stopping_{false};
  std::jthread loop_;  // last: stops before the state it uses
};

}  // namespace piivault::lifecycle
