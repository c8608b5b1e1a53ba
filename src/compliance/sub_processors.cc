#include "compliance/sub_processors.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "base/encoding.h"
#include "base/enum_names.h"
#include "base/retry.h"
#include "crypto/random.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"
#include "vault/tenants.h"

namespace piivault::compliance {

using vault::Corrupt;
using vault::OpenStored;
using vault::RequestContext;
using vault::ToArray;
using vault::ValidateFreeText;
namespace keys = vault::keys;
namespace json = boost::json;

namespace {

constexpr EnumNames<SubProcessorChange, 3> kChanges{{{
    {SubProcessorChange::kAdded, "added"},
    {SubProcessorChange::kChanged, "changed"},
    {SubProcessorChange::kRemoved, "removed"},
}}};

constexpr std::size_t kMaxText = 200, kMaxReason = 1024, kMaxCountries = 250,
                      kMaxRegions = 64;

json::value ToJson(const SubProcessor& s) {
  json::object o{{"id", s.id},
                 {"name", s.name},
                 {"service", s.service},
                 {"purpose", s.purpose},
                 {"countries", ToArray(s.countries)},
                 {"regions", ToArray(s.regions)},
                 {"contract_reference", s.contract_reference},
                 {"effective_us", ToUnixMicros(s.effective_at)},
                 {"created_us", ToUnixMicros(s.created_at)},
                 {"updated_us", ToUnixMicros(s.updated_at)}};
  if (s.removed_at) o["removed_us"] = ToUnixMicros(*s.removed_at);
  return o;
}

Result<SubProcessor> FromJson(const json::value& v) {
  constexpr std::string_view kWhat = "sub-processor";
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, kWhat));
  SubProcessor e;
  e.id = s.Str("id");
  e.name = s.Str("name");
  e.service = s.Str("service");
  e.purpose = s.Str("purpose");
  e.countries = s.StrList("countries");
  e.regions = s.StrList("regions");
  e.contract_reference = s.Str("contract_reference");
  e.effective_at = FromUnixMicros(s.Int("effective_us"));
  e.created_at = FromUnixMicros(s.Int("created_us"));
  e.updated_at = FromUnixMicros(s.Int("updated_us"));
  if (auto removed = s.OptInt("removed_us"))
    e.removed_at = FromUnixMicros(*removed);
  if (!s.ok) return Err(Corrupt(kWhat));
  return e;
}

json::value ToJson(const Objection& o) {
  return json::object{
      {"id", o.id},         {"sub_processor", o.sub_processor},
      {"tenant", o.tenant}, {"reason", o.reason},
      {"by", o.by},         {"created_us", ToUnixMicros(o.created_at)}};
}

Result<Objection> ObjectionFromJson(const json::value& v) {
  constexpr std::string_view kWhat = "objection";
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, kWhat));
  Objection o;
  o.id = s.Str("id");
  o.sub_processor = s.Str("sub_processor");
  o.tenant = s.Str("tenant");
  o.reason = s.Str("reason");
  o.by = s.Str("by");
  o.created_at = FromUnixMicros(s.Int("created_us"));
  if (!s.ok) return Err(Corrupt(kWhat));
  return o;
}

bool IsCountryCode(std::string_view c) {
  return c.size() == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' &&
         c[1] <= 'Z';
}

bool Distinct(const std::vector<std::string>& v) {
  return std::set<std::string>(v.begin(), v.end()).size() == v.size();
}

// Whether the region lists `a` and `b` share a region.
bool Overlap(const std::vector<std::string>& a,
             const std::vector<std::string>& b) {
  return std::ranges::any_of(a, [&](const std::string& r) {
    return std::ranges::find(b, r) != b.end();
  });
}

