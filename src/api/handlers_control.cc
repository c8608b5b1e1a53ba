// Control-plane endpoints: whoami, identities, regions, tenants, purposes and
// collection schemas.
#include "api/handler_support.h"

namespace piivault::api {
namespace {

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
  PV_RETURN_IF_ERROR(RequireRole(call, {Role::kOperatorAdmin}));
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"name", "role"}));
  PV_ASSIGN_OR_RETURN(auto name, RequiredString(body, "name"));
  PV_ASSIGN_OR_RETURN(auto role_name, RequiredString(body, "role"));
  auto role = vault::ParseRole(role_name);
  if (!role || !vault::IsOperatorRole(*role))
    return Err(ValidationFailed("role",
                                "must be operator-admin, operator-legal, "
                                "operator-security or auditor"));
  PV_ASSIGN_OR_RETURN(auto issued,
                      call.vault.identities.Create(std::move(name), *role, ""));
  return Reply{201, IssuedJson(issued)};
}

Result<Reply> ListOperatorIdentities(Call& call) {
  PV_RETURN_IF_ERROR(RequireRole(call, {Role::kOperatorAdmin}));
  PV_ASSIGN_OR_RETURN(auto list, call.vault.identities.ListOperators());
  return Reply{200, IdentityList(list)};
}

Result<Reply> DeleteOperatorIdentity(Call& call) {
  PV_RETURN_IF_ERROR(RequireRole(call, {Role::kOperatorAdmin}));
  PV_RETURN_IF_ERROR(call.vault.identities.Deactivate(PathParam(call, 0), ""));
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
  PV_RETURN_IF_ERROR(RequireRole(call, {Role::kOperatorAdmin}));
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
      call.vault.tenants.Create(std::move(id), name.value_or(""),
                                regions.value_or(std::vector<std::string>{}),
                                default_region.value_or("")));
  return Reply{201, TenantJson(tenant)};
}

Result<Reply> GetTenant(Call& call) {
  std::string_view t = PathParam(call, 0);
  PV_RETURN_IF_ERROR(RequireTenantRole(call, t,
                                       {Role::kTenantAdmin, Role::kTenantApp},
                                       {Role::kOperatorAdmin, Role::kAuditor}));
  PV_ASSIGN_OR_RETURN(auto tenant, call.vault.tenants.Get(t));
  return Reply{200, TenantJson(tenant)};
}

Result<Reply> PatchTenant(Call& call) {
  PV_RETURN_IF_ERROR(RequireRole(call, {Role::kOperatorAdmin}));
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"name", "regions",
                                                            "default_region"}));
  vault::TenantPatch patch;
  PV_ASSIGN_OR_RETURN(patch.name, OptionalString(body, "name"));
  PV_ASSIGN_OR_RETURN(patch.regions, OptionalStringList(body, "regions"));
  PV_ASSIGN_OR_RETURN(patch.default_region,
                      OptionalString(body, "default_region"));
  PV_ASSIGN_OR_RETURN(auto tenant,
                      call.vault.tenants.Update(PathParam(call, 0), patch));
  return Reply{200, TenantJson(tenant)};
}

// Where the tenant's data is stored, with exact counts per region.
Result<Reply> TenantLocations(Call& call) {
  std::string_view t = PathParam(call, 0);
  PV_RETURN_IF_ERROR(RequireTenantRole(call, t, {Role::kTenantAdmin},
                                       {Role::kOperatorAdmin, Role::kAuditor}));
  PV_ASSIGN_OR_RETURN(auto tenant, call.vault.tenants.Get(t));
  PV_ASSIGN_OR_RETURN(auto locations, call.vault.tenants.Locations(tenant));
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
  // Sub-processors are disclosed by the compliance register (a later
  // issue); until it exists the deployment uses none.
  return Reply{200, json::object{{"regions", std::move(regions)},
                                 {"sub_processors", json::array()}}};
}

