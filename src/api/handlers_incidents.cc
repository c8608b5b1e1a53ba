// The incident register (compliance/incidents.h): operator-security
// registers incidents, notifies the affected tenants and keeps the
// timeline (a note, or {"state":"closed"} to close); operator-security,
// operator-admin and auditors read it, with each tenant's notification
// state and whether it is overdue now.
#include "api/handler_support.h"
#include "vault/stored_object.h"

namespace piivault::api {
namespace {

using compliance::Incident;
using compliance::IncidentState;
using compliance::IncidentStateName;
using policy::Operation;

constexpr std::size_t kMaxPage = 100;
constexpr std::size_t kDefaultPage = 20;

json::value IncidentJson(const Incident& i, TimePoint now) {
  json::array notifications, updates;
  bool overdue = false;
  for (auto& n : i.notices) {
    json::object o{{"tenant", n.tenant},
                   {"state", n.notified_at ? "notified" : "pending"},
                   {"deadline", TimeJson(n.deadline)},
                   {"overdue", n.OverdueAt(now)}};
    if (n.notified_at) {
      o["notified_at"] = TimeJson(*n.notified_at);
      o["notification"] = n.notification;
    }
    overdue = overdue || n.OverdueAt(now);
    notifications.push_back(std::move(o));
  }
  for (auto& u : i.updates) {
    json::object o{{"at", TimeJson(u.at)}, {"by", u.by}};
    if (!u.note.empty()) o["note"] = u.note;
    if (u.state) o["state"] = IncidentStateName(*u.state);
    updates.push_back(std::move(o));
  }
  json::object o{
      {"id", i.id},
      {"title", i.title},
      {"description", i.description},
      {"detected_at", TimeJson(i.detected_at)},
      {"pii_breach", i.pii_breach},
      {"state", IncidentStateName(i.state)},
      {"affected",
       json::object{{"tenants", vault::ToArray(i.affected_tenants)},
                    {"regions", vault::ToArray(i.affected_regions)}}},
      {"deadline", TimeJson(i.Deadline())},
      {"overdue", overdue},
      {"notifications", std::move(notifications)},
      {"updates", std::move(updates)},
      {"created_by", i.created_by},
      {"created_at", TimeJson(i.created_at)}};
  if (i.closed_at) o["closed_at"] = TimeJson(*i.closed_at);
  return o;
}

Result<Reply> CreateIncident(Call& call) {
  PV_ASSIGN_OR_RETURN(
      auto body,
      ParseObject(call.request, {"title", "description", "detected_at",
                                 "pii_breach", "affected"}));
  compliance::IncidentService::NewIncident in;
  PV_ASSIGN_OR_RETURN(in.title, RequiredString(body, "title"));
  PV_ASSIGN_OR_RETURN(in.description, RequiredString(body, "description"));
  PV_ASSIGN_OR_RETURN(in.detected_at, RequiredTime(body, "detected_at"));
  PV_ASSIGN_OR_RETURN(auto breach, OptionalBool(body, "pii_breach"));
  if (!breach) return Err(ValidationFailed("pii_breach", "is required"));
  in.pii_breach = *breach;
  auto* affected = body.if_contains("affected");
  if (!affected || !affected->is_object())
    return Err(ValidationFailed("affected", "an object of tenants, regions"));
  PV_RETURN_IF_ERROR(
      RejectUnknownMembers(affected->get_object(), {"tenants", "regions"}));
  PV_ASSIGN_OR_RETURN(auto tenants,
                      OptionalStringList(affected->get_object(), "tenants"));
  PV_ASSIGN_OR_RETURN(auto regions,
                      OptionalStringList(affected->get_object(), "regions"));
  in.tenants = tenants.value_or(std::vector<std::string>{});
  in.regions = regions.value_or(std::vector<std::string>{});
  PV_ASSIGN_OR_RETURN(auto incident,
                      call.vault.incidents.Create(call.context, std::move(in),
                                                  call.identity.id));
  return Reply{201, IncidentJson(incident, call.vault.clock->Now())};
}

Result<Reply> ListIncidents(Call& call) {
  PV_ASSIGN_OR_RETURN(std::size_t limit,
                      PageLimit(call, kMaxPage, kDefaultPage));
  PV_ASSIGN_OR_RETURN(auto page, call.vault.incidents.List(
                                     QueryParam(call.request, "after"), limit));
  const TimePoint now = call.vault.clock->Now();
  json::array out;
  for (auto& i : page.incidents) out.push_back(IncidentJson(i, now));
  return Reply{200, json::object{{"incidents", std::move(out)},
                                 {"next", page.next ? json::value(*page.next)
                                                    : json::value()}}};
}

Result<Reply> GetIncident(Call& call) {
  PV_ASSIGN_OR_RETURN(auto incident,
                      call.vault.incidents.Get(PathParam(call, 0)));
  return Reply{200, IncidentJson(incident, call.vault.clock->Now())};
}

Result<Reply> NotifyIncident(Call& call) {
  PV_ASSIGN_OR_RETURN(auto incident,
                      call.vault.incidents.Notify(
                          call.context, PathParam(call, 0), call.identity.id));
  return Reply{200, IncidentJson(incident, call.vault.clock->Now())};
}

// {"note"?, "state"?: "closed"}: a timeline entry, closing the incident
// when it says so (no other state may be set).
Result<Reply> UpdateIncident(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"note", "state"}));
  PV_ASSIGN_OR_RETURN(auto note, OptionalString(body, "note"));
  PV_ASSIGN_OR_RETURN(auto state, OptionalString(body, "state"));
  if (state && compliance::ParseIncidentState(*state) != IncidentState::kClosed)
    return Err(ValidationFailed("state", "only \"closed\" may be set"));
  PV_ASSIGN_OR_RETURN(auto incident,
                      call.vault.incidents.Update(
                          call.context, PathParam(call, 0), note.value_or(""),
                          state.has_value(), call.identity.id));
  return Reply{200, IncidentJson(incident, call.vault.clock->Now())};
}

}  // namespace

void AddIncidentRoutes(const RouteAdder& add) {
  add("POST", "/v1/incidents", "incidents.create", Operation::kCreateIncident,
      CreateIncident);
  add("GET", "/v1/incidents", "incidents.list", Operation::kReadIncidents,
      ListIncidents);
  add("GET", "/v1/incidents/{id}", "incidents.get", Operation::kReadIncidents,
      GetIncident);
  add("POST", "/v1/incidents/{id}/notify", "incidents.notify",
      Operation::kNotifyIncident, NotifyIncident);
  add("POST", "/v1/incidents/{id}/updates", "incidents.update",
      Operation::kUpdateIncident, UpdateIncident);
}

}  // namespace piivault::api
