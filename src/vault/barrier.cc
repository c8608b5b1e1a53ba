#include "vault/barrier.h"

#include "base/bytes.h"
#include "crypto/aead.h"

namespace piivault::vault {
namespace {

// The generation of principal keys that seals. A principal key is never
// rotated (destroying it is how a principal's data is shredded); a second
// generation would be added here, and opened alongside the first.
constexpr uint32_t kPrincipalKeyVersion = 1;

Status UnknownKeyVersion() {
  return DataLoss("a stored value is sealed under an unknown key version");
}

// Each kind of value has an AAD of its own shape, so that no value opens as
// another kind. The byte layouts are those values were first written with.

std::string FieldAad(std::string_view tenant, std::string_view collection,
                     std::string_view record, std::string_view field) {
  std::string aad;
  aad.reserve(tenant.size() + collection.size() + record.size() + field.size() +
              5);
  aad.append("f\0", 2).append(tenant).push_back('\0');
  aad.append(collection).push_back('\0');
  aad.append(record).push_back('\0');
  aad.append(field);
  return aad;
}

// Length-prefixed, so it never equals a FieldAad.
std::string EnvelopeAad(std::string_view tenant, std::string_view record,
                        std::string_view members) {
  ByteWriter w;
  w.Bytes("record envelope v2");
  w.Bytes(tenant);
  w.Bytes(record);
  w.str().append(members);
  return w.Take();
}

// No field name starts with '$': a version 1 envelope's principal id had a
// field's AAD in a slot no field can have.
constexpr std::string_view kLegacyPrincipalSlot = "$principal";

// Version 2 states (which name their ledger head) have an AAD of their own,
// so the two layouts never need telling apart by their bytes.
constexpr std::string_view kConsentStateV2 = "consents/v2";
constexpr std::string_view kConsentStateV1 = "consents";
std::string ConsentStateAad(std::string_view version, std::string_view tenant,
                            std::string_view pseudonym) {
  std::string aad(version);
  aad.push_back('\0');
  aad.append(tenant).push_back('\0');
  aad.append(pseudonym);
  return aad;
}

std::string TokenAad(std::string_view tenant) {
  return std::string("token\0", 6).append(tenant);
}

}  // namespace

std::string PrincipalBarrier::Seal(std::string_view plain,
                                   std::string_view aad) const {
  return crypto::AeadSeal(key_, kPrincipalKeyVersion, plain, aad);
}

Result<std::string> PrincipalBarrier::Open(std::string_view sealed,
                                           std::string_view aad) const {
  PV_ASSIGN_OR_RETURN(uint32_t version, crypto::AeadKeyVersion(sealed));
  if (version != kPrincipalKeyVersion) return Err(UnknownKeyVersion());
  return crypto::AeadOpen(key_, sealed, aad);
}

std::string PrincipalBarrier::SealField(std::string_view collection,
                                        std::string_view record,
                                        std::string_view field,
                                        std::string_view canonical) const {
  return Seal(canonical, FieldAad(tenant_, collection, record, field));
}

Result<std::string> PrincipalBarrier::OpenField(std::string_view collection,
                                                std::string_view record,
                                                std::string_view field,
                                                std::string_view sealed) const {
  return Open(sealed, FieldAad(tenant_, collection, record, field));
}

std::string PrincipalBarrier::SealEnvelope(std::string_view record,
                                           std::string_view members,
                                           std::string_view principal) const {
  return Seal(principal, EnvelopeAad(tenant_, record, members));
}

Result<std::string> PrincipalBarrier::OpenEnvelope(
    std::string_view record, std::string_view members,
    std::string_view sealed) const {
  return Open(sealed, EnvelopeAad(tenant_, record, members));
}

Result<std::string> PrincipalBarrier::OpenLegacyEnvelope(
    std::string_view collection, std::string_view record,
    std::string_view sealed) const {
  return OpenField(collection, record, kLegacyPrincipalSlot, sealed);
}

std::string PrincipalBarrier::SealConsentState(std::string_view pseudonym,
                                               std::string_view state) const {
  return Seal(state, ConsentStateAad(kConsentStateV2, tenant_, pseudonym));
}

Result<PrincipalBarrier::OpenedConsentState> PrincipalBarrier::OpenConsentState(
    std::string_view pseudonym, std::string_view sealed) const {
  auto state =
      Open(sealed, ConsentStateAad(kConsentStateV2, tenant_, pseudonym));
  if (state) return OpenedConsentState{*std::move(state), false};
  PV_ASSIGN_OR_RETURN(
      auto legacy,
      Open(sealed, ConsentStateAad(kConsentStateV1, tenant_, pseudonym)));
  return OpenedConsentState{std::move(legacy), true};
}

std::string PrincipalBarrier::SealConsentEvent(std::string_view slot,
                                               std::string_view event) const {
  return Seal(event, slot);
}

Result<std::string> PrincipalBarrier::OpenConsentEvent(
    std::string_view slot, std::string_view sealed) const {
  return Open(sealed, slot);
}

std::string SealToken(const crypto::TenantKeys& keys, std::string_view tenant,
                      std::string_view pointer) {
  return crypto::SivSeal(keys.token_key, pointer, TokenAad(tenant));
}

Result<std::string> OpenToken(const crypto::TenantKeys& keys,
                              std::string_view tenant,
                              std::string_view sealed) {
  return crypto::SivOpen(keys.token_key, sealed, TokenAad(tenant));
}

}  // namespace piivault::vault
