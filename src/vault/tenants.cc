#include "vault/tenants.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "base/retry.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

constexpr std::size_t kMaxName = 256, kMaxDescription = 1024;

}  // namespace

Status TenantService::ValidateRegions(const std::vector<std::string>& regions,
                                      const std::string& default_region) const {
  if (regions.empty())
    return ValidationFailed("regions", "at least one region is required");
  std::set<std::string> seen;
  for (auto& r : regions) {
    if (!router_->region_config(r))
      return ValidationFailed("regions", "unknown region");
    if (!seen.insert(r).second)
      return ValidationFailed("regions", "a region is listed twice");
  }
  if (!seen.contains(default_region))
    return ValidationFailed("default_region",
                            "the default region must be one of the regions");
  return Status::Ok();
}

Result<Tenant> TenantService::Create(const RequestContext& context,
                                     std::string id, std::string name,
                                     std::vector<std::string> regions,
                                     std::string default_region) {
  PV_RETURN_IF_ERROR(ValidateName("tenant id", id));
  if (name.empty()) name = id;
  PV_RETURN_IF_ERROR(ValidateFreeText("name", name, 1, kMaxName));
  if (regions.empty())
    for (auto& r : router_->regions()) regions.push_back(r.id);
  if (default_region.empty()) default_region = regions.front();
  PV_RETURN_IF_ERROR(ValidateRegions(regions, default_region));

  Tenant tenant{.id = std::move(id),
                .name = std::move(name),
                .regions = std::move(regions),
                .default_region = std::move(default_region),
                .state = TenantState::kActive,
                .created_at = clock_->Now(),
                .disposal_due_at = std::nullopt,
                .closing_regions = {}};
  storage::WriteBatch batch = context.Batch();
  std::string key = keys::Tenant(tenant.id);
  batch.RequireAbsent(key);
  control_->Put(batch, key, ToJson(tenant));
  control_->keyring().AddNewTenantKey(tenant.id, batch);
  for (auto& p : DefaultPurposes())
    control_->Put(batch, keys::Purpose(tenant.id, p.id), ToJson(p));
  Status written = control_->Write(context, batch);
  if (written.code() == StatusCode::kAborted)
    return Err(AlreadyExists("a tenant with this id exists"));
  PV_RETURN_IF_ERROR(written);
  return tenant;
}

Result<std::vector<Tenant>> ListTenants(ControlStore& control) {
  PV_ASSIGN_OR_RETURN(auto docs, control.Scan(keys::TenantPrefix(), SIZE_MAX));
  std::vector<Tenant> tenants;
  for (auto& [key, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto tenant, TenantFromJson(doc));
    tenants.push_back(std::move(tenant));
  }
  return tenants;
}

Result<Tenant> TenantService::Get(const RequestContext& context,
                                  std::string_view id) {
  if (!ValidateName("tenant id", id).ok())
    return Err(NotFound("no such tenant"));
  PV_ASSIGN_OR_RETURN(auto doc, control_->Get(context, keys::Tenant(id)));
  if (!doc) return Err(NotFound("no such tenant"));
  return TenantFromJson(*doc);
}

Result<TenantService::Stored> TenantService::Load(std::string_view id) {
  std::string key = keys::Tenant(id);
  PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
  if (!raw) return Err(NotFound("no such tenant"));
  PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(key, *raw));
  PV_ASSIGN_OR_RETURN(Tenant tenant, TenantFromJson(doc));
  return Stored{std::move(tenant), std::move(*raw)};
}

Status TenantService::Store(
    const RequestContext& context, const Stored& before, const Tenant& after,
    const std::function<Status(storage::WriteBatch&)>& also) {
  std::string key = keys::Tenant(after.id);
  storage::WriteBatch batch = context.Batch();
  batch.RequireValue(key, before.raw);
  control_->Put(batch, key, ToJson(after));
  if (also) PV_RETURN_IF_ERROR(also(batch));
  return control_->Write(context, batch);
}

Result<int64_t> TenantService::PrincipalsIn(std::string_view tenant,
                                            std::string_view region) {
  return control_->backend().SumCounters(
      keys::PrincipalCountPrefix(tenant, region));
}

Result<Tenant> TenantService::Update(const RequestContext& context,
                                     std::string_view id,
                                     const TenantPatch& patch) {
  auto attempt = [&]() -> std::optional<Result<Tenant>> {
    PV_ASSIGN_OR_RETURN(Stored stored, Load(id));
    Tenant tenant = stored.tenant;
    if (patch.name) {
      PV_RETURN_IF_ERROR(ValidateFreeText("name", *patch.name, 1, kMaxName));
      tenant.name = *patch.name;
    }
    if (patch.regions) tenant.regions = *patch.regions;
    if (patch.default_region) tenant.default_region = *patch.default_region;
    if (!patch.default_region && !tenant.AllowsRegion(tenant.default_region) &&
        !tenant.regions.empty())
      tenant.default_region = tenant.regions.front();
    PV_RETURN_IF_ERROR(ValidateRegions(tenant.regions, tenant.default_region));

    std::vector<std::string> removed;
    for (auto& r : stored.tenant.regions)
      if (!tenant.AllowsRegion(r)) removed.push_back(r);
    if (removed.empty()) {
      Status written = Store(context, stored, tenant);
      if (LostRace(written)) return std::nullopt;
      PV_RETURN_IF_ERROR(written);
      return tenant;
    }

    // A region may leave the list only when none of the tenant's principals
    // lives there, or their data would be stranded. First close it to new
    // principals (placements and relocations are guarded by the stored
    // tenant, so none that read the old document can commit), then count.
    Tenant closing = stored.tenant;
    for (auto& r : removed) closing.closing_regions.push_back(r);
    Status closed = Store(context, stored, closing);
    if (LostRace(closed)) return std::nullopt;
    PV_RETURN_IF_ERROR(closed);
    PV_ASSIGN_OR_RETURN(Stored now_closing, Load(id));
    Status occupied = Status::Ok();
    for (auto& r : removed) {
      auto principals = PrincipalsIn(id, r);
      if (!principals) {
        occupied = principals.error();
      } else if (*principals > 0) {
        occupied =
            FailedPrecondition("principals still live in region " + r +
                               " which is being removed; relocate them first");
      }
      if (!occupied.ok()) break;
    }
    Tenant final_doc = occupied.ok() ? tenant : now_closing.tenant;
    std::erase_if(final_doc.closing_regions, [&](const std::string& r) {
      return std::find(removed.begin(), removed.end(), r) != removed.end();
    });
    Status finished = Store(context, now_closing, final_doc);
    if (LostRace(finished)) return std::nullopt;
    PV_RETURN_IF_ERROR(finished);
    if (!occupied.ok()) return Err(occupied);
    return final_doc;
  };
  return RetryOnConflict("the tenant", attempt, 5);
}

