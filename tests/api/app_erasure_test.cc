// Principal erasure through App::Handle: a signed certificate anyone can
// check with the published key, the tenant's register, who may erase, and
// that nothing of the principal answers afterwards.
#include "app_fixture.h"
#include "base/encoding.h"
#include "crypto/signer.h"

namespace piivault::api {
namespace {

namespace json = boost::json;

class AppErasureTest : public testing::AppTest {
 protected:
  const std::string records = "/v1/tenants/acme/collections/people/records";
  const std::string principal = "/v1/tenants/acme/principals/Ann";

  void SetUp() override {
    AppTest::SetUp();
    for (const char* email : {"ann@example.org", "ann@work.example"}) {
      auto r = Data("POST", records, admin_key,
                    R"({"principal":"Ann","fields":{"email":")" +
                        std::string(email) + R"("}})");
      ASSERT_EQ(r.status, 201) << r.body;
      ids.push_back(Member(r, "id"));
    }
  }

  std::vector<std::string> ids;
};

TEST_F(AppErasureTest, ErasureAnswersWithACertificateAnyoneCanVerify) {
  auto erased = Data("DELETE", principal, admin_key);
  ASSERT_EQ(erased.status, 200) << erased.body;
  auto cert = json::parse(erased.body).at("certificate").as_object();
  EXPECT_EQ(cert.at("kind"), "principal_erasure");
  EXPECT_EQ(cert.at("tenant"), "acme");
  EXPECT_EQ(cert.at("records"), 2);
  EXPECT_EQ(Last().action, "principals.erase");
  EXPECT_EQ(Last().principal_pseudonym,
            std::string(cert.at("principal_pseudonym").as_string()));

  // Verify it as a customer would: the published key, the documented bytes.
  auto key = json::parse(Call("GET", "/v1/audit/public-key", admin_key).body);
  EXPECT_EQ(key.at("key_id"), cert.at("key_id"));
  auto public_key = Base64Decode(key.at("public_key").as_string());
  auto signature = Base64Decode(cert.at("signature").as_string());
  ASSERT_TRUE(public_key && signature);
  std::string signed_bytes = "piivault-erasure-certificate-v1\n";
  for (const char* member : {"id", "kind", "tenant", "principal_pseudonym",
                             "records", "completed_at"}) {
    const json::value& v = cert.at(member);
    signed_bytes += v.is_string() ? std::string(v.as_string())
                                  : std::to_string(v.as_int64());
    signed_bytes += '\n';
  }
  EXPECT_TRUE(crypto::Ed25519Verify(*public_key, signed_bytes, *signature));
  signed_bytes.replace(signed_bytes.find("\n2\n"), 3, "\n1\n");
  EXPECT_FALSE(crypto::Ed25519Verify(*public_key, signed_bytes, *signature));

  // Nothing answers for the principal any more.
  for (auto& id : ids)
    EXPECT_EQ(Data("GET", records + "/" + id, admin_key).status, 404);
  EXPECT_EQ(Data("GET", principal, admin_key).status, 404);
  EXPECT_EQ(Data("GET", principal + "/export", admin_key).status, 404);
  EXPECT_EQ(Call("GET", principal + "/consents", admin_key).status, 404);
  EXPECT_EQ(Data("DELETE", principal, admin_key).status, 404);

  // The register: the tenant's admins, operator admins and auditors.
  auto auditor = h.vault->identities.Create(vault::RequestContext(), "aud",
                                            vault::Role::kAuditor, "");
  ASSERT_TRUE(auditor.has_value());
  for (const std::string* key_of :
       {&admin_key, &operator_key, &auditor->api_key}) {
    auto list = Call("GET", "/v1/tenants/acme/certificates", *key_of);
    ASSERT_EQ(list.status, 200) << list.body;
    auto certs = json::parse(list.body).at("certificates").as_array();
    ASSERT_EQ(certs.size(), 1u);
    EXPECT_EQ(certs[0].as_object(), cert);
  }
  EXPECT_EQ(Call("GET", "/v1/tenants/acme/certificates", app_key).status, 403);
}

TEST_F(AppErasureTest, OnlyThoseWhoMayDeleteEverywhereErase) {
  auto before = testing::Dump(*h.eu_backend);
  // A tenant-app needs a delete rule for every collection; operators and
  // lockboxes never erase; a purpose is required.
  EXPECT_EQ(Data("DELETE", principal, app_key).status, 403);
  EXPECT_EQ(Data("DELETE", principal, operator_key).status, 403);
  EXPECT_EQ(Call("DELETE", principal, admin_key).status, 400);
  EXPECT_EQ(
      Data("DELETE", "/v1/tenants/acme/principals/Nobody", admin_key).status,
      404);
  // Under marketing, only with the principal's consent.
  EXPECT_EQ(Call("DELETE", principal, admin_key, "", "marketing").status, 403);
  EXPECT_EQ(testing::Dump(*h.eu_backend), before);

  SetAppRule(R"(["delete"])", "");
  auto erased = Data("DELETE", principal, app_key);
  EXPECT_EQ(erased.status, 200) << erased.body;
}

}  // namespace
}  // namespace piivault::api
