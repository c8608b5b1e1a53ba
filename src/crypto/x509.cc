#include "crypto/x509.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace piivault::crypto {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
template <typename T, void (*F)(T*)>
using Ptr = std::unique_ptr<T, Deleter<T, F>>;

void BioFree(BIO* b) { BIO_free_all(b); }

using PkeyPtr = Ptr<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = Ptr<X509, X509_free>;
using BioPtr = Ptr<BIO, BioFree>;
using BnPtr = Ptr<BIGNUM, BN_free>;
using ExtPtr = Ptr<X509_EXTENSION, X509_EXTENSION_free>;

// Upper bound on validity: keeps notAfter well inside what
// X509_time_adj_ex can represent.
constexpr int kMaxDays = 100 * 366;

Status Failed(const char* step) {
  ERR_clear_error();
  return Internal(std::string("cannot create certificate: ") + step);
}

bool AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  return ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1;
}

// Returns the contents of a memory BIO.
std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

Result<PemKeyPair> MakeSelfSignedLocalhostCertificate(int days) {
  if (days <= 0 || days > kMaxDays) {
    return Err(InvalidArgument("certificate validity must be 1 to " +
                               std::to_string(kMaxDays) + " days"));
  }

  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return Err(Failed("EC P-256 key generation failed"));

  X509Ptr cert(X509_new());
  if (cert == nullptr) return Err(Failed("X509_new failed"));
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return Err(Failed("cannot set version"));
  }

  // Random positive serial with 126 random bits (RFC 5280: positive, at most
  // 20 octets).
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) {
    return Err(Failed("RAND_bytes failed"));
  }
  serial_bytes[0] &= 0x7f;
  serial_bytes[0] |= 0x40;  // never zero, always 16 octets
  BnPtr serial(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (serial == nullptr ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ==
          nullptr) {
    return Err(Failed("cannot set serial number"));
  }

  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) ==
          nullptr) {
    return Err(Failed("cannot set validity"));
  }

  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
          0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return Err(Failed("cannot set names"));
  }
  if (X509_set_pubkey(cert.get(), key.get()) != 1) {
    return Err(Failed("cannot set public key"));
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  // A leaf certificate (CA:FALSE): verifiers that reject CA certificates as
  // end-entity certificates (e.g. webpki) accept it, and OpenSSL accepts it
  // as its own trust anchor.
  if (!AddExtension(cert.get(), &ctx, NID_basic_constraints,
                    "critical,CA:FALSE") ||
      !AddExtension(cert.get(), &ctx, NID_key_usage,
                    "critical,digitalSignature") ||
      !AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth") ||
      !AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash") ||
      !AddExtension(cert.get(), &ctx, NID_subject_alt_name,
                    "DNS:localhost,IP:127.0.0.1,IP:::1")) {
    return Err(Failed("cannot add extensions"));
  }

  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return Err(Failed("signing failed"));
  }

  PemKeyPair out;
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  if (cert_bio == nullptr ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return Err(Failed("cannot encode certificate"));
  }
  out.certificate_pem = BioContents(cert_bio.get());

  // BIO_s_secmem clears its buffer when freed.
  BioPtr key_bio(BIO_new(BIO_s_secmem()));
  if (key_bio == nullptr ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0,
                               nullptr, nullptr) != 1) {
    return Err(Failed("cannot encode private key"));
  }
  out.private_key_pem = BioContents(key_bio.get());
  if (out.certificate_pem.empty() || out.private_key_pem.empty()) {
    return Err(Failed("empty PEM output"));
  }
  return out;
}

}  // namespace piivault::crypto