Result<Reply> CreateTenantIdentity(Call& call) {
  std::string t(PathParam(call, 0));
  PV_RETURN_IF_ERROR(
      RequireTenantRole(call, t, {Role::kTenantAdmin}, {Role::kOperatorAdmin}));
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
  PV_ASSIGN_OR_RETURN(auto tenant, call.vault.tenants.Get(t));
  PV_ASSIGN_OR_RETURN(
      auto issued, call.vault.identities.Create(std::move(name), *role,
                                                tenant.id, std::move(policy)));
  return Reply{201, IssuedJson(issued)};
}

Result<Reply> ListTenantIdentities(Call& call) {
  std::string_view t = PathParam(call, 0);
  PV_RETURN_IF_ERROR(
      RequireTenantRole(call, t, {Role::kTenantAdmin}, {Role::kOperatorAdmin}));
  PV_ASSIGN_OR_RETURN(auto tenant, call.vault.tenants.Get(t));
  PV_ASSIGN_OR_RETURN(auto list, call.vault.identities.ListTenant(tenant.id));
  return Reply{200, IdentityList(list)};
}

Result<Reply> DeleteTenantIdentity(Call& call) {
  std::string_view t = PathParam(call, 0);
  PV_RETURN_IF_ERROR(
      RequireTenantRole(call, t, {Role::kTenantAdmin}, {Role::kOperatorAdmin}));
  PV_RETURN_IF_ERROR(call.vault.identities.Deactivate(PathParam(call, 1), t));
  return Reply{204, nullptr};
}

Result<Reply> PutIdentityPolicy(Call& call) {
  std::string_view t = PathParam(call, 0);
  PV_RETURN_IF_ERROR(
      RequireTenantRole(call, t, {Role::kTenantAdmin}, {Role::kOperatorAdmin}));
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"rules"}));
  json::value doc = std::move(body);
  auto parsed = policy::AccessPolicy::Parse(doc);
  if (!parsed) return Err(ValidationFailed("policy", parsed.error().message()));
  PV_ASSIGN_OR_RETURN(
      auto identity,
      call.vault.identities.SetPolicy(PathParam(call, 1), t, std::move(doc)));
  return Reply{200, IdentityJson(identity)};
}

Result<Reply> ListPurposes(Call& call) {
  std::string_view t = PathParam(call, 0);
  PV_RETURN_IF_ERROR(RequireTenantRole(call, t,
                                       {Role::kTenantAdmin, Role::kTenantApp},
                                       {Role::kOperatorAdmin, Role::kAuditor}));
  PV_ASSIGN_OR_RETURN(auto tenant, call.vault.tenants.Get(t));
  PV_ASSIGN_OR_RETURN(auto list, call.vault.tenants.ListPurposes(tenant.id));
  json::array a;
  for (auto& p : list) a.push_back(PurposeJson(p));
  return Reply{200, json::object{{"purposes", std::move(a)}}};
}

