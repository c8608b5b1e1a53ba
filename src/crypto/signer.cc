#include "crypto/signer.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <utility>

#include "base/encoding.h"
#include "crypto/hash.h"
#include "crypto/openssl_util.h"
#include "crypto/random.h"

namespace piivault::crypto {
namespace {

using internal::Fatal;
using internal::Ptr;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// The key is rebuilt from the seed for each use rather than cached: signing
// tree heads is rare, and it keeps the key's secret in one wiped place.
PkeyPtr PrivateKey(const SecretBytes& seed) {
  PkeyPtr key(EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr,
                                              seed.data(), seed.size()));
  if (key == nullptr) Fatal("cannot load an Ed25519 private key");
  return key;
}

MdCtxPtr NewMdCtx() {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) Fatal("EVP_MD_CTX_new failed");
  return ctx;
}

}  // namespace

Ed25519Key Ed25519Key::Generate() {
  Result<Ed25519Key> key = FromSeed(RandomSecret(kEd25519SeedSize));
  if (!key) Fatal("cannot create an Ed25519 key");
  return *std::move(key);
}

Result<Ed25519Key> Ed25519Key::FromSeed(const SecretBytes& seed) {
  if (seed.size() != kEd25519SeedSize) {
    return Err(InvalidArgument("an Ed25519 seed must be 32 bytes"));
  }
  PkeyPtr key = PrivateKey(seed);
  std::string public_key(kEd25519PublicKeySize, '\0');
  std::size_t len = public_key.size();
  if (EVP_PKEY_get_raw_public_key(
          key.get(), reinterpret_cast<unsigned char*>(public_key.data()),
          &len) != 1 ||
      len != kEd25519PublicKeySize) {
    Fatal("cannot derive an Ed25519 public key");
  }
  return Ed25519Key(seed.Clone(), std::move(public_key));
}

std::string Ed25519KeyId(std::string_view public_key) {
  return HexEncode(Sha256(public_key).substr(0, 8));
}

std::string Ed25519Key::key_id() const { return Ed25519KeyId(public_key_); }

std::string Ed25519Key::Sign(std::string_view message) const {
  PkeyPtr key = PrivateKey(seed_);
  MdCtxPtr ctx = NewMdCtx();
  std::string signature(kEd25519SignatureSize, '\0');
  std::size_t len = signature.size();
  // PureEdDSA: no digest (NULL md), and only the one-shot EVP_DigestSign.
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) !=
          1 ||
      EVP_DigestSign(ctx.get(),
                     reinterpret_cast<unsigned char*>(signature.data()), &len,
                     Ptr(message), message.size()) != 1 ||
      len != kEd25519SignatureSize) {
    Fatal("Ed25519 signing failed");
  }
  return signature;
}

bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature) {
  if (public_key.size() != kEd25519PublicKeySize ||
      signature.size() != kEd25519SignatureSize) {
    return false;
  }
  PkeyPtr key(EVP_PKEY_new_raw_public_key_ex(
      nullptr, "ED25519", nullptr, Ptr(public_key), public_key.size()));
  MdCtxPtr ctx = NewMdCtx();
  const bool valid =
      key != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) ==
          1 &&
      EVP_DigestVerify(ctx.get(), Ptr(signature), signature.size(),
                       Ptr(message), message.size()) == 1;
  // A rejected signature leaves errors queued; they are no one's business
  // and would confuse the next ERR_print_errors_fp.
  if (!valid) ERR_clear_error();
  return valid;
}

}  // namespace piivault::crypto
