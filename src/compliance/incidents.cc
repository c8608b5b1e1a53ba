#include "compliance/incidents.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "base/enum_names.h"
#include "base/retry.h"
#include "compliance/sub_processors.h"
#include "crypto/random.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::compliance {

using vault::Corrupt;
using vault::OpenStored;
using vault::RequestContext;
using vault::ToArray;
using vault::ValidateFreeText;
namespace keys = vault::keys;
namespace json = boost::json;

namespace {

constexpr EnumNames<IncidentState, 2> kStates{{{
    {IncidentState::kOpen, "open"},
    {IncidentState::kClosed, "closed"},
}}};

constexpr std::string_view kIdPrefix = "inc_";
constexpr std::size_t kMaxTitle = 200, kMaxText = 4096, kMaxAffected = 1000;

json::value ToJson(const Incident& i) {
  json::array notices, updates;
  for (auto& n : i.notices) {
    json::object o{{"tenant", n.tenant},
                   {"deadline_us", ToUnixMicros(n.deadline)},
                   {"notification", n.notification}};
    if (n.notified_at) o["notified_us"] = ToUnixMicros(*n.notified_at);
    notices.push_back(std::move(o));
  }
  for (auto& u : i.updates) {
    json::object o{
        {"at_us", ToUnixMicros(u.at)}, {"by", u.by}, {"note", u.note}};
    if (u.state) o["state"] = IncidentStateName(*u.state);
    updates.push_back(std::move(o));
  }
  json::object o{{"id", i.id},
                 {"title", i.title},
                 {"description", i.description},
                 {"detected_us", ToUnixMicros(i.detected_at)},
                 {"pii_breach", i.pii_breach},
                 {"affected_tenants", ToArray(i.affected_tenants)},
                 {"affected_regions", ToArray(i.affected_regions)},
                 {"notices", std::move(notices)},
                 {"state", IncidentStateName(i.state)},
                 {"updates", std::move(updates)},
                 {"created_by", i.created_by},
                 {"created_us", ToUnixMicros(i.created_at)}};
  if (i.closed_at) o["closed_us"] = ToUnixMicros(*i.closed_at);
  return o;
}

Result<Incident> FromJson(const json::value& v) {
  constexpr std::string_view kWhat = "incident";
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, kWhat));
  Incident i;
  i.id = s.Str("id");
  i.title = s.Str("title");
  i.description = s.Str("description");
  i.detected_at = FromUnixMicros(s.Int("detected_us"));
  i.pii_breach = s.Bool("pii_breach");
  i.affected_tenants = s.StrList("affected_tenants");
  i.affected_regions = s.StrList("affected_regions");
  auto state = ParseIncidentState(s.Str("state"));
  i.created_by = s.Str("created_by");
  i.created_at = FromUnixMicros(s.Int("created_us"));
  if (auto closed = s.OptInt("closed_us"))
    i.closed_at = FromUnixMicros(*closed);
  const json::value* notices = s.obj->if_contains("notices");
  const json::value* updates = s.obj->if_contains("updates");
  if (!s.ok || !state || !notices || !notices->is_array() || !updates ||
      !updates->is_array())
    return Err(Corrupt(kWhat));
  i.state = *state;
  for (auto& nv : notices->get_array()) {
    PV_ASSIGN_OR_RETURN(auto n, OpenStored(nv, kWhat));
    TenantNotice notice{n.Str("tenant"), FromUnixMicros(n.Int("deadline_us")),
                        std::nullopt, n.Str("notification")};
    if (auto at = n.OptInt("notified_us"))
      notice.notified_at = FromUnixMicros(*at);
    if (!n.ok) return Err(Corrupt(kWhat));
    i.notices.push_back(std::move(notice));
  }
  for (auto& uv : updates->get_array()) {
    PV_ASSIGN_OR_RETURN(auto u, OpenStored(uv, kWhat));
    IncidentUpdate update{FromUnixMicros(u.Int("at_us")), u.Str("by"),
                          u.Str("note"), std::nullopt};
    if (std::string name = u.OptStr("state"); !name.empty()) {
      update.state = ParseIncidentState(name);
      if (!update.state) return Err(Corrupt(kWhat));
    }
    if (!u.ok) return Err(Corrupt(kWhat));
    i.updates.push_back(std::move(update));
  }
  return i;
}

// What an affected tenant is told: the operator's account and the facts.
json::object NoticePayload(const Incident& i) {
  return json::object{{"incident", i.id},
                      {"title", i.title},
                      {"description", i.description},
                      {"detected_at", FormatRfc3339(i.detected_at)},
                      {"pii_breach", i.pii_breach}};
}

}  // namespace

std::string_view IncidentStateName(IncidentState state) {
  return kStates.Name(state);
}

std::optional<IncidentState> ParseIncidentState(std::string_view name) {
  return kStates.Parse(name);
}

TimePoint Incident::Deadline() const {
  return notices.empty() ? detected_at : notices.front().deadline;
}

