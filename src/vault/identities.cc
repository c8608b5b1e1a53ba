#include "vault/identities.h"

#include <boost/json.hpp>

#include "base/encoding.h"
#include "base/retry.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

constexpr std::string_view kKeyPrefix = "pv.";
constexpr std::size_t kSecretBytes = 32;

Status BadKey() { return Unauthenticated("invalid or inactive API key"); }

}  // namespace

Result<IssuedIdentity> IdentityService::Create(const RequestContext& context,
                                               std::string name, Role role,
                                               std::string tenant,
                                               boost::json::value policy) {
  return RetryOnConflict("the tenant's admins", [&] {
    return CreateOnce(context, name, role, tenant, policy,
                      /*first_admin=*/false);
  });
}

Result<IssuedIdentity> IdentityService::CreateFirstAdmin(
    const RequestContext& context, std::string name, std::string tenant) {
  return RetryOnConflict("the tenant's admins", [&] {
    return CreateOnce(context, name, Role::kTenantAdmin, tenant, nullptr,
                      /*first_admin=*/true);
  });
}

Result<IssuedIdentity> IdentityService::CreateOnce(
    const RequestContext& context, std::string name, Role role,
    std::string tenant, const boost::json::value& policy, bool first_admin) {
  PV_RETURN_IF_ERROR(ValidateFreeText("name", name, 1, 256));

  Identity identity{.id = crypto::RandomId("id_"),
                    .name = std::move(name),
                    .role = role,
                    .tenant = std::move(tenant),
                    .key_digest = {},
                    .created_at = clock_->Now(),
                    .deactivated_at = std::nullopt,
                    .policy = policy};
  std::string secret = Base64UrlEncode(crypto::RandomBytes(kSecretBytes));
  identity.key_digest = control_->keyring().ApiKeyDigest(secret);

  storage::WriteBatch batch = context.Batch();
  std::string key = keys::Identity(identity.id);
  batch.RequireAbsent(key);
  control_->Put(batch, key, ToJson(identity));
  batch.Put(identity.tenant.empty()
                ? keys::OperatorIdentity(identity.id)
                : keys::TenantIdentity(identity.tenant, identity.id),
            "");
  if (role == Role::kTenantAdmin)
    PV_RETURN_IF_ERROR(TouchAdminsGuard(batch, identity.tenant));
  if (first_admin) {
    // Read after the guard: an admin created or deactivated from here on
    // changes the guard, and this write then aborts and is tried again.
    PV_ASSIGN_OR_RETURN(auto existing, ListTenant(context, identity.tenant));
    for (auto& i : existing)
      if (i.role == Role::kTenantAdmin && !i.deactivated_at)
        return Err(PermissionDenied(
            "the tenant has an active tenant-admin; only it creates "
            "identities"));
  }
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  std::string api_key = std::string(kKeyPrefix) + identity.id + "." + secret;
  return IssuedIdentity{std::move(identity), std::move(api_key)};
}

Status IdentityService::TouchAdminsGuard(storage::WriteBatch& batch,
                                         std::string_view tenant) {
  std::string key = keys::TenantAdminsGuard(tenant);
  PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
  if (raw)
    batch.RequireValue(key, *raw);
  else
    batch.RequireAbsent(key);
  control_->Put(batch, key,
                boost::json::object{{"change", crypto::RandomId("chg_")}});
  return Status::Ok();
}

Result<Identity> IdentityService::Authenticate(const RequestContext& context,
                                               std::string_view api_key) {
  if (!api_key.starts_with(kKeyPrefix)) return Err(BadKey());
  api_key.remove_prefix(kKeyPrefix.size());
  auto dot = api_key.find('.');
  if (dot == std::string_view::npos || dot > 64) return Err(BadKey());
  std::string_view id = api_key.substr(0, dot);
  std::string_view secret = api_key.substr(dot + 1);
  auto identity = Get(context, id);
  if (!identity) {
    if (identity.error().code() == StatusCode::kNotFound) return Err(BadKey());
    return Err(identity.error());
  }
  if (!crypto::ConstantTimeEquals(control_->keyring().ApiKeyDigest(secret),
                                  identity->key_digest) ||
      identity->deactivated_at)
    return Err(BadKey());
  return identity;
}

