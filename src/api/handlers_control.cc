// Control-plane endpoints: whoami, identities, regions, tenants, purposes and
// collection schemas.
#include "api/handler_support.h"
#include "vault/stored_object.h"

namespace piivault::api {
namespace {

using policy::Operation;
using vault::Role;

json::value IssuedJson(const vault::IssuedIdentity& issued) {
  auto o = IdentityJson(issued.identity).as_object();
  o["api_key"] = issued.api_key;
  return o;
}

json::value IdentityList(const std::vector<vault::Identity>& list) {
  json::array a;
  for (auto& i : list) a.push_back(IdentityJson(i));
  return json::object{{"identities", std::move(a)}};
}

Result<Reply> WhoAmI(Call& call) {
  json::object o{{"id", call.identity.id},
                 {"name", call.identity.name},
                 {"role", vault::RoleName(call.identity.role)}};
  if (!call.identity.tenant.empty()) o["tenant"] = call.identity.tenant;
  return Reply{200, std::move(o)};
}

Result<Reply> CreateOperatorIdentity(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"name", "role"}));
  PV_ASSIGN_OR_RETURN(auto name, RequiredString(body, "name"));
  PV_ASSIGN_OR_RETURN(auto role_name, RequiredString(body, "role"));
  auto role = vault::ParseRole(role_name);
  if (!role || !vault::IsOperatorRole(*role))
    return Err(ValidationFailed("role",
                                "must be operator-admin, operator-legal, "
                                "operator-security or auditor"));
  PV_ASSIGN_OR_RETURN(
      auto issued,
      call.vault.identities.Create(call.context, std::move(name), *role, ""));
  return Reply{201, IssuedJson(issued)};
}

Result<Reply> ListOperatorIdentities(Call& call) {
  PV_ASSIGN_OR_RETURN(auto list,
                      call.vault.identities.ListOperators(call.context));
  return Reply{200, IdentityList(list)};
}

Result<Reply> DeleteOperatorIdentity(Call& call) {
  PV_RETURN_IF_ERROR(
      call.vault.identities.Deactivate(call.context, PathParam(call, 0), ""));
  return Reply{204, nullptr};
}

Result<Reply> ListRegions(Call& call) {
  json::array regions;
  for (auto& r : call.vault.router->regions()) {
    json::array countries;
    for (auto& c : r.countries) countries.emplace_back(c);
    regions.emplace_back(
        json::object{{"id", r.id}, {"countries", std::move(countries)}});
  }
  return Reply{200, json::object{{"regions", std::move(regions)}}};
}

Result<Reply> CreateTenant(Call& call) {
  PV_ASSIGN_OR_RETURN(
      auto body,
      ParseObject(call.request, {"id", "name", "regions", "default_region"}));
  PV_ASSIGN_OR_RETURN(auto id, RequiredString(body, "id"));
  PV_ASSIGN_OR_RETURN(auto name, OptionalString(body, "name"));
  PV_ASSIGN_OR_RETURN(auto regions, OptionalStringList(body, "regions"));
  PV_ASSIGN_OR_RETURN(auto default_region,
                      OptionalString(body, "default_region"));
  PV_ASSIGN_OR_RETURN(
      auto tenant,
      call.vault.tenants.Create(call.context, std::move(id), name.value_or(""),
                                regions.value_or(std::vector<std::string>{}),
                                default_region.value_or("")));
  return Reply{201, TenantJson(tenant)};
}

// Disposed tenants too: their certificates and audit logs stay readable.
Result<Reply> ListTenants(Call& call) {
  PV_ASSIGN_OR_RETURN(auto tenants, call.vault.tenants.List());
  json::array a;
  for (auto& t : tenants) a.push_back(TenantJson(t));
  return Reply{200, json::object{{"tenants", std::move(a)}}};
}

Result<Reply> GetTenant(Call& call) {
  return Reply{200, TenantJson(call.decision.tenant())};
}

Result<Reply> PatchTenant(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"name", "regions",
                                                            "default_region"}));
  vault::TenantPatch patch;
  PV_ASSIGN_OR_RETURN(patch.name, OptionalString(body, "name"));
  PV_ASSIGN_OR_RETURN(patch.regions, OptionalStringList(body, "regions"));
  PV_ASSIGN_OR_RETURN(patch.default_region,
                      OptionalString(body, "default_region"));
  PV_ASSIGN_OR_RETURN(
      auto tenant,
      call.vault.tenants.Update(call.context, PathParam(call, 0), patch));
  return Reply{200, TenantJson(tenant)};
}