Result<Reply> PutPurpose(Call& call) {
  std::string_view t = PathParam(call, 0);
  PV_RETURN_IF_ERROR(RequireTenantRole(call, t, {Role::kTenantAdmin}));
  PV_ASSIGN_OR_RETURN(auto body,
                      ParseObject(call.request, {"category", "description"}));
  PV_ASSIGN_OR_RETURN(auto category_name, RequiredString(body, "category"));
  PV_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description"));
  auto category = vault::ParsePurposeCategory(category_name);
  if (!category)
    return Err(ValidationFailed("category",
                                "must be service, security, legal, analytics, "
                                "marketing or advertising"));
  PV_ASSIGN_OR_RETURN(auto tenant, call.vault.tenants.Get(t));
  // 201 for a new purpose, 200 for a changed description (as collections).
  auto existing = call.vault.tenants.GetPurpose(tenant.id, PathParam(call, 1));
  if (!existing && existing.error().code() != StatusCode::kNotFound)
    return Err(existing.error());
  PV_ASSIGN_OR_RETURN(
      auto purpose, call.vault.tenants.PutPurpose(
                        tenant.id, {std::string(PathParam(call, 1)), *category,
                                    description.value_or("")}));
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
  std::string_view t = PathParam(call, 0);
  PV_RETURN_IF_ERROR(RequireTenantRole(call, t, {Role::kTenantAdmin}));
  PV_ASSIGN_OR_RETURN(auto body,
                      ParseObject(call.request, {"fields", "retention"}));
  PV_ASSIGN_OR_RETURN(auto fields, ParseFieldSpecs(body));
  PV_ASSIGN_OR_RETURN(auto retention, OptionalString(body, "retention"));
  PV_ASSIGN_OR_RETURN(auto tenant, call.vault.tenants.Get(t));
  if (tenant.state != "active")
    return Err(
        PermissionDenied("the tenant is not active", "tenant_not_active"));
  PV_ASSIGN_OR_RETURN(auto put, call.vault.collections.Put(
                                    tenant.id, std::string(PathParam(call, 1)),
                                    std::move(fields), retention.value_or("")));
  return Reply{put.created ? 201 : 200, CollectionJson(put.collection)};
}

Result<Reply> GetCollection(Call& call) {
  std::string_view t = PathParam(call, 0);
  PV_RETURN_IF_ERROR(
      RequireTenantRole(call, t, {Role::kTenantAdmin, Role::kTenantApp}));
  PV_ASSIGN_OR_RETURN(auto c,
                      call.vault.collections.Get(t, PathParam(call, 1)));
  return Reply{200, CollectionJson(c)};
}

Result<Reply> ListCollections(Call& call) {
  std::string_view t = PathParam(call, 0);
  PV_RETURN_IF_ERROR(
      RequireTenantRole(call, t, {Role::kTenantAdmin, Role::kTenantApp}));
  PV_ASSIGN_OR_RETURN(auto list, call.vault.collections.List(t));
  json::array a;
  for (auto& c : list) a.push_back(CollectionJson(c));
  return Reply{200, json::object{{"collections", std::move(a)}}};
}

}  // namespace

void AddControlRoutes(const RouteAdder& add) {
  add("GET", "/v1/whoami", "whoami", WhoAmI);
  add("POST", "/v1/identities", "identities.create", CreateOperatorIdentity);
  add("GET", "/v1/identities", "identities.list", ListOperatorIdentities);
  add("DELETE", "/v1/identities/{id}", "identities.delete",
      DeleteOperatorIdentity);
  add("GET", "/v1/regions", "regions.list", ListRegions);
  add("POST", "/v1/tenants", "tenants.create", CreateTenant);
  add("GET", "/v1/tenants/{t}", "tenants.get", GetTenant);
  add("PATCH", "/v1/tenants/{t}", "tenants.update", PatchTenant);
  add("GET", "/v1/tenants/{t}/locations", "tenants.locations", TenantLocations);
  add("POST", "/v1/tenants/{t}/identities", "tenant_identities.create",
      CreateTenantIdentity);
  add("GET", "/v1/tenants/{t}/identities", "tenant_identities.list",
      ListTenantIdentities);
  add("DELETE", "/v1/tenants/{t}/identities/{id}", "tenant_identities.delete",
      DeleteTenantIdentity);
  add("PUT", "/v1/tenants/{t}/identities/{id}/policy",
      "tenant_identities.policy", PutIdentityPolicy);
  add("GET", "/v1/tenants/{t}/purposes", "purposes.list", ListPurposes);
  add("PUT", "/v1/tenants/{t}/purposes/{p}", "purposes.put", PutPurpose);
  add("PUT", "/v1/tenants/{t}/collections/{c}", "collections.put",
      PutCollection);
  add("GET", "/v1/tenants/{t}/collections/{c}", "collections.get",
      GetCollection);
  add("GET", "/v1/tenants/{t}/collections", "collections.list",
      ListCollections);
}

}  // namespace piivault::api
