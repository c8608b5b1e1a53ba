// The sub-processor register (compliance/sub_processors.h): operator-admin
// adds, changes (POST with an id already listed) and removes entries; the
// operator's staff, auditors and tenant-admins read it (a disclosure to the
// customers); tenant-admins object, operator-admin and auditors list the
// objections.
#include "api/handler_support.h"
#include "vault/stored_object.h"

namespace piivault::api {
namespace {

using compliance::Objection;
using compliance::SubProcessor;
using policy::Operation;

json::value SubProcessorJson(const SubProcessor& s) {
  json::object o{{"id", s.id},
                 {"name", s.name},
                 {"service", s.service},
                 {"purpose", s.purpose},
                 {"countries", vault::ToArray(s.countries)},
                 {"regions", vault::ToArray(s.regions)},
                 {"contract_reference", s.contract_reference},
                 {"effective_at", TimeJson(s.effective_at)},
                 {"created_at", TimeJson(s.created_at)},
                 {"updated_at", TimeJson(s.updated_at)}};
  if (s.removed_at) o["removed_at"] = TimeJson(*s.removed_at);
  return o;
}

json::value ObjectionJson(const Objection& o) {
  return json::object{
      {"id", o.id},         {"sub_processor", o.sub_processor},
      {"tenant", o.tenant}, {"reason", o.reason},
      {"by", o.by},         {"created_at", TimeJson(o.created_at)}};
}

// A list member that must be present: validation_failed naming it when not.
Result<std::vector<std::string>> RequiredList(const json::object& body,
                                              std::string_view key) {
  PV_ASSIGN_OR_RETURN(auto list, OptionalStringList(body, key));
  if (!list) return Err(ValidationFailed(std::string(key), "is required"));
  return *std::move(list);
}

// 201 for a new entry, 200 for a change; the tenants told of it.
Result<Reply> PutSubProcessor(Call& call) {
  PV_ASSIGN_OR_RETURN(
      auto body,
      ParseObject(call.request,
                  {"id", "name", "service", "purpose", "countries", "regions",
                   "contract_reference", "effective_at"}));
  SubProcessor entry;
  PV_ASSIGN_OR_RETURN(entry.id, RequiredString(body, "id"));
  PV_ASSIGN_OR_RETURN(entry.name, RequiredString(body, "name"));
  PV_ASSIGN_OR_RETURN(entry.service, RequiredString(body, "service"));
  PV_ASSIGN_OR_RETURN(entry.purpose, RequiredString(body, "purpose"));
  PV_ASSIGN_OR_RETURN(entry.countries, RequiredList(body, "countries"));
  PV_ASSIGN_OR_RETURN(entry.regions, RequiredList(body, "regions"));
  PV_ASSIGN_OR_RETURN(auto reference,
                      OptionalString(body, "contract_reference"));
  entry.contract_reference = reference.value_or("");
  PV_ASSIGN_OR_RETURN(entry.effective_at, RequiredTime(body, "effective_at"));
  PV_ASSIGN_OR_RETURN(
      auto put, call.vault.sub_processors.Put(call.context, std::move(entry)));
  json::object out = SubProcessorJson(put.entry).as_object();
  out["change"] = compliance::SubProcessorChangeName(put.change);
  out["notified_tenants"] = vault::ToArray(put.notified);
  return Reply{put.change == compliance::SubProcessorChange::kAdded ? 201 : 200,
               std::move(out)};
}

Result<Reply> ListSubProcessors(Call& call) {
  PV_ASSIGN_OR_RETURN(auto entries, call.vault.sub_processors.List());
  json::array out;
  for (auto& e : entries) out.push_back(SubProcessorJson(e));
  return Reply{200, json::object{{"sub_processors", std::move(out)}}};
}

Result<Reply> RemoveSubProcessor(Call& call) {
  PV_RETURN_IF_ERROR(
      call.vault.sub_processors.Remove(call.context, PathParam(call, 0)));
  return Reply{204, nullptr};
}

Result<Reply> Object(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"reason"}));
  PV_ASSIGN_OR_RETURN(auto reason, RequiredString(body, "reason"));
  PV_ASSIGN_OR_RETURN(
      auto objection,
      call.vault.sub_processors.Object(call.context, call.decision.tenant().id,
                                       PathParam(call, 1), std::move(reason),
                                       call.identity.id));
  return Reply{201, ObjectionJson(objection)};
}

Result<Reply> ListObjections(Call& call) {
  PV_ASSIGN_OR_RETURN(auto objections,
                      call.vault.sub_processors.Objections(PathParam(call, 0)));
  json::array out;
  for (auto& o : objections) out.push_back(ObjectionJson(o));
  return Reply{200, json::object{{"objections", std::move(out)}}};
}

}  // namespace

void AddSubProcessorRoutes(const RouteAdder& add) {
  add("POST", "/v1/sub-processors", "sub_processors.put",
      Operation::kPutSubProcessor, PutSubProcessor);
  add("GET", "/v1/sub-processors", "sub_processors.list",
      Operation::kListSubProcessors, ListSubProcessors);
  add("DELETE", "/v1/sub-processors/{id}", "sub_processors.delete",
      Operation::kRemoveSubProcessor, RemoveSubProcessor);
  add("GET", "/v1/sub-processors/{id}/objections",
      "sub_processors.objections.list", Operation::kListObjections,
      ListObjections);
  add("POST", "/v1/tenants/{t}/sub-processors/{id}/objections",
      "sub_processors.objections.create", Operation::kObjectToSubProcessor,
      Object);
}

}  // namespace piivault::api
