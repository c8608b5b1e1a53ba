// The scheduler: due jobs run once and complete; with two nodes over one
// control store exactly one runs each job at a time; a node that dies or
// stops renewing loses its job to another once the lease lapses and cannot
// finish it afterwards; failures are retried with backoff up to a limit.
#include "lifecycle/scheduler.h"

#include <gtest/gtest.h>

#include <barrier>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::lifecycle {
namespace {

using namespace std::chrono_literals;
using vault::RequestContext;
using vault::testing::VaultHarness;

// Thrown by a handler to leave RunDue the way a kill -9 of the node would:
// no final write, the job running under a lease nobody renews. (Not a
// std::exception, which the scheduler records as a failed attempt.)
struct SimulatedCrash {};

SchedulerOptions TestOptions() {
  SchedulerOptions o;
  o.lease = 60s;
  o.persist_every = 10s;
  o.max_attempts = 3;
  o.retry_backoff = 30s;
  o.max_backoff = 3600s;
  return o;
}

class SchedulerTest : public ::testing::Test {
 protected:
  VaultHarness h;
  // Two nodes over one control store.
  Scheduler a{&h.vault->control, &h.clock, TestOptions()};
  Scheduler b{&h.vault->control, &h.clock, TestOptions()};

  TimePoint now() const { return h.clock.now; }

  Job ScheduleAt(TimePoint due, std::string id = "") {
    auto job = a.Schedule(
        RequestContext(),
        {.kind = JobKind::kNoop, .due_at = due, .params = {}, .id = id});
    EXPECT_TRUE(job.has_value()) << job.error().ToString();
    return job.value_or(Job{});
  }

  Job Stored(const std::string& id) {
    auto job = a.Get(id);
    EXPECT_TRUE(job.has_value()) << job.error().ToString();
    return job.value_or(Job{});
  }

  RunReport Run(Scheduler& node) {
    auto report = node.RunDue(now());
    EXPECT_TRUE(report.has_value()) << report.error().ToString();
    return report.value_or(RunReport{});
  }

  // Node b runs jobs by counting them in b_runs, reporting `done` of
  // `done`.
  void CountRunsOnB(int64_t done = 1) {
    b.Register(JobKind::kNoop, [this, done](const RequestContext&, Job&,
                                            JobProgress& progress) {
      ++b_runs;
      return progress.Report(done, done);
    });
  }
  int b_runs = 0;