Result<Tenant> TenantService::Terminate(
    const RequestContext& context, std::string_view id,
    TimePoint disposal_due_at,
    const std::function<Status(storage::WriteBatch&)>& also) {
  auto attempt = [&]() -> std::optional<Result<Tenant>> {
    PV_ASSIGN_OR_RETURN(Stored stored, Load(id));
    if (stored.tenant.state != TenantState::kActive)
      return Err(Aborted("the tenant is not active: it was terminated"));
    Tenant tenant = stored.tenant;
    tenant.state = TenantState::kTerminating;
    tenant.disposal_due_at = disposal_due_at;
    Status written = Store(context, stored, tenant, also);
    if (LostRace(written)) return std::nullopt;  // re-read: terminated?
    PV_RETURN_IF_ERROR(written);
    return tenant;
  };
  return RetryOnConflict("the tenant", attempt, 5);
}

Result<Tenant> TenantService::MarkDisposed(
    const RequestContext& context, std::string_view id,
    const std::function<Status(storage::WriteBatch&)>& also) {
  auto attempt = [&]() -> std::optional<Result<Tenant>> {
    PV_ASSIGN_OR_RETURN(Stored stored, Load(id));
    switch (stored.tenant.state) {
      case TenantState::kActive:
        return Err(FailedPrecondition(
            "the tenant is active: it must be terminated first"));
      case TenantState::kDisposed:
        return Err(Aborted("the tenant was disposed of already"));
      case TenantState::kTerminating:
        break;
    }
    Tenant tenant = stored.tenant;
    tenant.state = TenantState::kDisposed;
    Status written = Store(context, stored, tenant, also);
    if (LostRace(written)) return std::nullopt;
    PV_RETURN_IF_ERROR(written);
    return tenant;
  };
  return RetryOnConflict("the tenant", attempt, 5);
}

Result<std::vector<RegionLocation>> TenantService::Locations(
    const Tenant& tenant) {
  std::vector<RegionLocation> out;
  for (auto& id : tenant.regions) {
    const RegionConfig* config = router_->region_config(id);
    if (!config) continue;
    RegionLocation location{.region = *config, .principals = 0, .records = {}};
    PV_ASSIGN_OR_RETURN(location.principals, PrincipalsIn(tenant.id, id));
    storage::Backend* backend = router_->region(id);
    auto records = backend->SumCounters(keys::RecordCountPrefix(tenant.id));
    if (records) {
      location.records = *records;
    } else if (records.error().code() != StatusCode::kUnavailable) {
      return Err(records.error());
    }
    out.push_back(std::move(location));
  }
  return out;
}

Result<std::vector<Purpose>> TenantService::ListPurposes(
    std::string_view tenant) {
  PV_ASSIGN_OR_RETURN(auto docs,
                      control_->Scan(keys::PurposePrefix(tenant), SIZE_MAX));
  std::vector<Purpose> out;
  for (auto& [k, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto p, PurposeFromJson(doc));
    out.push_back(std::move(p));
  }
  return out;
}

Result<Purpose> TenantService::GetPurpose(const RequestContext& context,
                                          std::string_view tenant,
                                          std::string_view purpose) {
  if (!ValidateName("purpose", purpose).ok())
    return Err(NotFound("no such purpose"));
  PV_ASSIGN_OR_RETURN(auto doc,
                      control_->Get(context, keys::Purpose(tenant, purpose)));
  if (!doc) return Err(NotFound("no such purpose"));
  return PurposeFromJson(*doc);
}

Result<Purpose> TenantService::PutPurpose(const RequestContext& context,
                                          std::string_view tenant,
                                          Purpose purpose) {
  PV_RETURN_IF_ERROR(ValidateName("purpose id", purpose.id));
  PV_RETURN_IF_ERROR(
      ValidateFreeText("description", purpose.description, 0, kMaxDescription));
  std::string key = keys::Purpose(tenant, purpose.id);
  PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
  storage::WriteBatch batch = context.Batch();
  if (raw) {
    PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(key, *raw));
    PV_ASSIGN_OR_RETURN(auto existing, PurposeFromJson(doc));
    // Re-categorizing a purpose would silently change what consent it needs.
    if (existing.category != purpose.category)
      return Err(FailedPrecondition("a purpose's category cannot change"));
    batch.RequireValue(key, *raw);
  } else {
    batch.RequireAbsent(key);
  }
  control_->Put(batch, key, ToJson(purpose));
  Status written = control_->Write(context, batch);
  if (written.code() == StatusCode::kAborted)
    return Err(Aborted("the purpose changed concurrently; retry"));
  PV_RETURN_IF_ERROR(written);
  return purpose;
}

}  // namespace piivault::vault