// What a tenant is told: ids and facts of the processor's contract.
json::object NoticePayload(const SubProcessor& s, SubProcessorChange change) {
  return json::object{
      {"sub_processor", s.id},
      {"name", s.name},
      {"service", s.service},
      {"purpose", s.purpose},
      {"countries", ToArray(s.countries)},
      {"regions", ToArray(s.regions)},
      {"effective_at", FormatRfc3339(s.removed_at.value_or(s.effective_at))},
      {"change", SubProcessorChangeName(change)}};
}

}  // namespace

std::string_view SubProcessorChangeName(SubProcessorChange change) {
  return kChanges.Name(change);
}

Result<std::vector<vault::Tenant>> TenantsWithDataIn(
    vault::ControlStore& control, const std::vector<std::string>& regions) {
  PV_ASSIGN_OR_RETURN(auto tenants, vault::ListTenants(control));
  std::vector<vault::Tenant> out;
  for (auto& tenant : tenants) {
    if (tenant.state == vault::TenantState::kDisposed) continue;
    if (Overlap(tenant.regions, regions)) out.push_back(std::move(tenant));
  }
  return out;
}

Status SubProcessorService::Validate(const SubProcessor& e) const {
  if (!vault::ValidateName("id", e.id).ok())
    return ValidationFailed("id", "must be 1-64 of a-z, 0-9, '_' or '-'");
  PV_RETURN_IF_ERROR(ValidateFreeText("name", e.name, 1, kMaxText));
  PV_RETURN_IF_ERROR(ValidateFreeText("service", e.service, 1, kMaxText));
  PV_RETURN_IF_ERROR(ValidateFreeText("purpose", e.purpose, 1, kMaxText));
  PV_RETURN_IF_ERROR(ValidateFreeText("contract_reference",
                                      e.contract_reference, 0, kMaxText));
  if (e.countries.empty() || e.countries.size() > kMaxCountries ||
      !std::ranges::all_of(e.countries, IsCountryCode) ||
      !Distinct(e.countries))
    return ValidationFailed("countries",
                            "must be distinct ISO 3166 alpha-2 codes");
  if (e.regions.empty() || e.regions.size() > kMaxRegions ||
      !Distinct(e.regions) ||
      !std::ranges::all_of(e.regions, [&](const std::string& r) {
        return router_->region(r) != nullptr;
      }))
    return ValidationFailed("regions", "must be distinct configured regions");
  // Disclosed before use: the tenants have the notice period to object.
  if (e.effective_at < clock_->Now() + notice_period_)
    return ValidationFailed("effective_at",
                            "must be at least the notice period after now");
  return Status::Ok();
}

Result<SubProcessorService::Stored> SubProcessorService::Load(
    std::string_view id) {
  Stored stored;
  if (!vault::ValidateName("id", id).ok()) return stored;
  const std::string key = keys::SubProcessor(id);
  PV_ASSIGN_OR_RETURN(stored.raw, control_->GetRaw(key));
  if (!stored.raw) return stored;
  PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(key, *stored.raw));
  PV_ASSIGN_OR_RETURN(stored.entry, FromJson(doc));
  return stored;
}

Result<SubProcessorService::PutResult> SubProcessorService::Apply(
    const RequestContext& context, std::string_view id,
    const std::function<Result<PutResult>(const std::optional<SubProcessor>&)>&
        decide) {
  return RetryOnConflict("the sub-processor", [&]() -> Result<PutResult> {
    PV_ASSIGN_OR_RETURN(auto before, Load(id));
    PV_ASSIGN_OR_RETURN(PutResult result, decide(before.entry));
    // The tenants of the regions an entry in force leaves learn it too.
    std::vector<std::string> regions = result.entry.regions;
    if (before.entry && !before.entry->removed_at)
      regions.insert(regions.end(), before.entry->regions.begin(),
                     before.entry->regions.end());
    PV_ASSIGN_OR_RETURN(auto tenants, TenantsWithDataIn(*control_, regions));
    const std::string key = keys::SubProcessor(id);
    storage::WriteBatch batch = context.Batch();
    batch.RequireValue(key, before.raw);
    control_->Put(batch, key, ToJson(result.entry));
    for (auto& t : tenants) {
      outbox_->Add(batch, t.id, NotificationType::kSubProcessorChange,
                   NoticePayload(result.entry, result.change));
      result.notified.push_back(t.id);
    }
    PV_RETURN_IF_ERROR(control_->Write(context, batch));
    return result;
  });
}

