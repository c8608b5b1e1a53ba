// Operator access to tenant data through the lockbox, driven through
// App::Handle: nothing without an approved, unexpired request of one's own;
// reads only, in scope, never for marketing or advertising; every access in
// the tenant's audit log with the lockbox id; denial and expiry at once.
#include "app_fixture.h"
#include "vault/storage_keys.h"

namespace piivault::api {
namespace {

namespace json = boost::json;

class AppLockboxTest : public testing::AppTest {
 protected:
  const std::string base = "/v1/tenants/acme/lockbox-requests";
  static constexpr const char* kWholeTenant = R"({"collections":["*"]})";
  const std::string records = "/v1/tenants/acme/collections/people/records";

  void SetUp() override {
    AppTest::SetUp();
    ann_record = CreatePerson(
        "Ann", R"({"email":"ann@example.org","ssn":"219-09-9999"})");
    bob_record = CreatePerson("Bob", R"({"email":"bob@example.org"})");
    ASSERT_NO_FATAL_FAILURE(PutOrders());
  }

  // An operator request with `scope` JSON, created and optionally approved.
  std::string Request(const std::string& scope, bool approve,
                      const std::string& duration = "PT2H") {
    auto r = Call("POST", base, operator_key,
                  R"({"reason":"ticket 4711: customer reports missing data",)"
                  R"("scope":)" +
                      scope + R"(,"duration":")" + duration + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(Member(r, "state"), "pending");
    std::string id = Member(r, "id");
    if (approve) {
      auto a = Call("POST", base + "/" + id + "/approve", admin_key);
      EXPECT_EQ(a.status, 200) << a.body;
      EXPECT_EQ(Member(a, "state"), "approved");
    }
    return id;
  }

  // A data-plane request by the operator under lockbox `id`.
  HttpResponse AsOperator(const std::string& method, const std::string& path,
                          const std::string& id, std::string body = "",
                          std::string purpose = "service_delivery") {
    HttpRequest req;
    req.method = method;
    auto q = path.find('?');
    req.path = path.substr(0, q);
    req.headers.emplace_back("authorization", "Bearer " + operator_key);
    req.headers.emplace_back("x-purpose", purpose);
    if (!id.empty()) req.headers.emplace_back("x-lockbox-request", id);
    req.body = std::move(body);
    return app.Handle(req);
  }

  // 403 permission_denied, with a message saying the lockbox is why.
  static bool RefusedForLockbox(const HttpResponse& r) {
    if (r.status != 403) return false;
    auto error = json::parse(r.body).at("error");
    return error.at("code").as_string() == "permission_denied" &&
           std::string_view(error.at("message").as_string()).find("lockbox") !=
               std::string_view::npos;
  }

  std::string ann_record, bob_record;
};

TEST_F(AppLockboxTest, OperatorsSeeNothingWithoutAnApprovedLockbox) {
  std::string pending = Request(kWholeTenant, false);
  for (const std::string& id :
       {std::string(), std::string("lbx_nope"), pending}) {
    SCOPED_TRACE("lockbox '" + id + "'");
    for (auto [method, path, body] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"GET", records + "/" + ann_record, ""},
             {"GET", "/v1/tenants/acme/principals/Ann", ""},
             {"POST", "/v1/tenants/acme/collections/people/search",
              R"({"match":{"email":"ann@example.org"}})"},
             {"POST", records,
              R"({"principal":"Eve","fields":{"email":"e@example.org"}})"},
             {"DELETE", records + "/" + ann_record, ""}}) {
      auto r = AsOperator(method, path, id, body);
      EXPECT_TRUE(RefusedForLockbox(r))
          << method << " " << path << " " << r.body;
      EXPECT_EQ(r.body.find("ann@example.org"), std::string::npos);
    }
  }
}

