// The optional "id" of record creation (POST …/records): an import keeps the
// record ids of the tenant's export, so the customer's references survive.
// Only ids of the shape the vault issues are accepted, and only while free
// in every region of the tenant.
#include "app_fixture.h"
#include "crypto/random.h"
#include "vault/records.h"

namespace piivault::api {
namespace {

namespace json = boost::json;

class AppRecordIdTest : public testing::AppTest {
 protected:
  const std::string records = "/v1/tenants/acme/collections/people/records";

  HttpResponse Create(const std::string& principal, const std::string& id,
                      const std::string& region = "eu") {
    return Data("POST", records, admin_key,
                R"({"principal":")" + principal + R"(","region":")" + region +
                    R"(","id":")" + id +
                    R"(","fields":{"email":"ann@example.org"}})");
  }
  static std::string Code(const HttpResponse& r) {
    auto v = json::parse(r.body);
    return std::string(v.at("error").at("code").as_string());
  }
};

TEST_F(AppRecordIdTest, ARecordKeepsTheIdItWasCreatedWith) {
  const std::string id = crypto::RandomId("rec_");
  auto created = Create("p-1", id);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Member(created, "id"), id);
  auto read = Data("GET", records + "/" + id, admin_key);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(Member(read, "principal"), "p-1");
  // Without an id, the vault still picks one.
  auto fresh =
      Data("POST", records, admin_key,
           R"({"principal":"p-1","fields":{"email":"b@example.org"}})");
  ASSERT_EQ(fresh.status, 201) << fresh.body;
  EXPECT_NE(Member(fresh, "id"), id);
  EXPECT_TRUE(vault::IsRecordIdShape(Member(fresh, "id")));
}

TEST_F(AppRecordIdTest, AnIdTakenInAnyRegionIsAlreadyExists) {
  const std::string id = crypto::RandomId("rec_");
  ASSERT_EQ(Create("p-us", id, "us").status, 201);
  // The same principal, and another one living in another region.
  auto again = Create("p-us", id, "us");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(Code(again), "already_exists");
  auto elsewhere = Create("p-eu", id, "eu");
  EXPECT_EQ(elsewhere.status, 409) << elsewhere.body;
  EXPECT_EQ(Code(elsewhere), "already_exists");
  // Nothing was placed for the refused principal.
  EXPECT_EQ(Data("GET", "/v1/tenants/acme/principals/p-eu", admin_key).status,
            404);
  // The record is still the first one.
  auto read = Data("GET", records + "/" + id, admin_key);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(Member(read, "principal"), "p-us");
  EXPECT_EQ(Member(read, "region"), "us");
}

TEST_F(AppRecordIdTest, AnIdNotOfTheVaultsShapeIsRefused) {
  const std::string good = crypto::RandomId("rec_");
  std::string upper = good;
  upper[5] = 'A';
  std::string padding = good;
  padding.back() = 'b';  // the last character's two padding bits set
  std::string alphabet = good;
  alphabet[6] = '1';  // not in the base32 alphabet
  for (const std::string& bad :
       {std::string("rec_short"), good + "a", "tok_" + good.substr(4), upper,
        padding, alphabet, std::string("")}) {
    auto r = Create("p-1", bad);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
    EXPECT_EQ(Code(r), "validation_failed") << bad;
    EXPECT_EQ(json::parse(r.body).at("error").at("field"), "id") << bad;
  }
  auto not_string =
      Data("POST", records, admin_key,
           R"({"principal":"p-1","id":7,"fields":{"email":"a@example.org"}})");
  EXPECT_EQ(not_string.status, 400) << not_string.body;
  EXPECT_EQ(Data("GET", "/v1/tenants/acme/principals/p-1", admin_key).status,
            404);
}

}  // namespace
}  // namespace piivault::api
