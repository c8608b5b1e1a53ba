#include "lifecycle/retention.h"

#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "audit/event_trail.h"
#include "base/crash_point.h"
#include "vault/record_envelope.h"
#include "vault/storage_keys.h"
#include "vault/tenants.h"

namespace piivault::lifecycle {

namespace json = boost::json;
namespace keys = vault::keys;

namespace {

constexpr std::string_view kAction = "retention.dispose";
constexpr std::string_view kActor = "scheduler";

// The pass's cursor, kept in its job's params: the tenant and region it is
// in and the last record id it has dealt with there, and its counts.
struct Cursor {
  std::string tenant;
  std::string region;
  std::string after;
  int64_t examined = 0;
  int64_t disposed = 0;

  static Cursor From(const json::object& params) {
    auto str = [&](const char* name) {
      const json::value* v = params.if_contains(name);
      return v && v->is_string() ? std::string(v->get_string()) : "";
    };
    auto num = [&](const char* name) -> int64_t {
      const json::value* v = params.if_contains(name);
      return v && v->is_int64() ? v->get_int64() : 0;
    };
    return {str("tenant"), str("region"), str("after"), num("examined"),
            num("disposed")};
  }
  void To(json::object& params) const {
    params["tenant"] = tenant;
    params["region"] = region;
    params["after"] = after;
    params["examined"] = examined;
    params["disposed"] = disposed;
  }
};

// Each collection of the tenant with a retention, and the time before
// which its records were last updated long enough ago to go.
Result<std::map<std::string, TimePoint>> Cutoffs(vault::ControlStore& control,
                                                 std::string_view tenant,
                                                 TimePoint now) {
  PV_ASSIGN_OR_RETURN(auto docs,
                      control.Scan(keys::CollectionPrefix(tenant), SIZE_MAX));
  std::map<std::string, TimePoint> cutoffs;
  for (auto& [key, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto collection, vault::CollectionFromJson(doc));
    if (collection.retention.empty()) continue;
    // Validated when the collection was put; one that no longer parses
    // disposes of nothing rather than guessing.
    auto period = ParseIsoDuration(collection.retention);
    if (!period) continue;
    cutoffs.emplace(collection.name, now - *period);
  }
  return cutoffs;
}

}  // namespace

RetentionService::RetentionService(storage::RegionRouter* router,
                                   vault::ControlStore* control,
                                   vault::RecordService* records,
                                   audit::AuditLog* audit, const Clock* clock,
                                   RetentionOptions options)
    : router_(router),
      control_(control),
      records_(records),
      audit_(audit),
      clock_(clock),
      options_(options) {}

void RetentionService::Register(Scheduler* scheduler) {
  scheduler->Register(JobKind::kRetention,
                      [this, scheduler](const vault::RequestContext&, Job& job,
                                        JobProgress& progress) {
                        Status ran = Run(job, progress);
                        // Even after a failed run, so that the chain of
                        // passes never ends; the id makes it idempotent.
                        Status next = ScheduleNext(*scheduler);
                        return ran.ok() ? next : ran;
                      });
}

Status RetentionService::ScheduleNext(Scheduler& scheduler) {
  const int64_t interval = std::max<int64_t>(1, options_.interval.count());
  const int64_t now = ToUnixMicros(clock_->Now()) / 1'000'000;  // whole seconds
  const int64_t slot = (now / interval + 1) * interval;
  auto scheduled = scheduler.Schedule(
      vault::RequestContext(), {.kind = JobKind::kRetention,
                                .due_at = FromUnixMicros(slot * 1'000'000),
                                .params = {},
                                .id = "retention-" + std::to_string(slot)});
  if (!scheduled && scheduled.error().code() == StatusCode::kAlreadyExists)
    return Status::Ok();
  if (!scheduled) return scheduled.error();
  return Status::Ok();
}

Result<bool> RetentionService::Dispose(const Job& job,
                                       const vault::Tenant& tenant,
                                       const std::string& collection,
                                       const std::string& id) {
  // Written ahead of the deletion, as a request's event is: no event, no
  // deletion.
  audit::EventTrail trail(
      audit_, [&] { return audit::AuditLog::TenantLog(tenant.id); }, clock_);
  audit::Event& event = trail.event();
  event.actor = kActor;
  event.action = kAction;
  event.collection = collection;
  event.request_id = job.id;
  Status deleted = records_->Delete(
      vault::RequestContext(&event, trail.write_ahead(), nullptr), tenant,
      collection, id);
  PV_RETURN_IF_ERROR(trail.WriteOutcome(deleted.ok() ? audit::Outcome::kOk
                                                     : audit::Outcome::kError));
  if (deleted.ok()) {
    CrashPoint("retention.disposed");
    return true;
  }
  // Gone already (an earlier run, an erasure), or its principal is being
  // relocated or erased: nothing to do now.
  if (deleted.code() == StatusCode::kNotFound ||
      deleted.code() == StatusCode::kAborted)
    return false;
  return Err(deleted);
}

Status RetentionService::Run(Job& job, JobProgress& progress) {
  Cursor cursor = Cursor::From(job.params);
  const TimePoint now = clock_->Now();
  PV_ASSIGN_OR_RETURN(auto tenants, vault::ListTenants(*control_));
  // Which tenants have work, and how many records they hold: the total the
  // progress is reported against.
  std::vector<std::pair<vault::Tenant, std::map<std::string, TimePoint>>> work;
  int64_t total = 0;
  for (auto& tenant : tenants) {
    if (tenant.id < cursor.tenant) continue;  // done before a crash
    PV_ASSIGN_OR_RETURN(auto cutoffs, Cutoffs(*control_, tenant.id, now));
    if (cutoffs.empty()) continue;
    for (auto& region : tenant.regions) {
      storage::Backend* store = router_->region(region);
      if (!store) continue;
      PV_ASSIGN_OR_RETURN(
          auto held, store->SumCounters(keys::RecordCountPrefix(tenant.id)));
      total += held;
    }
    work.emplace_back(std::move(tenant), std::move(cutoffs));
  }
  total += cursor.examined;

  for (auto& [tenant, cutoffs] : work) {
    // The regions in a fixed order, so that a resumed pass skips the right
    // ones.
    std::vector<std::string> regions = tenant.regions;
    std::sort(regions.begin(), regions.end());
    const bool resuming_tenant = tenant.id == cursor.tenant;
    for (auto& region : regions) {
      if (resuming_tenant && region < cursor.region) continue;
      std::string after;
      if (resuming_tenant && region == cursor.region) after = cursor.after;
      storage::Backend* store = router_->region(region);
      if (!store) return Unavailable("a region of the tenant is not served");
      const std::string prefix = keys::RecordPrefix(tenant.id);
      for (;;) {
        const std::string start = after.empty() ? "" : prefix + after + '\0';
        PV_ASSIGN_OR_RETURN(auto rows,
                            store->Scan(prefix, start, options_.page));
        for (auto& row : rows) {
          std::string id = row.key.substr(prefix.size());
          auto envelope = vault::RecordEnvelope::Decode(row.value);
          // A damaged record is no business of retention: reads report it.
          if (!envelope) continue;
          auto cutoff = cutoffs.find(envelope->collection);
          if (cutoff == cutoffs.end()) continue;
          if (FromUnixMicros(envelope->updated_us) >= cutoff->second) continue;
          PV_ASSIGN_OR_RETURN(bool gone,
                              Dispose(job, tenant, envelope->collection, id));
          if (gone) ++cursor.disposed;
        }
        cursor.examined += static_cast<int64_t>(rows.size());
        if (!rows.empty()) after = rows.back().key.substr(prefix.size());
        cursor.tenant = tenant.id;
        cursor.region = region;
        cursor.after = after;
        cursor.To(job.params);
        PV_RETURN_IF_ERROR(
            progress.Report(cursor.examined, std::max(total, cursor.examined)));
        if (rows.size() < options_.page) break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace piivault::lifecycle
