#include "vault/principal_keys.h"

#include "vault/consent_state.h"
#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

Status BeingRelocated() {
  return Status(StatusCode::kAborted,
                "the principal is being relocated; retry shortly", "conflict");
}

}  // namespace

Result<PrincipalContext> PrincipalKeys::Load(const RequestContext& context,
                                             const Tenant& tenant,
                                             std::string_view region,
                                             storage::Backend& backend,
                                             std::string_view pseudonym,
                                             KeyUse use) {
  PV_ASSIGN_OR_RETURN(auto raw,
                      backend.Get(keys::PrincipalKey(tenant.id, pseudonym)));
  PV_ASSIGN_OR_RETURN(auto ctx, FromEntry(context, tenant, region, pseudonym,
                                          std::move(raw), use));
  ctx.store = &backend;
  return ctx;
}

Result<PrincipalContext> PrincipalKeys::FromEntry(
    const RequestContext& context, const Tenant& tenant,
    std::string_view region, std::string_view pseudonym,
    std::optional<std::string> raw, KeyUse use) {
  PrincipalContext ctx;
  PV_ASSIGN_OR_RETURN(ctx.keys, control_->keyring().GetTenantKeys(tenant.id));
  auto new_key = [&]() -> Result<PrincipalContext> {
    ctx.key = crypto::Keyring::NewPrincipalKey();
    ctx.raw = crypto::Keyring::WrapPrincipalKey(*ctx.keys, tenant.id, pseudonym,
                                                ctx.key);
    ctx.is_new = true;
    return std::move(ctx);
  };
  if (!raw) {
    // No key: the principal was never written here, or was relocated away.
    if (use != KeyUse::kCreate) return Err(NotFound("no such record"));
    return new_key();
  }
  PV_ASSIGN_OR_RETURN(auto state, PrincipalKeyState::Decode(*raw));
  if (state.phase == PrincipalKeyState::Phase::kErasing) {
    if (use == KeyUse::kWrite) return Err(BeingErased());
    // A tombstone (an erasure or a relocation away left it): a create
    // gives the principal a new key here only if the directory places it
    // here now, so a create that read the directory before the erasure or
    // the switch can neither bring erased data back nor write where the
    // principal no longer lives.
    if (use == KeyUse::kCreate) {
      if (!state.wrapped.empty()) return Err(BeingErased());
      PV_ASSIGN_OR_RETURN(auto home,
                          directory_->HomeOf(context, tenant, pseudonym));
      if (home && home->erasing) return Err(BeingErased());
      if (!home || home->region != region)
        return Err(Aborted("the principal changed concurrently; retry"));
      ctx.replaces = std::move(*raw);
      return new_key();
    }
  }
  if (!state.active()) {
    if (use != KeyUse::kRead) return Err(BeingRelocated());
    // Mid-relocation both regions hold a copy; only the one the directory
    // names is the principal's data.
    PV_ASSIGN_OR_RETURN(auto home,
                        directory_->HomeOf(context, tenant, pseudonym));
    if (!home || home->region != region) return Err(NotFound("no such record"));
  }
  if (state.wrapped.empty()) return Err(NotFound("no such record"));
  PV_ASSIGN_OR_RETURN(
      ctx.key, crypto::Keyring::UnwrapPrincipalKey(*ctx.keys, tenant.id,
                                                   pseudonym, state.wrapped));
  ctx.raw = std::move(*raw);
  ctx.consents = std::move(state.consents);
  return ctx;
}

Status PrincipalKeys::CheckConsent(const Tenant& tenant,
                                   std::string_view pseudonym,
                                   const PrincipalContext& principal,
                                   std::string_view consent_purpose) {
  if (consent_purpose.empty()) return Status::Ok();
  PV_ASSIGN_OR_RETURN(auto state,
                      ConsentState::Open(principal.key, tenant.id, pseudonym,
                                         principal.consents));
  if (!state.Allows(consent_purpose)) return ConsentRequired();
  // Only a grant is worth putting an older state back for: check that no
  // event follows it (one point read), and decide again if the consents
  // moved on meanwhile.
  PV_RETURN_IF_ERROR(CheckAgainstLedger(*principal.store, principal.key,
                                        tenant.id, pseudonym, principal.raw,
                                        state, LedgerDepth::kNothingAfter));
  return state.Allows(consent_purpose) ? Status::Ok() : ConsentRequired();
}

}  // namespace piivault::vault
