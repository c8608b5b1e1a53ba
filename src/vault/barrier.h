// The region barrier: the only code that seals what a region store keeps, or
// opens it.
//
// Services hand the barrier a plaintext and the place it is kept (tenant,
// record, field, ledger slot...); the barrier alone turns that place into the
// AAD, so a ciphertext copied to any other place fails to open, and alone
// knows which key version seals and which versions open. Services never call
// the cipher (no file of src/vault but barrier.cc includes crypto/aead.h;
// tests/vault/barrier_test.cc checks it).
//
// A principal's values are sealed under the principal's key (destroying it
// shreds them all, backups included); pointer tokens under the tenant's token
// key. Every failure to open is kDataLoss, and no message names a byte of the
// value or of its place.
//
// Thread safety: stateless; every function is thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/keyring.h"
#include "crypto/secret.h"

namespace piivault::vault {

// Where a record's field value is kept.
struct FieldPlace {
  std::string_view tenant;
  std::string_view collection;
  std::string_view record;
  std::string_view field;
};

// The values of one principal of one tenant, sealed under the principal's key.
class PrincipalBarrier {
 public:
  // REQUIRES: `key` outlives this.
  PrincipalBarrier(const crypto::SecretBytes& key, std::string_view tenant)
      : key_(key), tenant_(tenant) {}

  // A field value of one of the principal's records.
  std::string SealField(std::string_view collection, std::string_view record,
                        std::string_view field,
                        std::string_view canonical) const;
  Result<std::string> OpenField(std::string_view collection,
                                std::string_view record, std::string_view field,
                                std::string_view sealed) const;

  // The principal id kept in a record envelope, bound to `members` (the
  // envelope's every other member, encoded by the envelope), so that the tag
  // authenticates the envelope as a whole.
  std::string SealEnvelope(std::string_view record, std::string_view members,
                           std::string_view principal) const;
  Result<std::string> OpenEnvelope(std::string_view record,
                                   std::string_view members,
                                   std::string_view sealed) const;
  // A version 1 envelope's principal id, sealed like a field of the record
  // (before envelopes were authenticated as a whole).
  Result<std::string> OpenLegacyEnvelope(std::string_view collection,
                                         std::string_view record,
                                         std::string_view sealed) const;

  // The principal's consent state (kept in its key entry under `pseudonym`).
  std::string SealConsentState(std::string_view pseudonym,
                               std::string_view state) const;
  struct OpenedConsentState {
    std::string state;
    bool legacy;  // sealed before the state named its ledger head
  };
  Result<OpenedConsentState> OpenConsentState(std::string_view pseudonym,
                                              std::string_view sealed) const;

  // One consent ledger event, bound to the storage key of its slot.
  std::string SealConsentEvent(std::string_view slot,
                               std::string_view event) const;
  Result<std::string> OpenConsentEvent(std::string_view slot,
                                       std::string_view sealed) const;

 private:
  std::string Seal(std::string_view plain, std::string_view aad) const;
  Result<std::string> Open(std::string_view sealed, std::string_view aad) const;

  const crypto::SecretBytes& key_;
  std::string_view tenant_;
};

// A pointer token's payload, sealed deterministically (equal payloads give
// equal tokens) under the tenant's token key.
std::string SealToken(const crypto::TenantKeys& keys, std::string_view tenant,
                      std::string_view pointer);
Result<std::string> OpenToken(const crypto::TenantKeys& keys,
                              std::string_view tenant, std::string_view sealed);

}  // namespace piivault::vault
