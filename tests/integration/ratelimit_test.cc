// Rate limits from outside ([limits] in the config): failed authentications
// per client address, and denied requests per identity, which keeps one
// tenant's identity from flooding another tenant's audit log.
#include "harness.h"

namespace it {
namespace {

constexpr int kFailedAuthBurst = 4;
constexpr int kDeniedBurst = 5;

class RateLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.init_ok());
    // Low budgets that refill slowly (one unit a minute), so nothing comes
    // back while a test runs.
    server_.SetLimits("failed_auth_per_minute = 1\nfailed_auth_burst = " +
                      std::to_string(kFailedAuthBurst) +
                      "\ndenied_per_minute = 1\ndenied_burst = " +
                      std::to_string(kDeniedBurst) + "\n");
    ASSERT_TRUE(server_.Start());
  }
  void TearDown() override {
    if (server_.running()) {
      EXPECT_EQ(server_.Stop(), 0) << server_.Log();
    }
  }

  static ::testing::AssertionResult IsRateLimited(const HttpResponse& r) {
    auto error = IsError(r, 429, "rate_limited");
    if (!error) return error;
    int retry = std::atoi(r.Header("retry-after").c_str());
    if (retry < 1 || retry > 60)
      return ::testing::AssertionFailure()
             << "Retry-After is '" << r.Header("retry-after") << "'";
    return ::testing::AssertionSuccess();
  }

  ServerProcess server_;
};

TEST_F(RateLimitTest, FailedAuthenticationsFromOneAddressGet429) {
  Tenant t = SetUpTenant(server_, "acme");
  for (int i = 0; i < kFailedAuthBurst; ++i) {
    auto r = i == 0 ? server_.Call("GET", "/v1/whoami")
                    : server_.Call("GET", "/v1/whoami",
                                   Auth("pv.id_guess" + std::to_string(i) +
                                        ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    EXPECT_TRUE(IsError(r, 401, "unauthenticated")) << i;
  }
  EXPECT_TRUE(IsRateLimited(
      server_.Call("GET", "/v1/whoami", Auth("pv.id_guess.AAAA"))));
  // Once limited, the address is not asked for its key, so guessing cannot
  // go on by telling a hit from a miss: a valid key is refused as well.
  EXPECT_TRUE(IsRateLimited(
      server_.Call("GET", "/v1/whoami", Auth(server_.admin_key()))));
  EXPECT_TRUE(IsRateLimited(server_.Call("GET", t.Base(), Auth(t.admin_key))));
  EXPECT_EQ(server_.Call("GET", "/healthz").status, 200);

  // Counted like any other answer: in the metrics and the access log.
  auto metrics = server_.Call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(R"(route="whoami",code="4xx"} 6)"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(server_.Log().find(R"("status":429)"), std::string::npos);
}

TEST_F(RateLimitTest, AnotherTenantsDenialsCannotFloodTheAuditLog) {
  Tenant a = SetUpTenant(server_, "acme");
  Tenant b = SetUpTenant(server_, "globex");
  auto rec = PostRecord(server_, a, "Ann", {{"email", "ann@example.org"}});
  ASSERT_EQ(rec.status, 201) << rec.Describe();
  const std::string record = a.Record(Str(rec.Json(), "id"));
  auto app =
      server_.Call("POST", b.Base() + "/identities", Auth(b.admin_key),
                   json::object{{"name", "intruder"}, {"role", "tenant-app"}});
  ASSERT_EQ(app.status, 201) << app.Describe();
  const std::string intruder = Str(app.Json(), "id");
  const std::string intruder_key = Str(app.Json(), "api_key");

  constexpr int kAttempts = 3 * kDeniedBurst;
  int denied = 0, limited = 0;
  for (int i = 0; i < kAttempts; ++i) {
    auto r = server_.Call("GET", record, Data(intruder_key));
    if (r.status == 403) {
      EXPECT_TRUE(IsError(r, 403, "permission_denied"));
      ++denied;
    } else {
      EXPECT_TRUE(IsRateLimited(r)) << i;
      ++limited;
    }
  }
  EXPECT_EQ(denied, kDeniedBurst);
  EXPECT_EQ(limited, kAttempts - kDeniedBurst);

  // acme's log holds the budgeted denials of the intruder and no more.
  auto events = server_.Call("GET", a.Base() + "/audit/events?limit=1000",
                             Auth(a.admin_key));
  ASSERT_EQ(events.status, 200) << events.Describe();
  int logged = 0;
  for (auto& e : Array(events.Json(), "events")) {
    if (Str(e, "actor") != intruder) continue;
    EXPECT_EQ(Str(e, "outcome"), "denied");
    ++logged;
  }
  EXPECT_EQ(logged, kDeniedBurst);

  // acme's own requests, and globex's other identities, are unaffected.
  auto own = server_.Call("GET", record, Data(a.admin_key));
  EXPECT_EQ(own.status, 200) << own.Describe();
  EXPECT_EQ(server_.Call("GET", b.Base(), Auth(b.admin_key)).status, 200);
}

}  // namespace
}  // namespace it