TEST_F(AppLockboxTest, ApprovedRequestsReadInScopeOnlyAndAreAudited) {
  std::string id =
      Request(R"({"collections":["people"],"principals":["Ann"]})", true);
  auto got = AsOperator("GET", records + "/" + ann_record, id);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_NE(got.body.find("ann@example.org"), std::string::npos);
  EXPECT_EQ(AsOperator("GET", "/v1/tenants/acme/principals/Ann", id).status,
            200);
  auto found = AsOperator("POST", "/v1/tenants/acme/collections/people/search",
                          id, R"({"match":{"email":"bob@example.org"}})");
  ASSERT_EQ(found.status, 200);
  EXPECT_EQ(found.body.find("bob@example.org"), std::string::npos)
      << "Bob is out of scope: " << found.body;

  struct Refusal {
    std::string method, path, body, purpose;
  };
  for (const Refusal& r : std::vector<Refusal>{
           {"GET", records + "/" + bob_record, "", "service_delivery"},
           {"GET", "/v1/tenants/acme/principals/Bob", "", "service_delivery"},
           {"GET", "/v1/tenants/acme/collections/orders/records/rec_x", "",
            "service_delivery"},
           {"GET", records + "/" + ann_record, "", "marketing"},
           {"GET", records + "/" + ann_record, "", "advertising"},
           {"PATCH", records + "/" + ann_record,
            R"({"fields":{"email":"x@example.org"}})", "service_delivery"},
           {"DELETE", records + "/" + ann_record, "", "service_delivery"},
           {"POST", "/v1/tenants/acme/tokenize",
            R"({"collection":"people","record":")" + ann_record +
                R"(","fields":["ssn"]})",
            "service_delivery"}}) {
    auto resp = AsOperator(r.method, r.path, id, r.body, r.purpose);
    EXPECT_TRUE(RefusedForLockbox(resp))
        << r.method << " " << r.path << " " << r.purpose << " " << resp.body;
  }
  // Another operator cannot borrow the request.
  auto other = h.vault->identities.Create(vault::RequestContext(), "op2",
                                          vault::Role::kOperatorSecurity, "");
  ASSERT_TRUE(other.has_value());
  HttpRequest req;
  req.method = "GET";
  req.path = records + "/" + ann_record;
  req.headers = {{"authorization", "Bearer " + other->api_key},
                 {"x-purpose", "service_delivery"},
                 {"x-lockbox-request", id}};
  EXPECT_EQ(app.Handle(req).status, 403);

  // Every access is in the tenant's log, with the lockbox id.
  auto events = audit.Read("t/acme", 0, 1000);
  ASSERT_TRUE(events.has_value());
  int with_lockbox = 0;
  for (auto& e : *events)
    if (e.lockbox == id) {
      ++with_lockbox;
      EXPECT_FALSE(e.actor.empty());
    }
  // Three reads served, eight refused, and the other operator's attempt.
  EXPECT_EQ(with_lockbox, 3 + 8 + 1);
}

TEST_F(AppLockboxTest, DenialAndExpiryTakeEffectAtOnce) {
  std::string id = Request(kWholeTenant, true, "PT30M");
  ASSERT_EQ(AsOperator("GET", records + "/" + ann_record, id).status, 200);
  h.clock.now += std::chrono::minutes(31);
  auto expired = AsOperator("GET", records + "/" + ann_record, id);
  EXPECT_TRUE(RefusedForLockbox(expired)) << expired.body;

  h.clock.now += std::chrono::seconds(1);
  std::string revoked = Request(kWholeTenant, true);
  ASSERT_EQ(AsOperator("GET", records + "/" + ann_record, revoked).status, 200);
  ASSERT_EQ(Call("POST", base + "/" + revoked + "/deny", admin_key).status,
            200);
  EXPECT_EQ(AsOperator("GET", records + "/" + ann_record, revoked).status, 403);

  // A request left pending past the decision window cannot be approved.
  h.clock.now += std::chrono::seconds(1);
  std::string stale = Request(kWholeTenant, false);
  h.clock.now += std::chrono::hours(25);
  auto late = Call("POST", base + "/" + stale + "/approve", admin_key);
  EXPECT_EQ(late.status, 409) << late.body;

  // The tenant-admin sees every request ever made, in order, with its state.
  auto list = Call("GET", base, admin_key);
  ASSERT_EQ(list.status, 200) << list.body;
  auto all = json::parse(list.body).at("lockbox_requests").as_array();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].at("id"), json::value(id));
  EXPECT_EQ(all[0].at("state"), "expired");
  EXPECT_EQ(all[1].at("state"), "denied");
  EXPECT_EQ(all[2].at("state"), "expired");
  EXPECT_EQ(all[0].at("reason"), "ticket 4711: customer reports missing data");
}

TEST_F(AppLockboxTest, OnlyATenantAdminOfTheTenantDecides) {
  std::string id = Request(kWholeTenant, false);
  const std::string other_admin_key = OtherTenantAdminKey();
  for (const std::string* key : {&app_key, &operator_key})
    EXPECT_EQ(Call("POST", base + "/" + id + "/approve", *key).status, 403);
  EXPECT_EQ(Call("POST", base + "/" + id + "/approve", other_admin_key).status,
            403);
  EXPECT_EQ(Member(Call("GET", base + "/" + id, admin_key), "state"),
            "pending");
  ASSERT_EQ(Call("POST", base + "/" + id + "/approve", admin_key).status, 200);
  EXPECT_EQ(Call("POST", base + "/" + id + "/approve", admin_key).status, 409);
  EXPECT_EQ(Call("POST", base + "/lbx_unknown/approve", admin_key).status, 404);
}