  // Entries of the due index (scheduled and running jobs).
  std::size_t DueEntries() {
    auto rows =
        h.control_backend->Scan(vault::keys::JobDuePrefix(), "", SIZE_MAX);
    EXPECT_TRUE(rows.has_value());
    return rows ? rows->size() : 0;
  }
};

TEST_F(SchedulerTest, AJobRunsWhenDueAndCompletes) {
  int runs = 0;
  a.Register(JobKind::kNoop,
             [&](const RequestContext&, Job& job, JobProgress& progress) {
               ++runs;
               EXPECT_EQ(job.state, JobState::kRunning);
               EXPECT_EQ(job.holder, a.node_id());
               return progress.Report(3, 3);
             });
  Job job = ScheduleAt(now() + 10s);
  EXPECT_EQ(job.state, JobState::kScheduled);
  EXPECT_EQ(Run(a).completed, 0);
  EXPECT_EQ(runs, 0);
  h.clock.now += 10s;
  EXPECT_EQ(Run(a).completed, 1);
  EXPECT_EQ(runs, 1);
  Job done = Stored(job.id);
  EXPECT_EQ(done.state, JobState::kCompleted);
  EXPECT_EQ(done.attempts, 1);
  EXPECT_EQ(done.done, 3);
  EXPECT_EQ(done.total, 3);
  EXPECT_EQ(done.finished_at, now());
  EXPECT_TRUE(done.holder.empty());
  EXPECT_EQ(DueEntries(), 0u);  // finished jobs leave the due index
  EXPECT_EQ(Run(a).completed, 0);
  EXPECT_EQ(runs, 1);
}

// Two nodes call RunDue at the same moment, many times over: every job runs
// exactly once, never on both nodes at once, and completes.
TEST_F(SchedulerTest, ExactlyOnceWithTwoNodesRacing) {
  std::mutex mu;
  std::map<std::string, int> runs;     // GUARDED_BY(mu)
  std::map<std::string, int> running;  // GUARDED_BY(mu)
  int overlaps = 0;                    // GUARDED_BY(mu)
  std::map<std::string, int> by_node;  // GUARDED_BY(mu)
  auto handler = [&](Scheduler& node) {
    return [&, node_id = node.node_id()](const RequestContext&, Job& job,
                                         JobProgress& progress) {
      {
        std::lock_guard lock(mu);
        ++runs[job.id];
        ++by_node[node_id];
        if (++running[job.id] > 1) ++overlaps;
      }
      Status reported = progress.Report(1, 1);
      std::lock_guard lock(mu);
      --running[job.id];
      return reported;
    };
  };
  a.Register(JobKind::kNoop, handler(a));
  b.Register(JobKind::kNoop, handler(b));

  constexpr int kRounds = 150;
  constexpr int kJobsPerRound = 3;
  std::vector<std::string> ids;
  std::barrier start(2);
  std::vector<RunReport> reports[2];
  for (int round = 0; round < kRounds; ++round) {
    for (int j = 0; j < kJobsPerRound; ++j) ids.push_back(ScheduleAt(now()).id);
    auto race = [&](Scheduler& node, int i) {
      start.arrive_and_wait();
      auto report = node.RunDue(now());
      EXPECT_TRUE(report.has_value()) << report.error().ToString();
      if (report) reports[i].push_back(*report);
    };
    std::jthread ta(race, std::ref(a), 0);
    std::jthread tb(race, std::ref(b), 1);
  }
  int completed = 0;
  for (auto& node : reports)
    for (auto& r : node) {
      completed += r.completed;
      EXPECT_EQ(r.lost + r.retried + r.failed + r.released, 0);
    }
  EXPECT_EQ(completed, kRounds * kJobsPerRound);
  EXPECT_EQ(overlaps, 0);
  ASSERT_EQ(runs.size(), ids.size());
  for (auto& id : ids) {
    EXPECT_EQ(runs[id], 1) << id;
    EXPECT_EQ(Stored(id).state, JobState::kCompleted);
    EXPECT_EQ(Stored(id).attempts, 1);
  }
  EXPECT_EQ(DueEntries(), 0u);
}

// A node killed mid-job (no final write): nobody takes the job while the
// lease holds; once it lapses the other node takes it over and finishes it.
TEST_F(SchedulerTest, ADeadHoldersJobIsTakenOverOnceItsLeaseLapses) {
  a.Register(JobKind::kNoop,
             [](const RequestContext&, Job&, JobProgress&) -> Status {
               throw SimulatedCrash{};
             });
  CountRunsOnB();
  Job job = ScheduleAt(now());
  EXPECT_THROW((void)a.RunDue(now()), SimulatedCrash);
  Job held = Stored(job.id);
  EXPECT_EQ(held.state, JobState::kRunning);
  EXPECT_EQ(held.holder, a.node_id());
  EXPECT_EQ(held.lease_until, now() + 60s);

  h.clock.now += 60s - 1us;
  EXPECT_EQ(Run(b).completed, 0);
  EXPECT_EQ(b_runs, 0);
  h.clock.now += 1us;  // the lease lapses
  EXPECT_EQ(Run(b).completed, 1);
  EXPECT_EQ(b_runs, 1);
  Job done = Stored(job.id);
  EXPECT_EQ(done.state, JobState::kCompleted);
  EXPECT_EQ(done.attempts, 2);  // the run that died, and the takeover
  EXPECT_EQ(DueEntries(), 0u);
}

// A node whose handler reports progress keeps its job however long it runs;
// one that stops renewing loses it, and its late report and final write
// then change nothing.
TEST_F(SchedulerTest, ProgressRenewsTheLeaseAndAStaleHolderCannotFinish) {
  CountRunsOnB(7);
  Job job = ScheduleAt(now());
  Status late_report;
  a.Register(
      JobKind::kNoop,
      [&](const RequestContext&, Job& j, JobProgress& progress) -> Status {
        // Five reports 20 s apart: 100 s in all, longer than the lease.
        for (int i = 1; i <= 5; ++i) {
          h.clock.now += 20s;
          PV_RETURN_IF_ERROR(progress.Report(i, 10));
          EXPECT_EQ(Stored(j.id).done, i);  // saved
          EXPECT_EQ(Run(b).completed, 0);   // still a's
        }
        // Now silent past the lease: b takes the job over and finishes it.
        h.clock.now += 61s;
        EXPECT_EQ(Run(b).completed, 1);
        late_report = progress.Report(6, 10);
        return Status::Ok();  // and ignores what Report said
      });
  RunReport report = Run(a);
  EXPECT_EQ(report.lost, 1);
  EXPECT_EQ(report.completed, 0);
  EXPECT_EQ(late_report.code(), StatusCode::kAborted);
  EXPECT_EQ(b_runs, 1);
  Job done = Stored(job.id);
  EXPECT_EQ(done.state, JobState::kCompleted);
  EXPECT_EQ(done.done, 7);  // b's, not a's late 6
  EXPECT_EQ(done.attempts, 2);
}

// RunDue runs its due jobs one after another: a job claimed after a long
// one gets its lease from the time of its claim, not of the RunDue, so no
// other node takes it over while it starts.
TEST_F(SchedulerTest, AJobClaimedAfterALongOneGetsAFullLease) {
  const TimePoint start = now();
  Job slow = ScheduleAt(start, "a-slow");
  Job next = ScheduleAt(start, "b-next");
  CountRunsOnB();
  a.Register(
      JobKind::kNoop,
      [&](const RequestContext&, Job& job, JobProgress& progress) -> Status {
        if (job.id == slow.id) {
          for (int minute = 1; minute <= 10; ++minute) {
            h.clock.now += 1min;
            PV_RETURN_IF_ERROR(progress.Report(minute, 10));
          }
          return Status::Ok();
        }
        EXPECT_EQ(Stored(job.id).lease_until, now() + 60s);
        EXPECT_EQ(Run(b).completed, 0);  // b-next is a's
        return progress.Report(1, 1);
      });
  auto report = a.RunDue(start);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_EQ(report->completed, 2);
  EXPECT_EQ(b_runs, 0);
  EXPECT_EQ(Stored(next.id).attempts, 1);
}

// A node without a handler for a job's kind leaves the job to others.
TEST_F(SchedulerTest, AKindWithoutAHandlerIsLeftToOtherNodes) {
  CountRunsOnB();
  Job job = ScheduleAt(now());
  RunReport nothing = Run(a);
  EXPECT_EQ(nothing.completed + nothing.retried + nothing.failed, 0);
  EXPECT_EQ(Stored(job.id).state, JobState::kScheduled);
  EXPECT_EQ(Run(b).completed, 1);
  EXPECT_EQ(b_runs, 1);
}

// Failures are retried after a doubling backoff, then the job fails for
// good with its last error; a later RunDue leaves it alone.
TEST_F(SchedulerTest, AFailingJobIsRetriedWithBackoffThenFailed) {
  int runs = 0;
  a.Register(JobKind::kNoop,
             [&](const RequestContext&, Job&, JobProgress&) -> Status {
               if (++runs == 2) throw std::runtime_error("secret@example.org");
               return Unavailable("the region is down");
             });
  Job job = ScheduleAt(now());
  const TimePoint t0 = now();
  EXPECT_EQ(Run(a).retried, 1);
  Job first = Stored(job.id);
  EXPECT_EQ(first.state, JobState::kScheduled);
  EXPECT_EQ(first.attempts, 1);
  EXPECT_EQ(first.due_at, t0 + 30s);
  EXPECT_NE(first.error.find("the region is down"), std::string::npos);

  h.clock.now = t0 + 30s - 1us;
  EXPECT_EQ(Run(a).retried, 0);
  EXPECT_EQ(runs, 1);
  h.clock.now = t0 + 30s;
  EXPECT_EQ(Run(a).retried, 1);  // the exception counts as a failure
  Job second = Stored(job.id);
  EXPECT_EQ(second.due_at, t0 + 30s + 60s);                   // doubled
  EXPECT_EQ(second.error.find("secret"), std::string::npos);  // never quoted
  EXPECT_NE(second.error.find("unexpectedly"), std::string::npos);

  h.clock.now = t0 + 90s;
  EXPECT_EQ(Run(a).failed, 1);
  Job failed = Stored(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.attempts, 3);
  EXPECT_NE(failed.error.find("the region is down"), std::string::npos);
  EXPECT_EQ(failed.finished_at, now());
  h.clock.now += 24h;
  EXPECT_EQ(Run(a).failed, 0);
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(DueEntries(), 0u);
}

// A job that kills every node that runs it is failed once its attempts are
// spent, instead of being taken over again.
TEST_F(SchedulerTest, AJobThatKeepsKillingItsNodeFailsAfterItsAttempts) {
  int runs = 0;
  auto crash = [&](const RequestContext&, Job&, JobProgress&) -> Status {
    ++runs;
    throw SimulatedCrash{};
  };
  a.Register(JobKind::kNoop, crash);
  b.Register(JobKind::kNoop, crash);
  Job job = ScheduleAt(now());
  for (Scheduler* node : {&a, &b, &a}) {
    EXPECT_THROW((void)node->RunDue(now()), SimulatedCrash);
    h.clock.now += 60s;
  }
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(Run(b).failed, 1);
  EXPECT_EQ(runs, 3);  // not run a fourth time
  Job failed = Stored(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_NE(failed.error.find("interrupted"), std::string::npos);
  EXPECT_EQ(DueEntries(), 0u);
}

// A node that stops hands its running job back at the next report, without
// spending an attempt, and the other node runs it at once.
TEST_F(SchedulerTest, AStoppingNodeHandsItsJobBack) {
  Status answer;
  a.Register(JobKind::kNoop,
             [&](const RequestContext&, Job&, JobProgress& progress) {
               a.Stop();
               answer = progress.Report(1, 2);
               return answer;
             });
  CountRunsOnB(2);
  Job job = ScheduleAt(now());
  EXPECT_EQ(Run(a).released, 1);
  EXPECT_EQ(answer.code(), StatusCode::kAborted);
  Job back = Stored(job.id);
  EXPECT_EQ(back.state, JobState::kScheduled);
  EXPECT_EQ(back.attempts, 0);
  EXPECT_TRUE(back.holder.empty());
  EXPECT_EQ(Run(a).completed, 0);  // a stopped node claims nothing
  EXPECT_EQ(Run(b).completed, 1);
  EXPECT_EQ(b_runs, 1);
  EXPECT_EQ(Stored(job.id).attempts, 1);
}

// The loop `serve` runs: due jobs are picked up without anyone calling
// RunDue, and Stop() ends it.
TEST_F(SchedulerTest, TheLoopRunsDueJobsUntilStopped) {
  std::promise<void> ran;
  a.Register(JobKind::kNoop,
             [&](const RequestContext&, Job&, JobProgress& progress) {
               Status reported = progress.Report(0, 0);
               ran.set_value();  // Stop() from now on waits for the completion
               return reported;
             });
  Job job = ScheduleAt(now());
  a.Start({.interval = 5ms,
           .on_error = [](const Status& s) { ADD_FAILURE() << s.ToString(); }});
  ASSERT_EQ(ran.get_future().wait_for(30s), std::future_status::ready);
  a.Stop();
  EXPECT_EQ(Stored(job.id).state, JobState::kCompleted);
}

TEST_F(SchedulerTest, FixedIdsAreScheduledOnce) {
  ScheduleAt(now(), "disposal-acme");
  auto again = a.Schedule(RequestContext(), {.kind = JobKind::kNoop,
                                             .due_at = now(),
                                             .params = {},
                                             .id = "disposal-acme"});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kAlreadyExists);
  auto bad = a.Schedule(
      RequestContext(),
      {.kind = JobKind::kNoop, .due_at = now(), .params = {}, .id = "a/b"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a.Get("nope").error().code(), StatusCode::kNotFound);
}

TEST_F(SchedulerTest, ListPagesInIdOrder) {
  for (const char* id : {"j-3", "j-1", "j-2"}) ScheduleAt(now(), id);
  auto first = a.List("", 2);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->jobs.size(), 2u);
  EXPECT_EQ(first->jobs[0].id, "j-1");
  EXPECT_EQ(first->jobs[1].id, "j-2");
  ASSERT_TRUE(first->next.has_value());
  auto second = a.List(*first->next, 2);
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->jobs.size(), 1u);
  EXPECT_EQ(second->jobs[0].id, "j-3");
  EXPECT_FALSE(second->next.has_value());
}

TEST(JobNamesTest, EachKindAndStateHasOneNameThatParsesBack) {
  for (auto kind : {JobKind::kNoop})
    EXPECT_EQ(ParseJobKind(JobKindName(kind)), kind);
  for (auto state : {JobState::kScheduled, JobState::kRunning,
                     JobState::kCompleted, JobState::kFailed})
    EXPECT_EQ(ParseJobState(JobStateName(state)), state);
  EXPECT_FALSE(ParseJobState("done").has_value());
  EXPECT_FALSE(ParseJobKind("").has_value());
}

}  // namespace
}  // namespace piivault::lifecycle
