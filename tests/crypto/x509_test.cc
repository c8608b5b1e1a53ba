#include "crypto/x509.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <set>
#include <string>

namespace piivault::crypto {
namespace {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

X509Ptr ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr ParseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string CommonName(X509* cert) {
  char buf[256] = {};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
                                    buf, sizeof(buf));
  return n < 0 ? "" : std::string(buf, static_cast<std::size_t>(n));
}

// SAN entries as "DNS:name" / "IP:<raw length>:<hex>".
std::set<std::string> SubjectAltNames(X509* cert) {
  std::set<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS) {
      const auto* s = gn->d.dNSName;
      out.insert("DNS:" + std::string(reinterpret_cast<const char*>(
                                          ASN1_STRING_get0_data(s)),
                                      ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const auto* s = gn->d.iPAddress;
      std::string hex;
      const unsigned char* d = ASN1_STRING_get0_data(s);
      for (int j = 0; j < ASN1_STRING_length(s); ++j) {
        char b[3];
        std::snprintf(b, sizeof(b), "%02x", d[j]);
        hex += b;
      }
      out.insert("IP:" + hex);
    } else {
      out.insert("other");
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

class X509Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = MakeSelfSignedLocalhostCertificate(30);
    ASSERT_TRUE(pair.has_value()) << pair.error().ToString();
    pair_ = *pair;
    cert_ = ParseCert(pair_.certificate_pem);
    key_ = ParseKey(pair_.private_key_pem);
    ASSERT_NE(cert_, nullptr);
    ASSERT_NE(key_, nullptr);
  }

  PemKeyPair pair_;
  X509Ptr cert_;
  PkeyPtr key_;
};

TEST_F(X509Test, PemFormat) {
  EXPECT_EQ(pair_.certificate_pem.rfind("-----BEGIN CERTIFICATE-----\n", 0),
            0u);
  EXPECT_EQ(pair_.private_key_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0),
            0u);
}

TEST_F(X509Test, SubjectIssuerAndSans) {
  EXPECT_EQ(CommonName(cert_.get()), "localhost");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert_.get()),
                          X509_get_issuer_name(cert_.get())),
            0);
  std::set<std::string> expected = {"DNS:localhost", "IP:7f000001",
                                    "IP:00000000000000000000000000000001"};
  EXPECT_EQ(SubjectAltNames(cert_.get()), expected);
  EXPECT_EQ(X509_check_host(cert_.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert_.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert_.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_host(cert_.get(), "example.com", 0, 0, nullptr), 1);
}

TEST_F(X509Test, VersionKeyAndSignature) {
  EXPECT_EQ(X509_get_version(cert_.get()), X509_VERSION_3);
  EXPECT_EQ(X509_check_private_key(cert_.get(), key_.get()), 1);
  EXPECT_TRUE(EVP_PKEY_is_a(key_.get(), "EC"));
  char group[64] = {};
  std::size_t group_len = 0;
  ASSERT_EQ(
      EVP_PKEY_get_group_name(key_.get(), group, sizeof(group), &group_len), 1);
  EXPECT_EQ(std::string(group), "prime256v1");
  EXPECT_EQ(X509_get_signature_nid(cert_.get()), NID_ecdsa_with_SHA256);
  EVP_PKEY* pub = X509_get0_pubkey(cert_.get());
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(X509_verify(cert_.get(), pub), 1);
}

TEST_F(X509Test, Validity) {
  time_t now = std::time(nullptr);
  time_t in_59_min_ago = now - 59 * 60;
  time_t in_29_days = now + 29 * 86400;
  time_t in_31_days = now + 31 * 86400;
  // notBefore is about an hour ago (so a slightly slow client clock works).
  EXPECT_LT(X509_cmp_time(X509_get0_notBefore(cert_.get()), &in_59_min_ago), 0);
  time_t two_hours_ago = now - 7200;
  EXPECT_GT(X509_cmp_time(X509_get0_notBefore(cert_.get()), &two_hours_ago), 0);
  EXPECT_GT(X509_cmp_time(X509_get0_notAfter(cert_.get()), &in_29_days), 0);
  EXPECT_LT(X509_cmp_time(X509_get0_notAfter(cert_.get()), &in_31_days), 0);
}

TEST_F(X509Test, VerifiesAsItsOwnTrustAnchor) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(
      X509_STORE_new(), X509_STORE_free);
  ASSERT_EQ(X509_STORE_add_cert(store.get(), cert_.get()), 1);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(
      X509_STORE_CTX_new(), X509_STORE_CTX_free);
  ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), cert_.get(), nullptr),
            1);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set1_host(param, "localhost", 0);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

TEST(X509GenerationTest, SerialsAndKeysDiffer) {
  auto a = MakeSelfSignedLocalhostCertificate(1);
  auto b = MakeSelfSignedLocalhostCertificate(1);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_NE(a->private_key_pem, b->private_key_pem);
  X509Ptr ca = ParseCert(a->certificate_pem);
  X509Ptr cb = ParseCert(b->certificate_pem);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(cb, nullptr);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca.get()),
                             X509_get0_serialNumber(cb.get())),
            0);
  // Serial numbers are positive.
  EXPECT_EQ(X509_get0_serialNumber(ca.get())->type, V_ASN1_INTEGER);
  // The other pair's key does not match.
  PkeyPtr kb = ParseKey(b->private_key_pem);
  EXPECT_NE(X509_check_private_key(ca.get(), kb.get()), 1);
}

TEST(X509GenerationTest, RejectsBadValidity) {
  EXPECT_FALSE(MakeSelfSignedLocalhostCertificate(0).has_value());
  EXPECT_FALSE(MakeSelfSignedLocalhostCertificate(-5).has_value());
  EXPECT_EQ(MakeSelfSignedLocalhostCertificate(0).error().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace piivault::crypto
