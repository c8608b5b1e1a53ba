#include "vault/principal_directory.h"

#include <boost/json.hpp>

#include "base/encoding.h"
#include "base/retry.h"
#include "crypto/hash.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

constexpr int kMaxAttempts = 8;

Status ConflictingRegion() {
  return Status(StatusCode::kAborted,
                "the principal lives in another region; relocate it first",
                "conflict");
}

}  // namespace

Result<std::string> PrincipalDirectory::Pseudonym(const Tenant& tenant,
                                                  std::string_view principal) {
  PV_ASSIGN_OR_RETURN(auto keys, control_->keyring().GetTenantKeys(tenant.id));
  std::string input = "principal";
  input.push_back('\0');
  input.append(principal);
  return HexEncode(crypto::HmacSha256(keys->index_key, input));
}

Result<std::optional<Placement>> PrincipalDirectory::HomeOf(
    const RequestContext& context, const Tenant& tenant,
    std::string_view pseudonym) {
  PV_ASSIGN_OR_RETURN(
      auto doc,
      control_->Get(context, keys::PrincipalDirectory(tenant.id, pseudonym)));
  if (!doc) return std::optional<Placement>();
  PV_ASSIGN_OR_RETURN(auto placement, PlacementFromJson(*doc));
  return std::optional<Placement>(std::move(placement));
}

Result<std::string> PrincipalDirectory::Place(
    const RequestContext& context, const Tenant& tenant,
    const std::string& pseudonym, const std::optional<std::string>& region) {
  std::string key = keys::PrincipalDirectory(tenant.id, pseudonym);
  std::string tenant_key = keys::Tenant(tenant.id);
  auto attempt = [&]() -> std::optional<Result<std::string>> {
    PV_ASSIGN_OR_RETURN(auto home, HomeOf(context, tenant, pseudonym));
    if (home) {
      if (home->erasing) return Err(BeingErased());
      if (region && *region != home->region) return Err(ConflictingRegion());
      return home->region;
    }
    // Placing is checked against the stored tenant, and guarded by it, so a
    // concurrent PATCH closing the region cannot strand the new principal.
    PV_ASSIGN_OR_RETURN(auto tenant_raw, control_->GetRaw(tenant_key));
    if (!tenant_raw) return Err(NotFound("no such tenant"));
    PV_ASSIGN_OR_RETURN(auto tenant_doc,
                        control_->Decode(tenant_key, *tenant_raw));
    PV_ASSIGN_OR_RETURN(Tenant current, TenantFromJson(tenant_doc));
    std::string target = region.value_or(current.default_region);
    if (!current.AcceptsNewPrincipals(target)) return Err(RegionNotAllowed());
    storage::Backend* backend = router_->region(target);
    if (!backend) return Err(RegionNotAllowed());
    // Fail before placing anything when the region cannot be reached.
    PV_RETURN_IF_ERROR(backend->Get(keys::PrincipalKey(tenant.id, pseudonym)));
    storage::WriteBatch batch = context.Batch();
    batch.RequireAbsent(key);
    batch.RequireValue(tenant_key, *tenant_raw);
    context.NotePrincipal(pseudonym);
    context.NoteRegion(target);
    control_->Put(batch, key, ToJson(Placement{target, clock_->Now()}));
    batch.Add(keys::PrincipalCount(tenant.id, target), 1);
    Status written = control_->Write(context, batch);
    if (LostRace(written)) return std::nullopt;  // raced; re-read
    PV_RETURN_IF_ERROR(written);
    return target;
  };
  return RetryOnConflict("the principal", attempt, kMaxAttempts);
}

}  // namespace piivault::vault
