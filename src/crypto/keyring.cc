#include "crypto/keyring.h"

#include <openssl/crypto.h>

#include "base/retry.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/seal.h"

namespace piivault::crypto {
namespace {

constexpr std::string_view kCanaryKey = "sys/canary";
constexpr std::string_view kCanaryText = "piivault root key canary v1";
constexpr std::string_view kSigningKey = "sys/signing-key";
constexpr uint32_t kFirstVersion = 1;

SecretBytes Derive(const SecretBytes& root, std::string_view info,
                   std::size_t size = 32) {
  return HkdfSha256(root, "piivault", info, size);
}

std::string TenantKeyAad(std::string_view tenant, uint32_t version) {
  return "tenant-key\0" + std::string(tenant) + '\0' + std::to_string(version);
}

std::string PrincipalKeyAad(std::string_view tenant,
                            std::string_view pseudonym) {
  std::string aad = "principal-key";
  aad.push_back('\0');
  aad.append(tenant);
  aad.push_back('\0');
  aad.append(pseudonym);
  return aad;
}

// Takes key bytes out of a plain string and wipes the string.
SecretBytes TakeSecret(std::string& raw) {
  SecretBytes key(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

}  // namespace

Keyring::Keyring(SecretBytes root_key, storage::Backend* control)
    : kek_(Derive(root_key, "kek/v1")),
      control_key_(Derive(root_key, "control/v1")),
      api_key_digest_key_(Derive(root_key, "api-key-digest/v1")),
      backup_key_(Derive(root_key, "piivault-backup-v1")),
      control_(control) {}

X25519KeyPair Keyring::BackupKeyPair() const {
  // 32 bytes by construction, so this cannot fail.
  return *X25519KeyPair::FromPrivateKey(backup_key_);
}

Status Keyring::InitializeOrVerify() {
  PV_ASSIGN_OR_RETURN(auto canary, control_->Get(kCanaryKey));
  if (canary) {
    auto opened = OpenControl(*canary, kCanaryKey);
    if (!opened || *opened != kCanaryText)
      return FailedPrecondition(
          "the master key does not belong to this deployment's control store");
    return Status::Ok();
  }
  storage::WriteBatch batch;
  batch.RequireAbsent(std::string(kCanaryKey));
  batch.Put(std::string(kCanaryKey), SealControl(kCanaryText, kCanaryKey));
  Status written = control_->Write(batch);
  if (written.code() == StatusCode::kAborted) return InitializeOrVerify();
  return written;
}

Result<Ed25519Key> Keyring::LoadOrCreateSigningKey() {
  auto attempt = [&]() -> std::optional<Result<Ed25519Key>> {
    PV_ASSIGN_OR_RETURN(auto sealed, control_->Get(kSigningKey));
    if (sealed) {
      auto seed = OpenControl(*sealed, kSigningKey);
      if (!seed) return Err(DataLoss("the stored signing key does not open"));
      return Ed25519Key::FromSeed(TakeSecret(*seed));
    }
    Ed25519Key key = Ed25519Key::Generate();
    storage::WriteBatch batch;
    batch.RequireAbsent(std::string(kSigningKey));
    batch.Put(std::string(kSigningKey),
              SealControl(key.seed().view(), kSigningKey));
    Status written = control_->Write(batch);
    if (LostRace(written)) return std::nullopt;  // another node won
    PV_RETURN_IF_ERROR(written);
    return key;
  };
  return RetryOnConflict("the signing key", attempt, 3);
}

std::string Keyring::SealControl(std::string_view plaintext,
                                 std::string_view aad) const {
  return AeadSeal(control_key_, kFirstVersion, plaintext, aad);
}

Result<std::string> Keyring::OpenControl(std::string_view sealed,
                                         std::string_view aad) const {
  return AeadOpen(control_key_, sealed, aad);
}

std::string Keyring::ApiKeyDigest(std::string_view secret) const {
  return HmacSha256(api_key_digest_key_, secret);
}

std::string Keyring::TenantKeyStorageKey(std::string_view tenant) {
  return "tk/" + std::string(tenant);
}

void Keyring::AddNewTenantKey(std::string_view tenant,
                              storage::WriteBatch& batch) const {
  SecretBytes key = RandomSecret(kAeadKeySize);
  batch.Put(TenantKeyStorageKey(tenant),
            AeadSeal(kek_, kFirstVersion, key.view(),
                     TenantKeyAad(tenant, kFirstVersion)));
}

Result<std::vector<std::string>> Keyring::DestroyTenantKey(
    std::string_view tenant, storage::WriteBatch& batch) {
  const std::string key = TenantKeyStorageKey(tenant);
  PV_ASSIGN_OR_RETURN(auto wrapped, control_->Get(key));
  if (!wrapped) return std::vector<std::string>{};
  PV_ASSIGN_OR_RETURN(uint32_t version, AeadKeyVersion(*wrapped));
  batch.RequireValue(key, *wrapped);
  batch.Delete(key);
  return std::vector<std::string>{std::string(tenant) + "/v" +
                                  std::to_string(version)};
}

void Keyring::ForgetTenantKeys(std::string_view tenant) {
  std::unique_lock lock(mu_);
  cache_.erase(std::string(tenant));
}

Result<std::shared_ptr<const TenantKeys>> Keyring::GetTenantKeys(
    std::string_view tenant) {
  std::string name(tenant);
  {
    std::shared_lock lock(mu_);
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
  }
  PV_ASSIGN_OR_RETURN(auto wrapped, control_->Get(TenantKeyStorageKey(tenant)));
  if (!wrapped) return Err(NotFound("tenant has no key"));
  PV_ASSIGN_OR_RETURN(uint32_t version, AeadKeyVersion(*wrapped));
  auto raw = AeadOpen(kek_, *wrapped, TenantKeyAad(tenant, version));
  if (!raw)
    return Err(DataLoss("tenant key does not unwrap under the root key"));
  auto keys = std::make_shared<TenantKeys>();
  keys->version = version;
  keys->tenant_key = TakeSecret(*raw);
  keys->index_key = Derive(keys->tenant_key, "index/v1");
  keys->token_key = Derive(keys->tenant_key, "token/v1", kSivKeySize);
  std::unique_lock lock(mu_);
  auto [it, inserted] = cache_.emplace(std::move(name), std::move(keys));
  return it->second;
}

SecretBytes Keyring::NewPrincipalKey() { return RandomSecret(kAeadKeySize); }

std::string Keyring::WrapPrincipalKey(const TenantKeys& keys,
                                      std::string_view tenant,
                                      std::string_view pseudonym,
                                      const SecretBytes& principal_key) {
  return AeadSeal(keys.tenant_key, keys.version, principal_key.view(),
                  PrincipalKeyAad(tenant, pseudonym));
}

Result<SecretBytes> Keyring::UnwrapPrincipalKey(const TenantKeys& keys,
                                                std::string_view tenant,
                                                std::string_view pseudonym,
                                                std::string_view wrapped) {
  PV_ASSIGN_OR_RETURN(
      std::string raw,
      AeadOpen(keys.tenant_key, wrapped, PrincipalKeyAad(tenant, pseudonym)));
  return TakeSecret(raw);
}

}  // namespace piivault::crypto