// Terminates the tenant (API.md): an empty body or no return_period means
// the deployment's default.
Result<Reply> TerminateTenant(Call& call) {
  json::object body;
  if (!call.request.body.empty()) {
    PV_ASSIGN_OR_RETURN(body, ParseObject(call.request, {"return_period"}));
  }
  std::optional<std::chrono::seconds> period;
  if (auto* v = body.if_contains("return_period"); v && !v->is_null()) {
    if (v->is_string()) period = ParseIsoDuration(v->get_string());
    if (!period)
      return Err(ValidationFailed("return_period",
                                  "must be an ISO 8601 duration such as P30D"));
  }
  PV_ASSIGN_OR_RETURN(auto tenant,
                      call.vault.terminations.Terminate(
                          call.context, call.decision.tenant().id, period));
  return Reply{200, TenantJson(tenant)};
}

// Disposes of a terminated tenant (API.md): an operator-admin or a
// tenant-admin once the return period has ended, before then only a
// tenant-admin confirming it. Runs the whole disposal in the request; the
// tenant's disposal job then finds it done.
Result<Reply> DisposeTenant(Call& call) {
  json::object body;
  if (!call.request.body.empty()) {
    PV_ASSIGN_OR_RETURN(body,
                        ParseObject(call.request, {"confirmed_by_tenant"}));
  }
  PV_ASSIGN_OR_RETURN(auto confirmed,
                      OptionalBool(body, "confirmed_by_tenant"));
  const vault::Tenant& tenant = call.decision.tenant();
  const bool due = tenant.disposal_due_at &&
                   *tenant.disposal_due_at <= call.vault.clock->Now();
  const bool tenant_confirms = confirmed.value_or(false) &&
                               call.identity.role == vault::Role::kTenantAdmin;
  if (tenant.state == vault::TenantState::kTerminating && !due &&
      !tenant_confirms)
    return Err(FailedPrecondition(
        "the return period has not ended: disposal before disposal_due_at "
        "needs {\"confirmed_by_tenant\":true} from a tenant-admin"));
  PV_ASSIGN_OR_RETURN(auto certificate,
                      call.vault.disposals.Dispose(call.context, tenant.id,
                                                   call.audit.signer()));
  return Reply{200,
               json::object{{"certificate", CertificateJson(certificate)}}};
}

// Where the tenant's data is stored, with exact counts per region.
Result<Reply> TenantLocations(Call& call) {
  PV_ASSIGN_OR_RETURN(auto locations,
                      call.vault.tenants.Locations(call.decision.tenant()));
  json::array regions;
  for (auto& l : locations) {
    json::array countries;
    for (auto& c : l.region.countries) countries.emplace_back(c);
    // An unreachable region's record count is unknown, never guessed.
    regions.emplace_back(json::object{
        {"id", l.region.id},
        {"countries", std::move(countries)},
        {"principals", l.principals},
        {"records", l.records ? json::value(*l.records) : json::value()},
        {"available", l.records.has_value()}});
  }
  // The register's entries (not removed) that touch the tenant's regions,
  // also those not yet effective: disclosed before use.
  PV_ASSIGN_OR_RETURN(auto touching, call.vault.sub_processors.Touching(
                                         call.decision.tenant().regions));
  json::array sub_processors;
  for (auto& s : touching) {
    sub_processors.emplace_back(
        json::object{{"id", s.id},
                     {"name", s.name},
                     {"countries", vault::ToArray(s.countries)},
                     {"effective_at", TimeJson(s.effective_at)}});
  }
  return Reply{200,
               json::object{{"regions", std::move(regions)},
                            {"sub_processors", std::move(sub_processors)}}};
}

Result<Reply> CreateTenantIdentity(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body,
                      ParseObject(call.request, {"name", "role", "policy"}));
  PV_ASSIGN_OR_RETURN(auto name, RequiredString(body, "name"));
  PV_ASSIGN_OR_RETURN(auto role_name, RequiredString(body, "role"));
  auto role = vault::ParseRole(role_name);
  if (!role || vault::IsOperatorRole(*role))
    return Err(ValidationFailed("role", "must be tenant-admin or tenant-app"));
  json::value policy = nullptr;
  if (auto* p = body.if_contains("policy"); p && !p->is_null()) {
    auto parsed = policy::AccessPolicy::Parse(*p);
    if (!parsed)
      return Err(ValidationFailed("policy", parsed.error().message()));
    policy = *p;
  }
  const std::string& tenant = call.decision.tenant().id;
  if (call.decision.limit() == policy::Decision::Limit::kFirstAdminOnly) {
    if (*role != Role::kTenantAdmin || !policy.is_null())
      return Err(PermissionDenied(
          "an operator creates only a tenant's first tenant-admin"));
    PV_ASSIGN_OR_RETURN(auto issued,
                        call.vault.identities.CreateFirstAdmin(
                            call.context, std::move(name), tenant));
    return Reply{201, IssuedJson(issued)};
  }
  PV_ASSIGN_OR_RETURN(auto issued, call.vault.identities.Create(
                                       call.context, std::move(name), *role,
                                       tenant, std::move(policy)));
  return Reply{201, IssuedJson(issued)};
}