Result<SubProcessorService::PutResult> SubProcessorService::Put(
    const RequestContext& context, SubProcessor entry) {
  PV_RETURN_IF_ERROR(Validate(entry));
  return Apply(
      context, entry.id,
      [&](const std::optional<SubProcessor>& before) -> Result<PutResult> {
        PutResult result{entry, SubProcessorChange::kAdded, {}};
        result.entry.created_at = result.entry.updated_at = clock_->Now();
        result.entry.removed_at.reset();
        if (before && !before->removed_at) {
          result.change = SubProcessorChange::kChanged;
          result.entry.created_at = before->created_at;
        }
        return result;
      });
}

Result<SubProcessorService::PutResult> SubProcessorService::Remove(
    const RequestContext& context, std::string_view id) {
  return Apply(
      context, id,
      [&](const std::optional<SubProcessor>& before) -> Result<PutResult> {
        if (!before) return Err(NotFound("no such sub-processor"));
        if (before->removed_at)
          return Err(
              FailedPrecondition("the sub-processor is removed already"));
        PutResult result{*before, SubProcessorChange::kRemoved, {}};
        result.entry.removed_at = result.entry.updated_at = clock_->Now();
        return result;
      });
}

Result<SubProcessor> SubProcessorService::Get(std::string_view id) {
  PV_ASSIGN_OR_RETURN(auto stored, Load(id));
  if (!stored.entry) return Err(NotFound("no such sub-processor"));
  return *std::move(stored.entry);
}

Result<std::vector<SubProcessor>> SubProcessorService::List() {
  PV_ASSIGN_OR_RETURN(auto docs,
                      control_->Scan(keys::SubProcessorPrefix(), SIZE_MAX));
  std::vector<SubProcessor> out;
  for (auto& [key, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto e, FromJson(doc));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<SubProcessor>> SubProcessorService::Touching(
    const std::vector<std::string>& regions) {
  PV_ASSIGN_OR_RETURN(auto all, List());
  std::erase_if(all, [&](const SubProcessor& s) {
    return s.removed_at.has_value() || !Overlap(s.regions, regions);
  });
  return all;
}

Result<Objection> SubProcessorService::Object(const RequestContext& context,
                                              std::string_view tenant,
                                              std::string_view id,
                                              std::string reason,
                                              std::string_view by) {
  PV_RETURN_IF_ERROR(ValidateFreeText("reason", reason, 1, kMaxReason));
  PV_ASSIGN_OR_RETURN(auto stored, Load(id));
  if (!stored.entry || stored.entry->removed_at)
    return Err(NotFound("no such sub-processor"));
  const SubProcessor& entry = *stored.entry;
  Objection o{crypto::RandomId("obj_"), entry.id,        std::string(tenant),
              std::move(reason),        std::string(by), clock_->Now()};
  const std::string key = keys::Objection(
      entry.id, static_cast<uint64_t>(ToUnixMicros(o.created_at)), o.id);
  storage::WriteBatch batch = context.Batch();
  // Only while the entry is as read: never an objection to a removed one.
  batch.RequireValue(keys::SubProcessor(id), stored.raw);
  control_->Put(batch, key, ToJson(o));
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  return o;
}

Result<std::vector<Objection>> SubProcessorService::Objections(
    std::string_view id) {
  PV_ASSIGN_OR_RETURN(auto entry, Get(id));
  PV_ASSIGN_OR_RETURN(
      auto docs, control_->Scan(keys::ObjectionPrefix(entry.id), SIZE_MAX));
  std::vector<Objection> out;
  for (auto& [key, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto o, ObjectionFromJson(doc));
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace piivault::compliance