TEST_F(AppLockboxTest, BadRequestsAreRefusedAndChangeNothing) {
  for (
      std::string body :
      {R"({"reason":"","duration":"PT1H"})",
       R"({"reason":"x","duration":"P2D"})",
       R"({"reason":"x","duration":"PT30S"})",
       R"({"reason":"x","duration":"soon"})",
       R"({"reason":"x","duration":"PT1H","scope":{"collections":["nope"]}})",
       R"({"reason":"x","duration":"PT1H","scope":{"tables":["people"]}})",
       R"({"reason":"x","duration":"PT1H","scope":{"collections":["*","people"]}})",
       R"({"reason":"x","duration":"PT1H","scope":{"collections":["people"],"principals":["*","Ann"]}})",
       R"({"reason":"x"})"}) {
    auto r = Call("POST", base, operator_key, body);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
  }
  // A scope must name what it grants: nothing named is not "everything".
  for (
      std::string body :
      {R"({"reason":"x","duration":"PT1H"})",
       R"({"reason":"x","duration":"PT1H","scope":null})",
       R"({"reason":"x","duration":"PT1H","scope":{}})",
       R"({"reason":"x","duration":"PT1H","scope":{"collections":[]}})",
       R"({"reason":"x","duration":"PT1H","scope":{"principals":[]}})",
       R"({"reason":"x","duration":"PT1H","scope":{"collections":[],"principals":[]}})"}) {
    auto r = Call("POST", base, operator_key, body);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
    EXPECT_EQ(json::parse(r.body).at("error").at("code"), "invalid_argument")
        << body << " " << r.body;
  }
  // Not for tenant identities or auditors.
  EXPECT_EQ(
      Call("POST", base, admin_key,
           R"({"reason":"x","duration":"PT1H","scope":{"collections":["*"]}})")
          .status,
      403);
  auto list = Call("GET", base, admin_key);
  EXPECT_EQ(json::parse(list.body).at("lockbox_requests").as_array().size(),
            0u);
}

// What the tenant-admin reads before approving is what is granted: the
// scope comes back with both lists spelled out.
TEST_F(AppLockboxTest, TheScopeAnAdminApprovesIsExplicit) {
  auto scope_of = [&](const std::string& scope) {
    auto r = Call(
        "POST", base, operator_key,
        R"({"reason":"ticket 1","duration":"PT1H","scope":)" + scope + "}");
    EXPECT_EQ(r.status, 201) << scope << " " << r.body;
    auto shown = Call("GET", base + "/" + Member(r, "id"), admin_key);
    EXPECT_EQ(shown.status, 200) << shown.body;
    return json::serialize(json::parse(shown.body).at("scope"));
  };
  EXPECT_EQ(scope_of(R"({"collections":["*"]})"),
            R"({"collections":["*"],"principals":["*"]})");
  EXPECT_EQ(scope_of(R"({"collections":["people"],"principals":["*"]})"),
            R"({"collections":["people"],"principals":["*"]})");
  EXPECT_EQ(scope_of(R"({"principals":["Ann"]})"),
            R"({"collections":["*"],"principals":["Ann"]})");
}

// A request stored while an empty list meant "everything" now covers
// nothing: it fails closed (docs/operations/access.md).
TEST_F(AppLockboxTest, AStoredScopeWithEmptyListsCoversNothing) {
  std::string id = Request(kWholeTenant, true);
  ASSERT_EQ(AsOperator("GET", records + "/" + ann_record, id).status, 200);
  std::string key = vault::keys::Lockbox("acme", id);
  auto doc = h.vault->control.Get(vault::RequestContext(), key);
  ASSERT_TRUE(doc.has_value() && doc->has_value());
  json::object legacy = (*doc)->as_object();
  legacy["collections"] = json::array{};
  legacy["principals"] = json::array{};
  storage::WriteBatch batch;
  h.vault->control.Put(batch, key, legacy);
  ASSERT_TRUE(h.vault->control.Write(vault::RequestContext(), batch).ok());

  for (auto [method, path, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", records + "/" + ann_record, ""},
           {"GET", "/v1/tenants/acme/principals/Ann", ""},
           {"POST", "/v1/tenants/acme/collections/people/search",
            R"({"match":{"email":"ann@example.org"}})"}}) {
    auto r = AsOperator(method, path, id, body);
    EXPECT_EQ(r.status, 403) << method << " " << path << r.body;
    EXPECT_EQ(Error(r).first, "permission_denied") << r.body;
    EXPECT_EQ(r.body.find("ann@example.org"), std::string::npos);
  }
}

}  // namespace
}  // namespace piivault::api
