// Rate limits through App::Handle: failed authentications per client
// address, plain permission_denied answers per identity (api/rate_limiter.h).
#include "app_fixture.h"

namespace piivault::api::testing {
namespace {

class AppRateLimitTest : public AppTest {
 protected:
  AppRateLimitTest()
      : AppTest({.failed_auth_per_minute = 1,
                 .failed_auth_burst = 2,
                 .denied_per_minute = 1,
                 .denied_burst = 2}) {}

  static void ExpectRateLimited(const HttpResponse& r) {
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_NE(r.body.find(R"("code":"rate_limited")"), std::string::npos)
        << r.body;
    EXPECT_EQ(r.Header("Retry-After"), "60");
  }
  static constexpr const char* kMissing =
      "/v1/tenants/acme/collections/"
      "people/records/rec_missing";
};

TEST_F(AppRateLimitTest, FailedLogOnsBlockTheAddressEvenForAValidKey) {
  EXPECT_EQ(Call("GET", "/v1/whoami", "pv.id_nobody.guess").status, 401);
  EXPECT_EQ(Call("GET", "/v1/whoami", "").status, 401);  // no key at all
  ExpectRateLimited(Call("GET", "/v1/whoami", "pv.id_nobody.guess"));
  // The key is not looked at, so a guess cannot tell a hit from a miss.
  ExpectRateLimited(Call("GET", "/v1/whoami", admin_key));

  source = "192.0.2.2";
  EXPECT_EQ(Call("GET", "/v1/whoami", admin_key).status, 200);
  source = "192.0.2.1";
  h.clock.now += std::chrono::seconds(60);
  EXPECT_EQ(Call("GET", "/v1/whoami", admin_key).status, 200);
}

TEST_F(AppRateLimitTest, ADeniedIdentityIsRefusedBeforeItRunsAndUnaudited) {
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(Data("GET", kMissing, app_key).status, 403) << i;
  uint64_t events = Events();
  ExpectRateLimited(Data("GET", kMissing, app_key));
  EXPECT_EQ(Events(), events);
  // Every request of the identity, not only the denied kind.
  ExpectRateLimited(Call("GET", "/v1/whoami", app_key));
  EXPECT_EQ(Events(), events);
  // Other identities, from the same address too, are not affected.
  EXPECT_EQ(Data("GET", kMissing, admin_key).status, 404);

  h.clock.now += std::chrono::seconds(60);
  events = Events();
  EXPECT_EQ(Data("GET", kMissing, app_key).status, 403);
  EXPECT_EQ(Events(), events + 1);
}

TEST_F(AppRateLimitTest, DenialsOfUnauditedRoutesCountToo) {
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(Call("GET", "/v1/identities", app_key).status, 403) << i;
  ExpectRateLimited(Call("GET", "/v1/identities", app_key));
}

// consent_required says something about a principal, not about the
// identity overreaching: a marketing run over many principals is normal.
TEST_F(AppRateLimitTest, ConsentRequiredDoesNotCount) {
  for (int i = 0; i < 5; ++i) {
    auto r = Call("GET", "/v1/tenants/acme/principals/nobody", admin_key, "",
                  "marketing");
    EXPECT_EQ(r.status, 403) << i;
    EXPECT_NE(r.body.find("consent_required"), std::string::npos) << r.body;
  }
}

}  // namespace
}  // namespace piivault::api::testing
