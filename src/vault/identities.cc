#include "vault/identities.h"

#include <boost/json.hpp>

#include "base/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

constexpr std::string_view kKeyPrefix = "pv.";
constexpr std::size_t kSecretBytes = 32;

Status BadKey() { return Unauthenticated("invalid or inactive API key"); }

}  // namespace

Result<IssuedIdentity> IdentityService::Create(std::string name, Role role,
                                               std::string tenant,
                                               boost::json::value policy) {
  if (name.empty() || name.size() > 256)
    return Err(ValidationFailed("name", "1 to 256 characters"));
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f)
      return Err(ValidationFailed("name", "control characters not allowed"));

  Identity identity{.id = crypto::RandomId("id_"),
                    .name = std::move(name),
                    .role = role,
                    .tenant = std::move(tenant),
                    .key_digest = {},
                    .created_at = clock_->Now(),
                    .deactivated_at = std::nullopt,
                    .policy = std::move(policy)};
  std::string secret = Base64UrlEncode(crypto::RandomBytes(kSecretBytes));
  identity.key_digest = control_->keyring().ApiKeyDigest(secret);

  storage::WriteBatch batch;
  std::string key = keys::Identity(identity.id);
  batch.RequireAbsent(key);
  control_->Put(batch, key, ToJson(identity));
  batch.Put(identity.tenant.empty()
                ? keys::OperatorIdentity(identity.id)
                : keys::TenantIdentity(identity.tenant, identity.id),
            "");
  Status written = control_->Write(batch);
  if (written.code() == StatusCode::kAborted)
    return Err(Internal("identity id collision"));  // 2^-128: RNG failure
  PV_RETURN_IF_ERROR(written);
  std::string api_key = std::string(kKeyPrefix) + identity.id + "." + secret;
  return IssuedIdentity{std::move(identity), std::move(api_key)};
}

Result<Identity> IdentityService::Authenticate(std::string_view api_key) {
  if (!api_key.starts_with(kKeyPrefix)) return Err(BadKey());
  api_key.remove_prefix(kKeyPrefix.size());
  auto dot = api_key.find('.');
  if (dot == std::string_view::npos || dot > 64) return Err(BadKey());
  std::string_view id = api_key.substr(0, dot);
  std::string_view secret = api_key.substr(dot + 1);
  auto identity = Get(id);
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

Result<Identity> IdentityService::Get(std::string_view id) {
  if (!id.starts_with("id_") || id.size() > 64)
    return Err(NotFound("no such identity"));
  PV_ASSIGN_OR_RETURN(auto doc, control_->Get(keys::Identity(id)));
  if (!doc) return Err(NotFound("no such identity"));
  return IdentityFromJson(*doc);
}

Result<std::vector<Identity>> IdentityService::ListByIndex(
    const std::string& prefix) {
  PV_ASSIGN_OR_RETURN(auto rows,
                      control_->backend().Scan(prefix, "", SIZE_MAX));
  std::vector<Identity> out;
  out.reserve(rows.size());
  for (auto& row : rows) {
    PV_ASSIGN_OR_RETURN(auto identity,
                        Get(std::string_view(row.key).substr(prefix.size())));
    out.push_back(std::move(identity));
  }
  return out;
}

Result<std::vector<Identity>> IdentityService::ListOperators() {
  return ListByIndex(keys::OperatorIdentityPrefix());
}

Result<std::vector<Identity>> IdentityService::ListTenant(
    std::string_view tenant) {
  return ListByIndex(keys::TenantIdentityPrefix(tenant));
}

template <typename Fn>
Result<Identity> IdentityService::Modify(std::string_view id,
                                         std::string_view tenant, Fn fn) {
  if (!id.starts_with("id_") || id.size() > 64)
    return Err(NotFound("no such identity"));
  std::string key = keys::Identity(id);
  for (int attempt = 0; attempt < 5; ++attempt) {
    PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
    if (!raw) return Err(NotFound("no such identity"));
    PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(key, *raw));
    PV_ASSIGN_OR_RETURN(Identity identity, IdentityFromJson(doc));
    if (identity.tenant != tenant) return Err(NotFound("no such identity"));
    fn(identity);
    storage::WriteBatch batch;
    batch.RequireValue(key, *raw);
    control_->Put(batch, key, ToJson(identity));
    Status written = control_->Write(batch);
    if (written.code() == StatusCode::kAborted) continue;
    PV_RETURN_IF_ERROR(written);
    return identity;
  }
  return Err(Aborted("the identity changed concurrently; retry"));
}

Status IdentityService::Deactivate(std::string_view id,
                                   std::string_view tenant) {
  TimePoint now = clock_->Now();
  return internal::ToStatus(Modify(id, tenant, [&](Identity& identity) {
    if (!identity.deactivated_at) identity.deactivated_at = now;
  }));
}

Result<Identity> IdentityService::SetPolicy(std::string_view id,
                                            std::string_view tenant,
                                            boost::json::value policy) {
  return Modify(id, tenant,
                [&](Identity& identity) { identity.policy = policy; });
}

}  // namespace piivault::vault