Result<Reply> ListTenantIdentities(Call& call) {
  PV_ASSIGN_OR_RETURN(auto list, call.vault.identities.ListTenant(
                                     call.context, call.decision.tenant().id));
  return Reply{200, IdentityList(list)};
}

Result<Reply> DeleteTenantIdentity(Call& call) {
  PV_RETURN_IF_ERROR(call.vault.identities.Deactivate(
      call.context, PathParam(call, 1), call.decision.tenant().id));
  return Reply{204, nullptr};
}

// A new key for an identity; the old one stops working at once.
Result<Reply> Rotate(Call& call, std::string_view id, std::string_view tenant) {
  PV_ASSIGN_OR_RETURN(auto issued,
                      call.vault.identities.Rotate(call.context, id, tenant));
  return Reply{200, json::object{{"id", issued.identity.id},
                                 {"api_key", issued.api_key}}};
}

Result<Reply> RotateOperatorIdentity(Call& call) {
  return Rotate(call, PathParam(call, 0), "");
}

Result<Reply> RotateTenantIdentity(Call& call) {
  return Rotate(call, PathParam(call, 1), call.decision.tenant().id);
}

Result<Reply> PutIdentityPolicy(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"rules"}));
  json::value doc = std::move(body);
  auto parsed = policy::AccessPolicy::Parse(doc);
  if (!parsed) return Err(ValidationFailed("policy", parsed.error().message()));
  PV_ASSIGN_OR_RETURN(auto identity,
                      call.vault.identities.SetPolicy(
                          call.context, PathParam(call, 1),
                          call.decision.tenant().id, std::move(doc)));
  return Reply{200, IdentityJson(identity)};
}

Result<Reply> ListPurposes(Call& call) {
  PV_ASSIGN_OR_RETURN(
      auto list, call.vault.tenants.ListPurposes(call.decision.tenant().id));
  json::array a;
  for (auto& p : list) a.push_back(PurposeJson(p));
  return Reply{200, json::object{{"purposes", std::move(a)}}};
}

Result<Reply> PutPurpose(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body,
                      ParseObject(call.request, {"category", "description"}));
  PV_ASSIGN_OR_RETURN(auto category_name, RequiredString(body, "category"));
  PV_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description"));
  auto category = vault::ParsePurposeCategory(category_name);
  if (!category)
    return Err(ValidationFailed("category",
                                "must be service, security, legal, analytics, "
                                "marketing or advertising"));
  const vault::Tenant& tenant = call.decision.tenant();
  // 201 for a new purpose, 200 for a changed description (as collections).
  auto existing = call.vault.tenants.GetPurpose(call.context, tenant.id,
                                                PathParam(call, 1));
  if (!existing && existing.error().code() != StatusCode::kNotFound)
    return Err(existing.error());
  PV_ASSIGN_OR_RETURN(auto purpose, call.vault.tenants.PutPurpose(
                                        call.context, tenant.id,
                                        {std::string(PathParam(call, 1)),
                                         *category, description.value_or("")}));
  return Reply{existing ? 200 : 201, PurposeJson(purpose)};
}

Result<std::vector<vault::FieldSpec>> ParseFieldSpecs(
    const json::object& body) {
  auto* fields = body.if_contains("fields");
  if (!fields || !fields->is_array())
    return Err(InvalidArgument("'fields' is required and must be an array"));
  std::vector<vault::FieldSpec> out;
  for (auto& fv : fields->get_array()) {
    if (!fv.is_object())
      return Err(InvalidArgument("each field must be an object"));
    auto& f = fv.get_object();
    PV_RETURN_IF_ERROR(
        RejectUnknownMembers(f, {"name", "type", "required", "searchable"}));
    vault::FieldSpec spec;
    PV_ASSIGN_OR_RETURN(spec.name, RequiredString(f, "name"));
    PV_ASSIGN_OR_RETURN(auto type_name, RequiredString(f, "type"));
    auto type = vault::ParseFieldType(type_name);
    if (!type)
      return Err(ValidationFailed(
          "fields", "unknown field type '" + type_name.substr(0, 32) + "'"));
    spec.type = *type;
    PV_ASSIGN_OR_RETURN(auto required, OptionalBool(f, "required"));
    PV_ASSIGN_OR_RETURN(auto searchable, OptionalBool(f, "searchable"));
    spec.required = required.value_or(false);
    spec.searchable = searchable.value_or(false);
    out.push_back(std::move(spec));
  }
  return out;
}

