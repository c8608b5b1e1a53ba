// The scheduler's jobs (lifecycle/scheduler.h), for operator-admins: what is
// due, running, done or failed, and how far it has come.
#include "api/handler_support.h"

namespace piivault::api {
namespace {

using lifecycle::Job;
using lifecycle::JobState;
using policy::Operation;

constexpr std::size_t kMaxPage = 1000;
constexpr std::size_t kDefaultPage = 100;

json::value JobJson(const Job& job) {
  json::object o{
      {"id", job.id},
      {"kind", lifecycle::JobKindName(job.kind)},
      {"state", lifecycle::JobStateName(job.state)},
      {"due_at", TimeJson(job.due_at)},
      {"created_at", TimeJson(job.created_at)},
      {"progress", json::object{{"done", job.done}, {"total", job.total}}},
      {"attempts", job.attempts}};
  if (!job.error.empty()) o["error"] = job.error;
  if (job.state == JobState::kRunning) {
    o["node"] = job.holder;
    o["lease_until"] = TimeJson(job.lease_until);
  }
  if (job.finished_at) o["finished_at"] = TimeJson(*job.finished_at);
  return o;
}

// ?limit=&after=: a page of jobs in id order; "next" is the `after` of the
// following page, null on the last.
Result<Reply> ListJobs(Call& call) {
  PV_ASSIGN_OR_RETURN(std::size_t limit,
                      PageLimit(call, kMaxPage, kDefaultPage));
  std::string after = QueryParam(call.request, "after");
  if (!after.empty() && !lifecycle::Scheduler::ValidJobId(after))
    return Err(InvalidArgument("after must be a job id"));
  PV_ASSIGN_OR_RETURN(auto page, call.vault.scheduler.List(after, limit));
  json::array jobs;
  for (auto& job : page.jobs) jobs.push_back(JobJson(job));
  return Reply{200, json::object{{"jobs", std::move(jobs)},
                                 {"next", page.next ? json::value(*page.next)
                                                    : json::value()}}};
}

}  // namespace

void AddJobRoutes(const RouteAdder& add) {
  add("GET", "/v1/jobs", "jobs.list", Operation::kListJobs, ListJobs);
}

}  // namespace piivault::api
