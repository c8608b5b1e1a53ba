// The key hierarchy:
//
//   root key (file seal) ─┬─ control key (HKDF): seals control-plane values
//                         ├─ API-key digest key (HKDF)
//                         └─ wraps tenant key (per tenant, versioned, random)
//                               ├─ wraps principal keys (random, per principal)
//                               ├─ index key (HKDF): blind indexes, pseudonyms
//                               └─ token key (HKDF, 64 bytes): AES-SIV tokens
//
// Wrapped tenant keys live in the control store. Destroying a tenant key makes
// every principal key of that tenant, and so all its data, unreadable; a
// principal key's destruction does the same for one principal.
//
// Thread safety: all methods are thread-safe. Unwrapped tenant keys are cached
// in memory (they never change for a version).
#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"
#include "crypto/secret.h"
#include "crypto/signer.h"
#include "crypto/transfer_stream.h"
#include "storage/backend.h"

namespace piivault::crypto {

struct TenantKeys {
  uint32_t version = 0;
  SecretBytes tenant_key;  // AES-256-GCM, wraps principal keys
  SecretBytes index_key;   // HMAC-SHA256
  SecretBytes token_key;   // AES-256-SIV
};

class Keyring {
 public:
  // REQUIRES: root_key.size() == kMasterKeySize; `control` outlives this.
  Keyring(SecretBytes root_key, storage::Backend* control);

  // On a new control store, records a sealed canary; on an existing one,
  // checks that the root key opens it. kFailedPrecondition when the key does
  // not belong to this deployment.
  Status InitializeOrVerify();

  // Control-plane values at rest (tenants, identities, schemas...). `aad` is
  // the storage key, so a value cannot be moved to another key.
  std::string SealControl(std::string_view plaintext,
                          std::string_view aad) const;
  Result<std::string> OpenControl(std::string_view sealed,
                                  std::string_view aad) const;

  // The deployment's Ed25519 signing key (audit tree heads, certificates),
  // kept in the control store sealed under the control key; created on first
  // use. kDataLoss if the stored key does not open.
  Result<Ed25519Key> LoadOrCreateSigningKey();

  // The deployment's backup key (lifecycle/backup.h): an X25519 pair
  // derived from the root key (HKDF, "piivault-backup-v1"), so only this
  // deployment's root key opens its backups.
  X25519KeyPair BackupKeyPair() const;

  // Keyed digest of an API key secret, for storage and constant-time checks.
  std::string ApiKeyDigest(std::string_view secret) const;

  // Adds the tenant's first key version to `batch` (guarded by nothing: the
  // caller's batch is conditioned on the tenant not existing).
  void AddNewTenantKey(std::string_view tenant,
                       storage::WriteBatch& batch) const;
  // kNotFound without a key; kDataLoss if it does not unwrap (wrong root
  // key or tampered store).
  Result<std::shared_ptr<const TenantKeys>> GetTenantKeys(
      std::string_view tenant);

  // Crypto-shredding of a tenant: adds the deletion of the tenant's wrapped
  // key to `batch`, guarded on it as stored, and returns the ids of the key
  // versions it destroys ("<tenant>/v<version>"; empty when none is left).
  // Once the batch is written, ForgetTenantKeys drops this process's cached
  // copy; from then on nothing of the tenant opens here. Other processes
  // keep theirs until restarted, which is why disposal first closes the
  // tenant to every request (policy/access.h).
  Result<std::vector<std::string>> DestroyTenantKey(std::string_view tenant,
                                                    storage::WriteBatch& batch);
  void ForgetTenantKeys(std::string_view tenant);

  static SecretBytes NewPrincipalKey();
  static std::string WrapPrincipalKey(const TenantKeys& keys,
                                      std::string_view tenant,
                                      std::string_view pseudonym,
                                      const SecretBytes& principal_key);
  static Result<SecretBytes> UnwrapPrincipalKey(const TenantKeys& keys,
                                                std::string_view tenant,
                                                std::string_view pseudonym,
                                                std::string_view wrapped);

 private:
  static std::string TenantKeyStorageKey(std::string_view tenant);

  SecretBytes kek_;
  SecretBytes control_key_;
  SecretBytes api_key_digest_key_;
  SecretBytes backup_key_;
  storage::Backend* control_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const TenantKeys>> cache_;
};

}  // namespace piivault::crypto
