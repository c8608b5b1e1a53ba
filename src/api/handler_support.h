// Internal to api/: what every handler uses — the call context, JSON body
// reading with strict member checks, replies and access checks.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/http.h"
#include "audit/audit_log.h"
#include "base/status.h"
#include "policy/access_policy.h"
#include "policy/policy_cache.h"
#include "vault/vault.h"

namespace piivault::api {

namespace json = boost::json;

struct Reply {
  int status = 200;
  json::value body;  // null: no body (204)
};

// One authenticated call.
struct Call {
  const HttpRequest& request;
  std::vector<std::string> params;  // path parameters, percent-decoded
  vault::Identity identity;
  std::string request_id;
  vault::Vault& vault;
  audit::AuditLog& audit;
  policy::PolicyCache& policies;
};

using HandlerFn = std::function<Result<Reply>(Call&)>;

// Parses a request body that must be a JSON object whose members are all in
// `allowed` (unknown members are an error, so typos never pass silently).
Result<json::object> ParseObject(
    const HttpRequest& request,
    std::initializer_list<std::string_view> allowed);

// Unknown members of a nested object are an error too.
Status RejectUnknownMembers(const json::object& o,
                            std::initializer_list<std::string_view> allowed);

// Typed members: a missing required member or a wrong type is
// invalid_argument naming the member.
Result<std::string> RequiredString(const json::object& o, std::string_view key);
Result<std::optional<std::string>> OptionalString(const json::object& o,
                                                  std::string_view key);
Result<std::optional<bool>> OptionalBool(const json::object& o,
                                         std::string_view key);
Result<std::optional<std::vector<std::string>>> OptionalStringList(
    const json::object& o, std::string_view key);

// Access checks. Each returns permission_denied (403) when refused.
Status RequireRole(const Call& call, std::initializer_list<vault::Role> roles);
// An identity of tenant `t` with one of `roles`, or an operator identity with
// one of `operator_roles`.
Status RequireTenantRole(
    const Call& call, std::string_view tenant,
    std::initializer_list<vault::Role> roles,
    std::initializer_list<vault::Role> operator_roles = {});

// The data-plane gate: a tenant identity of `tenant`, or an operator
// identity reading under its approved, unexpired lockbox request
// (X-Lockbox-Request; 403 permission_denied otherwise, and never for writes
// or under a consent-requiring purpose); an active tenant for writes; and a
// valid X-Purpose of the tenant. Under a consent-requiring purpose each
// principal must also pass RequireConsent; under a lockbox each collection
// and principal must be in its scope (RequireInScope).
struct DataAccess {
  vault::Tenant tenant;
  vault::Purpose purpose;
  std::optional<vault::LockboxRequest> lockbox;  // operator access only
};
Result<DataAccess> AuthorizeData(Call& call, std::string_view tenant,
                                 bool writes);

// Ok unless the access is an operator's under a lockbox whose scope does not
// cover `collection` or `principal` (each when given): 403.
Status RequireInScope(const DataAccess& access,
                      std::optional<std::string_view> collection,
                      std::optional<std::string_view> principal = {});

// Under a purpose that requires consent (marketing, advertising), ok only
// while `principal` has an active consent for it; otherwise 403
// consent_required (also for a principal that does not exist). Other
// purposes never read the ledger: consent is never a condition of service.
// For a principal about to be written; reads pass ConsentPurpose to the
// vault, which checks it with the principal's key at no extra read.
Status RequireConsent(Call& call, const DataAccess& access,
                      std::string_view principal);
// The purpose the vault must find the principal's consent for: the
// request's when its category requires consent, else none (empty).
std::string_view ConsentPurpose(const DataAccess& access);

// Which fields of `collection` the caller may use for `action`: nullopt for
// tenant-admins (everything); for tenant-apps the policy's grant, or
// permission_denied when no rule allows the action.
using FieldGrant = std::optional<policy::AccessPolicy::Grant>;
Result<FieldGrant> GrantFor(const Call& call, const DataAccess& access,
                            policy::Action action,
                            const vault::Collection& collection);
// Whether `field` may be returned/used in plain text under `grant`.
bool PlainAllowed(const FieldGrant& grant, std::string_view field);
// Whether `grant` covers `field` at all (plain or masked): what a write needs.
bool Granted(const FieldGrant& grant, std::string_view field);
// The fields of a record as the caller may see them: plain, masked
// (vault/masks.h) or left out, per `grant`.
json::object VisibleFields(const vault::Fields& fields,
                           const vault::Collection& collection,
                           const FieldGrant& grant);

std::string_view PathParam(const Call& call, std::size_t i);
std::string QueryParam(const HttpRequest& request, std::string_view name);
// A non-negative integer query parameter; `fallback` when absent (400 when
// absent without one, or not such an integer).
Result<uint64_t> UintParam(const Call& call, std::string_view name,
                           std::optional<uint64_t> fallback = std::nullopt);
std::string PercentDecode(std::string_view text, bool* ok);

json::value TimeJson(TimePoint t);
json::value FieldValueJson(const vault::FieldValue& v);
json::value TenantJson(const vault::Tenant& t);
json::value IdentityJson(const vault::Identity& i);
json::value CollectionJson(const vault::Collection& c);
json::value PurposeJson(const vault::Purpose& p);

// Route registration, one function per area.
using RouteAdder = std::function<void(std::string method, std::string pattern,
                                      std::string name, HandlerFn fn)>;
void AddControlRoutes(const RouteAdder& add);
void AddDataRoutes(const RouteAdder& add);
void AddAuditRoutes(const RouteAdder& add);
void AddLockboxRoutes(const RouteAdder& add);

}  // namespace piivault::api