Result<Incident> IncidentService::Create(const RequestContext& context,
                                         NewIncident in, std::string_view by) {
  PV_RETURN_IF_ERROR(ValidateFreeText("title", in.title, 1, kMaxTitle));
  PV_RETURN_IF_ERROR(
      ValidateFreeText("description", in.description, 1, kMaxText));
  const TimePoint now = clock_->Now();
  if (in.detected_at > now)
    return Err(ValidationFailed("detected_at", "must not be in the future"));
  if ((in.tenants.empty() && in.regions.empty()) ||
      in.tenants.size() > kMaxAffected || in.regions.size() > kMaxAffected)
    return Err(ValidationFailed(
        "affected", "must name 1 to 1000 tenants or regions or both"));
  for (auto& r : in.regions)
    if (!router_->region(r))
      return Err(ValidationFailed("affected", "names an unknown region"));
  std::set<std::string> tenants;
  for (auto& t : in.tenants) {
    if (!vault::ValidateName("tenant", t).ok())
      return Err(ValidationFailed("affected", "names an unknown tenant"));
    PV_ASSIGN_OR_RETURN(auto doc,
                        control_->Get(RequestContext(), keys::Tenant(t)));
    if (!doc)
      return Err(ValidationFailed("affected", "names an unknown tenant"));
    tenants.insert(t);
  }
  if (!in.regions.empty()) {
    PV_ASSIGN_OR_RETURN(auto in_regions,
                        TenantsWithDataIn(*control_, in.regions));
    for (auto& t : in_regions) tenants.insert(t.id);
  }
  Incident i;
  i.id = crypto::RandomId(kIdPrefix);
  i.title = std::move(in.title);
  i.description = std::move(in.description);
  i.detected_at = in.detected_at;
  i.pii_breach = in.pii_breach;
  i.affected_tenants = std::move(in.tenants);
  i.affected_regions = std::move(in.regions);
  for (auto& t : tenants)
    i.notices.push_back({t, in.detected_at + notice_deadline_, {}, ""});
  i.created_by = std::string(by);
  i.created_at = now;
  const std::string key = keys::Incident(i.id);
  storage::WriteBatch batch = context.Batch();
  batch.RequireValue(key, std::nullopt);
  control_->Put(batch, key, ToJson(i));
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  return i;
}

Result<Incident> IncidentService::Change(
    const RequestContext& context, std::string_view id,
    const std::function<Result<bool>(Incident&, storage::WriteBatch&)>&
        change) {
  if (!crypto::IsRandomId(kIdPrefix, id))
    return Err(NotFound("no such incident"));
  const std::string key = keys::Incident(id);
  return RetryOnConflict("the incident", [&]() -> Result<Incident> {
    PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
    if (!raw) return Err(NotFound("no such incident"));
    PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(key, *raw));
    PV_ASSIGN_OR_RETURN(auto incident, FromJson(doc));
    storage::WriteBatch batch = context.Batch();
    PV_ASSIGN_OR_RETURN(bool changed, change(incident, batch));
    if (!changed) return incident;
    batch.RequireValue(key, raw);
    control_->Put(batch, key, ToJson(incident));
    PV_RETURN_IF_ERROR(control_->Write(context, batch));
    return incident;
  });
}

Result<Incident> IncidentService::Notify(const RequestContext& context,
                                         std::string_view id,
                                         std::string_view by) {
  return Change(
      context, id,
      [&](Incident& i, storage::WriteBatch& batch) -> Result<bool> {
        const TimePoint now = clock_->Now();
        int sent = 0;
        for (auto& n : i.notices) {
          if (n.notified_at) continue;  // each tenant once
          n.notification =
              outbox_
                  ->Add(batch, n.tenant, NotificationType::kIncident,
                        NoticePayload(i))
                  .id;
          n.notified_at = now;
          ++sent;
        }
        if (sent == 0) return false;
        i.updates.push_back({now, std::string(by),
                             "notified " + std::to_string(sent) + " tenant(s)",
                             std::nullopt});
        return true;
      });
}

Result<Incident> IncidentService::Update(const RequestContext& context,
                                         std::string_view id, std::string note,
                                         bool close, std::string_view by) {
  PV_RETURN_IF_ERROR(ValidateFreeText("note", note, 0, kMaxText));
  if (note.empty() && !close)
    return Err(ValidationFailed("note", "a note or a state is required"));
  return Change(
      context, id, [&](Incident& i, storage::WriteBatch&) -> Result<bool> {
        const TimePoint now = clock_->Now();
        IncidentUpdate update{now, std::string(by), note, std::nullopt};
        if (close) {
          if (i.state == IncidentState::kClosed)
            return Err(FailedPrecondition("the incident is closed already"));
          i.state = IncidentState::kClosed;
          i.closed_at = now;
          update.state = IncidentState::kClosed;
        }
        i.updates.push_back(std::move(update));
        return true;
      });
}

Result<Incident> IncidentService::Get(std::string_view id) {
  if (!crypto::IsRandomId(kIdPrefix, id))
    return Err(NotFound("no such incident"));
  PV_ASSIGN_OR_RETURN(auto doc,
                      control_->Get(RequestContext(), keys::Incident(id)));
  if (!doc) return Err(NotFound("no such incident"));
  return FromJson(*doc);
}

Result<IncidentService::Page> IncidentService::List(std::string_view after,
                                                    std::size_t limit) {
  if (!after.empty() && !crypto::IsRandomId(kIdPrefix, after))
    return Err(InvalidArgument("`after` is not an incident id"));
  PV_ASSIGN_OR_RETURN(
      auto stored,
      control_->ScanPage(keys::IncidentPrefix(),
                         after.empty() ? "" : keys::Incident(after), limit));
  Page page;
  for (auto& [key, doc] : stored.docs) {
    PV_ASSIGN_OR_RETURN(auto i, FromJson(doc));
    page.incidents.push_back(std::move(i));
  }
  if (stored.more && !page.incidents.empty())
    page.next = page.incidents.back().id;
  return page;
}

}  // namespace piivault::compliance
