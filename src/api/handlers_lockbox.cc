// Lockbox endpoints: operator staff ask for access to a tenant's data, the
// tenant's admins decide, and everyone concerned can see every request.
#include "api/handler_support.h"

namespace piivault::api {
namespace {

using policy::Operation;

// "PT2H", "PT1H30M", "PT90S"-style text for a duration in seconds.
std::string IsoDuration(std::chrono::seconds d) {
  auto s = d.count();
  std::string out = "PT";
  if (s >= 3600) out += std::to_string(s / 3600) + "H";
  if (s % 3600 >= 60) out += std::to_string(s % 3600 / 60) + "M";
  if (s % 60 != 0 || s == 0) out += std::to_string(s % 60) + "S";
  return out;
}

json::value LockboxJson(const compliance::LockboxRequest& r, TimePoint now) {
  json::array collections, principals;
  for (auto& c : r.scope.collections) collections.emplace_back(c);
  for (auto& p : r.scope.principals) principals.emplace_back(p);
  json::object o{
      {"id", r.id},
      {"state", compliance::LockboxStateName(r.StateAt(now))},
      {"reason", r.reason},
      {"scope", json::object{{"collections", std::move(collections)},
                             {"principals", std::move(principals)}}},
      {"duration", IsoDuration(r.duration)},
      {"requested_by", r.requested_by},
      {"created_at", TimeJson(r.created_at)},
      {"decided_by",
       r.decided_by.empty() ? json::value(nullptr) : json::value(r.decided_by)},
      {"decided_at",
       r.decided_at ? TimeJson(*r.decided_at) : json::value(nullptr)}};
  auto expires = r.ExpiresAt();
  o["expires_at"] = expires ? TimeJson(*expires) : json::value(nullptr);
  return o;
}

Result<Reply> CreateRequest(Call& call) {
  const vault::Tenant& tenant = call.decision.tenant();
  PV_ASSIGN_OR_RETURN(
      auto body, ParseObject(call.request, {"reason", "scope", "duration"}));
  PV_ASSIGN_OR_RETURN(auto reason, RequiredString(body, "reason"));
  PV_ASSIGN_OR_RETURN(auto duration, RequiredString(body, "duration"));
  compliance::LockboxScope scope;
  if (auto* s = body.if_contains("scope"); s && !s->is_null()) {
    if (!s->is_object())
      return Err(ValidationFailed("scope",
                                  "an object of collections and "
                                  "principals"));
    for (auto& [name, v] : s->get_object())
      if (name != "collections" && name != "principals")
        return Err(ValidationFailed("scope", "unknown member"));
    PV_ASSIGN_OR_RETURN(auto collections,
                        OptionalStringList(s->get_object(), "collections"));
    PV_ASSIGN_OR_RETURN(auto principals,
                        OptionalStringList(s->get_object(), "principals"));
    scope.collections = collections.value_or(std::vector<std::string>{});
    scope.principals = principals.value_or(std::vector<std::string>{});
  }
  PV_ASSIGN_OR_RETURN(
      auto request,
      call.vault.lockbox.Create(call.context, tenant, call.identity,
                                std::move(reason), std::move(scope), duration));
  return Reply{201, LockboxJson(request, call.vault.clock->Now())};
}

Result<Reply> Decide(Call& call, bool approve) {
  PV_ASSIGN_OR_RETURN(
      auto request,
      call.vault.lockbox.Decide(call.context, call.decision.tenant(),
                                PathParam(call, 1), call.identity, approve));
  return Reply{200, LockboxJson(request, call.vault.clock->Now())};
}

// The tenant's admins and auditors see every request; operator staff see
// the ones they made.
bool Visible(const Call& call, const compliance::LockboxRequest& r) {
  return call.decision.limit() != policy::Decision::Limit::kOwnRequestsOnly ||
         r.requested_by == call.identity.id;
}

Result<Reply> ListRequests(Call& call) {
  PV_ASSIGN_OR_RETURN(auto requests,
                      call.vault.lockbox.List(call.decision.tenant().id));
  TimePoint now = call.vault.clock->Now();
  json::array out;
  for (auto& r : requests)
    if (Visible(call, r)) out.push_back(LockboxJson(r, now));
  return Reply{200, json::object{{"lockbox_requests", std::move(out)}}};
}

Result<Reply> GetRequest(Call& call) {
  PV_ASSIGN_OR_RETURN(auto request, call.vault.lockbox.Get(
                                        call.context, call.decision.tenant().id,
                                        PathParam(call, 1)));
  if (!Visible(call, request)) return Err(NotFound("no such lockbox request"));
  return Reply{200, LockboxJson(request, call.vault.clock->Now())};
}

}  // namespace

void AddLockboxRoutes(const RouteAdder& add) {
  const std::string base = "/v1/tenants/{t}/lockbox-requests";
  add("POST", base, "lockbox.create", Operation::kRequestLockbox,
      CreateRequest);
  add("GET", base, "lockbox.list", Operation::kReadLockbox, ListRequests);
  add("GET", base + "/{id}", "lockbox.get", Operation::kReadLockbox,
      GetRequest);
  add("POST", base + "/{id}/approve", "lockbox.approve",
      Operation::kDecideLockbox, [](Call& call) { return Decide(call, true); });
  add("POST", base + "/{id}/deny", "lockbox.deny", Operation::kDecideLockbox,
      [](Call& call) { return Decide(call, false); });
}

}  // namespace piivault::api
