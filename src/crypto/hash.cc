#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "crypto/openssl_util.h"

namespace piivault::crypto {
namespace {

using internal::Fatal;
using internal::Ptr;

// Algorithm objects are fetched once and shared by all threads (fetched
// objects are immutable and reference counted); they live for the process.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) Fatal("SHA256 is unavailable");
    return m;
  }();
  return md;
}

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (m == nullptr) Fatal("HMAC is unavailable");
    return m;
  }();
  return mac;
}

EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* kdf = [] {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (k == nullptr) Fatal("HKDF is unavailable");
    return k;
  }();
  return kdf;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

// One HMAC-SHA256 context per thread: creating a context (and fetching the
// digest) per call costs more than the MAC itself. It remembers the last key,
// so that MACs under one key skip the key setup (two hash compressions and
// three digest initializations); the copy of the key is wiped at thread exit.
class HmacContext {
 public:
  HmacContext() : ctx_(EVP_MAC_CTX_new(HmacAlgorithm())) {
    if (ctx_ == nullptr) Fatal("EVP_MAC_CTX_new failed");
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx_.get(), params) != 1) {
      Fatal("cannot configure HMAC-SHA256");
    }
  }
  HmacContext(const HmacContext&) = delete;
  HmacContext& operator=(const HmacContext&) = delete;

  EVP_MAC_CTX* Start(const SecretBytes& key) {
    const bool same_key = keyed_ && key.size() == key_.size() &&
                          ConstantTimeEquals(key.view(), key_.view());
    keyed_ = false;
    // A null key tells EVP_MAC_init to reuse the current one. Otherwise the
    // pointer must be non-null even for an empty key, which
    // SecretBytes::data() guarantees (it is a std::string).
    if (EVP_MAC_init(ctx_.get(), same_key ? nullptr : key.data(),
                     same_key ? 0 : key.size(), nullptr) != 1) {
      return nullptr;
    }
    if (!same_key) key_ = key.Clone();
    keyed_ = true;
    return ctx_.get();
  }

 private:
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx_;
  SecretBytes key_;
  bool keyed_ = false;
};

EVP_MD_CTX* ThreadMdCtx() {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx = [] {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> c(EVP_MD_CTX_new());
    if (c == nullptr) Fatal("EVP_MD_CTX_new failed");
    return c;
  }();
  return ctx.get();
}

}  // namespace

std::string Sha256(std::string_view data) {
  EVP_MD_CTX* ctx = ThreadMdCtx();
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, Ptr(data), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()),
                         &len) != 1 ||
      len != kSha256Size) {
    Fatal("SHA-256 failed");
  }
  return out;
}

std::string HmacSha256(const SecretBytes& key, std::string_view data) {
  thread_local HmacContext hmac;
  EVP_MAC_CTX* ctx = hmac.Start(key);
  std::string out(kSha256Size, '\0');
  std::size_t len = 0;
  if (ctx == nullptr || EVP_MAC_update(ctx, Ptr(data), data.size()) != 1 ||
      EVP_MAC_final(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                    out.size()) != 1 ||
      len != kSha256Size) {
    Fatal("HMAC-SHA256 failed");
  }
  return out;
}

SecretBytes HkdfSha256(const SecretBytes& ikm, std::string_view salt,
                       std::string_view info, std::size_t length) {
  SecretBytes out(length);
  if (length == 0) return out;
  if (length > 255 * kSha256Size) Fatal("HKDF-SHA256 output length too large");

  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(
      EVP_KDF_CTX_new(HkdfAlgorithm()));
  if (ctx == nullptr) Fatal("EVP_KDF_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  OSSL_PARAM* p = params;
  *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  *p++ = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(ikm.data()), ikm.size());
  // An absent salt is, per RFC 5869, HashLen zero bytes; HMAC pads a short
  // key with zeros, so an empty salt gives the same result either way.
  *p++ = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_SALT, const_cast<unsigned char*>(Ptr(salt)), salt.size());
  *p++ = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_INFO, const_cast<unsigned char*>(Ptr(info)), info.size());
  *p = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    Fatal("HKDF-SHA256 failed");
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct Sha256Stream::Ctx {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md{EVP_MD_CTX_new()};
};

Sha256Stream::Sha256Stream() : ctx_(std::make_unique<Ctx>()) {
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md.get(), Sha256Md(), nullptr) != 1)
    Fatal("cannot start SHA-256");
}
Sha256Stream::~Sha256Stream() = default;
Sha256Stream::Sha256Stream(Sha256Stream&&) noexcept = default;
Sha256Stream& Sha256Stream::operator=(Sha256Stream&&) noexcept = default;

void Sha256Stream::Update(std::string_view data) {
  if (EVP_DigestUpdate(ctx_->md.get(), data.data(), data.size()) != 1)
    Fatal("SHA-256 update failed");
}

std::string Sha256Stream::Finish() {
  std::string out(kSha256Size, '\0');
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_->md.get(),
                         reinterpret_cast<unsigned char*>(out.data()),
                         &n) != 1 ||
      n != kSha256Size)
    Fatal("SHA-256 final failed");
  return out;
}

}  // namespace piivault::crypto
