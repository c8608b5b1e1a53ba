#include "lifecycle/termination.h"

namespace piivault::lifecycle {

std::string TerminationService::DisposalJobId(std::string_view tenant) {
  return "disposal-" + std::string(tenant);
}

Result<vault::Tenant> TerminationService::Terminate(
    const vault::RequestContext& context, std::string_view tenant,
    std::optional<std::chrono::seconds> return_period) {
  const std::chrono::seconds period =
      return_period.value_or(default_return_period_);
  if (period < kMinReturnPeriod || period > kMaxReturnPeriod)
    return Err(ValidationFailed("return_period",
                                "must be from one day (P1D) to 365 days "
                                "(P365D)"));
  const TimePoint due = clock_->Now() + period;
  return tenants_->Terminate(
      context, tenant, due, [&](storage::WriteBatch& batch) {
        boost::json::object params{{"tenant", tenant}};
        auto job = scheduler_->Schedule({.kind = JobKind::kDisposal,
                                         .due_at = due,
                                         .params = std::move(params),
                                         .id = DisposalJobId(tenant)},
                                        batch);
        return job ? Status::Ok() : job.error();
      });
}

}  // namespace piivault::lifecycle