Result<Identity> IdentityService::Get(const RequestContext& context,
                                      std::string_view id) {
  if (!id.starts_with("id_") || id.size() > 64)
    return Err(NotFound("no such identity"));
  PV_ASSIGN_OR_RETURN(auto doc, control_->Get(context, keys::Identity(id)));
  if (!doc) return Err(NotFound("no such identity"));
  return IdentityFromJson(*doc);
}

Result<std::vector<Identity>> IdentityService::ListByIndex(
    const RequestContext& context, const std::string& prefix) {
  PV_ASSIGN_OR_RETURN(auto rows,
                      control_->backend().Scan(prefix, "", SIZE_MAX));
  std::vector<Identity> out;
  out.reserve(rows.size());
  for (auto& row : rows) {
    PV_ASSIGN_OR_RETURN(
        auto identity,
        Get(context, std::string_view(row.key).substr(prefix.size())));
    out.push_back(std::move(identity));
  }
  return out;
}

Result<std::vector<Identity>> IdentityService::ListOperators(
    const RequestContext& context) {
  return ListByIndex(context, keys::OperatorIdentityPrefix());
}

Result<std::vector<Identity>> IdentityService::ListTenant(
    const RequestContext& context, std::string_view tenant) {
  return ListByIndex(context, keys::TenantIdentityPrefix(tenant));
}

template <typename Fn>
Result<Identity> IdentityService::Modify(const RequestContext& context,
                                         std::string_view id,
                                         std::string_view tenant, Fn fn) {
  if (!id.starts_with("id_") || id.size() > 64)
    return Err(NotFound("no such identity"));
  std::string key = keys::Identity(id);
  return RetryOnConflict("the identity", [&]() -> Result<Identity> {
    PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
    if (!raw) return Err(NotFound("no such identity"));
    PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(key, *raw));
    PV_ASSIGN_OR_RETURN(Identity identity, IdentityFromJson(doc));
    if (identity.tenant != tenant) return Err(NotFound("no such identity"));
    PV_RETURN_IF_ERROR(fn(identity));
    storage::WriteBatch batch = context.Batch();
    batch.RequireValue(key, *raw);
    control_->Put(batch, key, ToJson(identity));
    if (identity.role == Role::kTenantAdmin)
      PV_RETURN_IF_ERROR(TouchAdminsGuard(batch, identity.tenant));
    PV_RETURN_IF_ERROR(control_->Write(context, batch));
    return identity;
  });
}

Status IdentityService::Deactivate(const RequestContext& context,
                                   std::string_view id,
                                   std::string_view tenant) {
  TimePoint now = clock_->Now();
  return internal::ToStatus(
      Modify(context, id, tenant, [&](Identity& identity) {
        if (!identity.deactivated_at) identity.deactivated_at = now;
        return Status::Ok();
      }));
}

Result<IssuedIdentity> IdentityService::Rotate(const RequestContext& context,
                                               std::string_view id,
                                               std::string_view tenant) {
  std::string secret = Base64UrlEncode(crypto::RandomBytes(kSecretBytes));
  PV_ASSIGN_OR_RETURN(
      auto identity, Modify(context, id, tenant, [&](Identity& identity) {
        if (identity.deactivated_at)
          return FailedPrecondition("the identity is deactivated");
        identity.key_digest = control_->keyring().ApiKeyDigest(secret);
        return Status::Ok();
      }));
  std::string api_key = std::string(kKeyPrefix) + identity.id + "." + secret;
  return IssuedIdentity{std::move(identity), std::move(api_key)};
}

Result<Identity> IdentityService::SetPolicy(const RequestContext& context,
                                            std::string_view id,
                                            std::string_view tenant,
                                            boost::json::value policy) {
  return Modify(context, id, tenant, [&](Identity& identity) {
    identity.policy = policy;
    return Status::Ok();
  });
}

}  // namespace piivault::vault