Result<Reply> PutCollection(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body,
                      ParseObject(call.request, {"fields", "retention"}));
  PV_ASSIGN_OR_RETURN(auto fields, ParseFieldSpecs(body));
  PV_ASSIGN_OR_RETURN(auto retention, OptionalString(body, "retention"));
  PV_ASSIGN_OR_RETURN(auto put, call.vault.collections.Put(
                                    call.context, call.decision.tenant().id,
                                    std::string(PathParam(call, 1)),
                                    std::move(fields), retention.value_or("")));
  return Reply{put.created ? 201 : 200, CollectionJson(put.collection)};
}

Result<Reply> GetCollection(Call& call) {
  PV_ASSIGN_OR_RETURN(
      auto c, call.vault.collections.Get(
                  call.context, call.decision.tenant().id, PathParam(call, 1)));
  return Reply{200, CollectionJson(c)};
}

Result<Reply> ListCollections(Call& call) {
  PV_ASSIGN_OR_RETURN(auto list,
                      call.vault.collections.List(call.decision.tenant().id));
  json::array a;
  for (auto& c : list) a.push_back(CollectionJson(c));
  return Reply{200, json::object{{"collections", std::move(a)}}};
}

}  // namespace

void AddControlRoutes(const RouteAdder& add) {
  add("GET", "/v1/whoami", "whoami", Operation::kWhoAmI, WhoAmI);
  add("POST", "/v1/identities", "identities.create",
      Operation::kCreateOperatorIdentity, CreateOperatorIdentity);
  add("GET", "/v1/identities", "identities.list",
      Operation::kListOperatorIdentities, ListOperatorIdentities);
  add("DELETE", "/v1/identities/{id}", "identities.delete",
      Operation::kDeactivateOperatorIdentity, DeleteOperatorIdentity);
  add("POST", "/v1/identities/{id}/rotate", "identities.rotate",
      Operation::kRotateOperatorIdentity, RotateOperatorIdentity);
  add("GET", "/v1/regions", "regions.list", Operation::kListRegions,
      ListRegions);
  add("POST", "/v1/tenants", "tenants.create", Operation::kCreateTenant,
      CreateTenant);
  add("GET", "/v1/tenants", "tenants.list", Operation::kListTenants,
      ListTenants);
  add("GET", "/v1/tenants/{t}", "tenants.get", Operation::kReadTenant,
      GetTenant);
  add("PATCH", "/v1/tenants/{t}", "tenants.update", Operation::kUpdateTenant,
      PatchTenant);
  add("POST", "/v1/tenants/{t}/terminate", "tenants.terminate",
      Operation::kTerminateTenant, TerminateTenant);
  add("POST", "/v1/tenants/{t}/dispose", "tenants.dispose",
      Operation::kDisposeTenant, DisposeTenant);
  add("GET", "/v1/tenants/{t}/locations", "tenants.locations",
      Operation::kReadLocations, TenantLocations);
  add("POST", "/v1/tenants/{t}/identities", "tenant_identities.create",
      Operation::kCreateTenantIdentity, CreateTenantIdentity);
  add("GET", "/v1/tenants/{t}/identities", "tenant_identities.list",
      Operation::kListTenantIdentities, ListTenantIdentities);
  add("DELETE", "/v1/tenants/{t}/identities/{id}", "tenant_identities.delete",
      Operation::kDeactivateTenantIdentity, DeleteTenantIdentity);
  add("POST", "/v1/tenants/{t}/identities/{id}/rotate",
      "tenant_identities.rotate", Operation::kRotateTenantIdentity,
      RotateTenantIdentity);
  add("PUT", "/v1/tenants/{t}/identities/{id}/policy",
      "tenant_identities.policy", Operation::kSetIdentityPolicy,
      PutIdentityPolicy);
  add("GET", "/v1/tenants/{t}/purposes", "purposes.list",
      Operation::kListPurposes, ListPurposes);
  add("PUT", "/v1/tenants/{t}/purposes/{p}", "purposes.put",
      Operation::kPutPurpose, PutPurpose);
  add("PUT", "/v1/tenants/{t}/collections/{c}", "collections.put",
      Operation::kPutCollection, PutCollection);
  add("GET", "/v1/tenants/{t}/collections/{c}", "collections.get",
      Operation::kReadCollection, GetCollection);
  add("GET", "/v1/tenants/{t}/collections", "collections.list",
      Operation::kReadCollection, ListCollections);
}

}  // namespace piivault::api
