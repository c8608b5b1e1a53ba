// The error contract: every refusal has the documented status, code and
// exactly the {"error":{"code","message"}} shape, and changes nothing.
#include "harness.h"

namespace it {
namespace {

class ErrorContract : public ServerTest {
 protected:
  void SetUp() override {
    // BadApiKeysAre401 sends ~30 bad keys from one address, more than the
    // default failed-authentication budget; the limits have their own tests
    // (ratelimit_test.cc).
    server_.SetLimits("failed_auth_burst = 1000\n");
    ServerTest::SetUp();
    if (HasFatalFailure()) return;
    t_ = SetUpTenant(server_, "acme");
    ASSERT_FALSE(t_.admin_key.empty());
    auto r = PostRecord(
        server_, t_, "err-p1",
        json::object{{"email", "err.one@example.org"}, {"ssn", "219-09-9999"}});
    ASSERT_EQ(r.status, 201) << r.Describe();
    rid_ = Str(r.Json(), "id");
  }

  HttpResponse Post(const std::string& path, const Headers& h,
                    std::string_view body) {
    return server_.Call("POST", path, h, body);
  }

  Tenant t_;
  std::string rid_;
};

TEST_F(ErrorContract, MalformedJsonIsInvalidJson) {
  const std::string admin = server_.admin_key();
  for (std::string_view body :
       {R"({"id": "x")", "{", "", "not json", R"({"id":"a",})", "\xff\xfe"}) {
    SCOPED_TRACE(std::string(body));
    EXPECT_TRUE(
        IsError(Post("/v1/tenants", Auth(admin), body), 400, "invalid_json"));
    EXPECT_TRUE(IsError(Post(t_.Records(), Data(t_.admin_key), body), 400,
                        "invalid_json"));
    EXPECT_TRUE(IsError(Post(t_.Search(), Data(t_.admin_key), body), 400,
                        "invalid_json"));
  }
  EXPECT_TRUE(IsError(server_.Call("PUT", t_.Base() + "/collections/c2",
                                   Auth(t_.admin_key), "{\"fields\":[}"),
                      400, "invalid_json"));
}

TEST_F(ErrorContract, WrongShapeIsInvalidArgument) {
  const std::string admin = server_.admin_key();
  struct Case {
    std::string path;
    Headers headers;
    std::string body;
  };
  std::vector<Case> cases = {
      {"/v1/tenants", Auth(admin), "[1,2]"},
      {"/v1/tenants", Auth(admin), "\"acme2\""},
      {"/v1/tenants", Auth(admin), "42"},
      {"/v1/tenants", Auth(admin), R"({"id":5})"},
      {"/v1/tenants", Auth(admin), R"({"id":"t2","regions":"eu"})"},
      {"/v1/tenants", Auth(admin), R"({"id":"t2","bogus":1})"},
      {"/v1/identities", Auth(admin), R"({"name":["x"],"role":"auditor"})"},
      {t_.Records(), Data(t_.admin_key), "[]"},
      {t_.Records(), Data(t_.admin_key),
       R"({"principal":"p","fields":["email"]})"},
      {t_.Records(), Data(t_.admin_key),
       R"({"principal":7,"fields":{"email":"a@example.org"}})"},
      {t_.Records(), Data(t_.admin_key),
       R"({"principal":"p","region":1,"fields":{}})"},
      {t_.Search(), Data(t_.admin_key), R"({"match":"email"})"},
      {t_.Base() + "/tokenize", Data(t_.admin_key),
       R"({"collection":"people","record":1,"fields":["ssn"]})"},
      {t_.Base() + "/detokenize", Data(t_.admin_key), R"({"tokens":"tok_x"})"},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.path + " " + c.body);
    EXPECT_TRUE(
        IsError(Post(c.path, c.headers, c.body), 400, "invalid_argument"));
  }
  // A non-searchable field cannot be searched.
  EXPECT_TRUE(IsError(Post(t_.Search(), Data(t_.admin_key),
                           R"({"match":{"ssn":"219-09-9999"}})"),
                      400, "invalid_argument"));
  // None of these created a tenant.
  EXPECT_TRUE(IsError(server_.Call("GET", "/v1/tenants/t2", Auth(admin)), 404,
                      "not_found"));
}

TEST_F(ErrorContract, CollectionSchemaRejectsUnknownMemberAndType) {
  auto put = [&](const std::string& body) {
    return server_.Call("PUT", t_.Base() + "/collections/c2",
                        Auth(t_.admin_key), body);
  };
  auto unknown_member =
      put(R"({"fields":[{"name":"a","type":"string","encrypted":false}]})");
  EXPECT_TRUE(IsError(unknown_member, 400, "invalid_argument"));
  // An unknown type is a 400; the contract leaves the code open between
  // invalid_argument and validation_failed (which names the member).
  auto unknown_type = put(R"({"fields":[{"name":"a","type":"blob"}]})");
  const std::string code = Str(Member(unknown_type.Json(), "error"), "code");
  EXPECT_TRUE(code == "invalid_argument" || code == "validation_failed")
      << unknown_type.Describe();
  EXPECT_TRUE(IsError(unknown_type, 400, code));
  EXPECT_TRUE(IsError(put(R"({"fields":[{"name":"a","type":"string"}],)"
                          R"("owner":"me"})"),
                      400, "invalid_argument"));
  EXPECT_TRUE(IsError(put(R"({"fields":[{"name":"a","type":"string",)"
                          R"("searchable":"yes"}]})"),
                      400, "invalid_argument"));
  EXPECT_TRUE(
      IsError(put(R"({"fields":{"name":"a"}})"), 400, "invalid_argument"));
  // Nothing was created.
  EXPECT_TRUE(IsError(
      server_.Call("GET", t_.Base() + "/collections/c2", Auth(t_.admin_key)),
      404, "not_found"));
}

TEST_F(ErrorContract, OversizedBodyIs413) {
  std::string note(1536 * 1024, 'a');
  std::string body = R"({"principal":"big","fields":{"note":")" + note + "\"}}";
  std::string head = "POST " + t_.Records() +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Authorization: Bearer " +
                     t_.admin_key +
                     "\r\nX-Purpose: service_delivery\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n";
  HttpConnection conn(server_.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.SendRaw(head));
  // The server may refuse on the Content-Length alone; if it waits for the
  // body, send it (a write error just means it answered and closed).
  if (!conn.WaitReadable(std::chrono::milliseconds(200))) conn.SendRaw(body);
  EXPECT_TRUE(IsError(conn.ReadResponse(), 413, "payload_too_large"));

  // Just over the limit, with the body sent in full.
  std::string over(1024 * 1024 + 1, ' ');
  over.front() = '{';
  over.back() = '}';
  auto r = Post(t_.Records(), Data(t_.admin_key), over);
  EXPECT_TRUE(IsError(r, 413, "payload_too_large"));
  // Nothing was stored, and the server still serves.
  auto view =
      server_.Call("GET", t_.Base() + "/principals/big", Data(t_.admin_key));
  EXPECT_TRUE(IsError(view, 404, "not_found"));
  // At the limit a body is read (and then judged on its content).
  std::string at(1024 * 1024, ' ');
  at.front() = '{';
  at.back() = '}';
  auto ok = Post(t_.Records(), Data(t_.admin_key), at);
  EXPECT_TRUE(IsError(ok, 400, "invalid_argument"));
}

TEST_F(ErrorContract, UnknownResourcesAre404) {
  const std::string admin = server_.admin_key();
  EXPECT_TRUE(IsError(server_.Call("GET", "/v1/tenants/nosuch", Auth(admin)),
                      404, "not_found"));
  EXPECT_TRUE(IsError(
      server_.Call("POST", "/v1/tenants/nosuch/identities", Auth(admin),
                   json::object{{"name", "x"}, {"role", "tenant-admin"}}),
      404, "not_found"));
  EXPECT_TRUE(IsError(server_.Call("GET", t_.Base() + "/collections/nosuch",
                                   Auth(t_.admin_key)),
                      404, "not_found"));
  const std::string nosuch_coll = t_.Base() + "/collections/nosuch/records";
  EXPECT_TRUE(IsError(
      server_.Call(
          "POST", nosuch_coll, Data(t_.admin_key),
          json::object{{"principal", "p"},
                       {"fields", json::object{{"email", "a@example.org"}}}}),
      404, "not_found"));
  EXPECT_TRUE(
      IsError(server_.Call("GET", nosuch_coll + "/" + rid_, Data(t_.admin_key)),
              404, "not_found"));
  // A well-formed record id that does not exist, and a malformed one.
  std::string missing = rid_;
  missing.back() = missing.back() == 'a' ? 'b' : 'a';
  EXPECT_TRUE(
      IsError(server_.Call("GET", t_.Record(missing), Data(t_.admin_key)), 404,
              "not_found"));
  EXPECT_TRUE(
      IsError(server_.Call("GET", t_.Record("rec_nope"), Data(t_.admin_key)),
              404, "not_found"));
  EXPECT_TRUE(IsError(
      server_.Call("GET", t_.Base() + "/principals/nobody", Data(t_.admin_key)),
      404, "not_found"));
  EXPECT_TRUE(
      IsError(server_.Call("POST", t_.Base() + "/tokenize", Data(t_.admin_key),
                           json::object{{"collection", "people"},
                                        {"record", missing},
                                        {"fields", json::array{"ssn"}}}),
              404, "not_found"));
  // Unknown endpoints.
  EXPECT_TRUE(IsError(server_.Call("GET", "/v1/nothing-here", Auth(admin)), 404,
                      "not_found"));
  EXPECT_TRUE(IsError(server_.Call("GET", "/", {}), 404, "not_found"));
}

TEST_F(ErrorContract, DuplicatesAre409) {
  EXPECT_TRUE(
      IsError(server_.Call("POST", "/v1/tenants", Auth(server_.admin_key()),
                           json::object{{"id", "acme"}}),
              409, "already_exists"));
  auto again = server_.Call("PUT", t_.Base() + "/collections/people",
                            Auth(t_.admin_key), EveryTypeSchema());
  EXPECT_EQ(again.status, 200) << again.Describe();  // replaced, not created
}

TEST_F(ErrorContract, InvalidTokensAre400) {
  auto tok = server_.Call("POST", t_.Base() + "/tokenize", Data(t_.admin_key),
                          json::object{{"collection", "people"},
                                       {"record", rid_},
                                       {"fields", json::array{"ssn"}}});
  ASSERT_EQ(tok.status, 200) << tok.Describe();
  std::string good = Str(Member(tok.Json(), "tokens"), "ssn");
  ASSERT_GT(good.size(), 10u);
  std::string tampered = good;
  tampered[tampered.size() / 2] =
      tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {std::string("tok_"), std::string("tok_AAAAAAAAAAAAAAAAAAAAAAAA"),
        std::string("garbage"), std::string("tok_!!!***"), tampered,
        "tok_" + std::string(600, 'A'), good.substr(4)}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(IsError(
        server_.Call("POST", t_.Base() + "/detokenize", Data(t_.admin_key),
                     json::object{{"tokens", json::array{bad}}}),
        400, "invalid_argument"));
    // One bad token in a batch fails the batch.
    EXPECT_TRUE(IsError(
        server_.Call("POST", t_.Base() + "/detokenize", Data(t_.admin_key),
                     json::object{{"tokens", json::array{good, bad}}}),
        400, "invalid_argument"));
  }
  EXPECT_TRUE(IsError(
      server_.Call("POST", t_.Base() + "/detokenize", Data(t_.admin_key),
                   json::object{{"tokens", json::array{}}}),
      400, "invalid_argument"));
}

TEST_F(ErrorContract, BadApiKeysAre401) {
  const std::string admin = server_.admin_key();
  std::string forged = admin;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  std::string other_id = admin;
  auto dot = other_id.rfind('.');
  ASSERT_NE(dot, std::string::npos) << "unexpected key format";
  other_id[dot - 1] = other_id[dot - 1] == 'a' ? 'b' : 'a';
  std::vector<Headers> bad = {
      {},
      {{"Authorization", ""}},
      {{"Authorization", "Bearer"}},
      {{"Authorization", "Bearer "}},
      {{"Authorization", "Bearer garbage"}},
      {{"Authorization", "Bearer " + forged}},
      {{"Authorization", "Bearer " + other_id}},
      {{"Authorization", "Bearer " + admin + "x"}},
      {{"Authorization", "Basic " + admin}},
      {{"Authorization", "bearer" + admin}},
      {{"Authorization", "Bearer " + std::string(4000, 'k')}},
  };
  for (auto& h : bad) {
    SCOPED_TRACE(h.empty() ? "(none)" : h[0].second.substr(0, 40));
    auto r = server_.Call("GET", "/v1/whoami", h);
    EXPECT_TRUE(IsError(r, 401, "unauthenticated"));
    EXPECT_FALSE(r.body.find(admin.substr(0, 12)) != std::string::npos &&
                 admin.size() > 12)
        << "error echoes the key";
    Headers data = h;
    data.emplace_back("X-Purpose", "service_delivery");
    EXPECT_TRUE(IsError(server_.Call("GET", t_.Record(rid_), data), 401,
                        "unauthenticated"));
    EXPECT_TRUE(IsError(
        server_.Call("POST", "/v1/tenants", h, json::object{{"id", "evil"}}),
        401, "unauthenticated"));
  }
  EXPECT_TRUE(IsError(server_.Call("GET", "/v1/tenants/evil", Auth(admin)), 404,
                      "not_found"));
  EXPECT_EQ(server_.Call("GET", "/v1/whoami", Auth(admin)).status, 200);
}

TEST_F(ErrorContract, PurposeRules) {
  const std::string path = t_.Record(rid_);
  auto get = [&](const std::string& purpose) {
    return server_.Call("GET", path, Auth(t_.admin_key, purpose));
  };
  EXPECT_TRUE(IsError(get(""), 400, "purpose_required"));
  EXPECT_TRUE(IsError(
      server_.Call(
          "POST", t_.Records(), Auth(t_.admin_key),
          json::object{{"principal", "purp-1"},
                       {"fields", json::object{{"email", "p@example.org"}}}}),
      400, "purpose_required"));
  EXPECT_TRUE(IsError(
      server_.Call(
          "POST", t_.Search(), Auth(t_.admin_key),
          json::object{{"match", json::object{{"email", "p@example.org"}}}}),
      400, "purpose_required"));
  EXPECT_TRUE(IsError(
      server_.Call("GET", t_.Base() + "/principals/err-p1", Auth(t_.admin_key)),
      400, "purpose_required"));
  EXPECT_TRUE(IsError(get("no_such_purpose"), 400, "unknown_purpose"));
  EXPECT_TRUE(IsError(get("Service_Delivery"), 400, "unknown_purpose"));
  EXPECT_TRUE(IsError(get("marketing"), 403, "consent_required"));
  EXPECT_TRUE(IsError(get("advertising"), 403, "consent_required"));
  EXPECT_TRUE(IsError(
      server_.Call(
          "POST", t_.Records(), Auth(t_.admin_key, "marketing"),
          json::object{{"principal", "purp-1"},
                       {"fields", json::object{{"email", "p@example.org"}}}}),
      403, "consent_required"));
  // Purposes of other categories never look at consent.
  for (const char* purpose :
       {"service_delivery", "security", "legal_obligation", "analytics"}) {
    auto r = get(purpose);
    EXPECT_EQ(r.status, 200) << purpose << ": " << r.Describe();
  }
  // None of the refused writes placed the principal.
  EXPECT_TRUE(IsError(
      server_.Call("GET", t_.Base() + "/principals/purp-1", Data(t_.admin_key)),
      404, "not_found"));
}

TEST_F(ErrorContract, InvalidEmailNamesTheField) {
  const std::string bad_email = "Zed.Invalid@@nowhere";
  auto r = PostRecord(server_, t_, "inv-1", json::object{{"email", bad_email}});
  EXPECT_TRUE(IsError(r, 400, "validation_failed"));
  EXPECT_EQ(Str(Member(r.Json(), "error"), "field"), "email") << r.body;
  EXPECT_FALSE(ContainsIgnoreCase(r.body, "Zed.Invalid")) << "PII in error";
  // Other types name their field too.
  struct Case {
    const char* field;
    json::value value;
  };
  std::vector<Case> cases = {{"phone", "12"},
                             {"birth_date", "1977-02-30"},
                             {"ssn", "000-12-3456"},
                             {"card", "4111 1111 1111 1112"},
                             {"iban", "DE89 3704 0044 0532 0130 01"},
                             {"ip", "300.1.2.3"},
                             {"count", "twelve"},
                             {"active", "yes"},
                             {"no_such_field", "x"}};
  for (auto& c : cases) {
    SCOPED_TRACE(c.field);
    auto res =
        PostRecord(server_, t_, "inv-1", json::object{{c.field, c.value}});
    EXPECT_TRUE(IsError(res, 400, "validation_failed"));
    EXPECT_EQ(Str(Member(res.Json(), "error"), "field"), c.field) << res.body;
  }
  // A PATCH with an invalid value names the field as well.
  auto p = server_.Call(
      "PATCH", t_.Record(rid_), Data(t_.admin_key),
      json::object{{"fields", json::object{{"email", bad_email}}}});
  EXPECT_TRUE(IsError(p, 400, "validation_failed"));
  EXPECT_EQ(Str(Member(p.Json(), "error"), "field"), "email") << p.body;
}

TEST_F(ErrorContract, NoPartialWrite) {
  // One valid and one invalid field: the whole request is refused.
  auto r = PostRecord(server_, t_, "partial-1",
                      json::object{{"email", "partial.valid@example.org"},
                                   {"phone", "not a phone"}});
  EXPECT_TRUE(IsError(r, 400, "validation_failed"));
  EXPECT_EQ(Str(Member(r.Json(), "error"), "field"), "phone") << r.body;
  auto found = server_.Call(
      "POST", t_.Search(), Data(t_.admin_key),
      json::object{
          {"match", json::object{{"email", "partial.valid@example.org"}}}});
  ASSERT_EQ(found.status, 200) << found.Describe();
  EXPECT_TRUE(Array(found.Json(), "records").empty()) << found.body;
  auto view = server_.Call("GET", t_.Base() + "/principals/partial-1",
                           Data(t_.admin_key));
  if (view.status == 200) {
    EXPECT_TRUE(Array(view.Json(), "records").empty()) << view.body;
  } else {
    EXPECT_TRUE(IsError(view, 404, "not_found"));
  }
  // The principal was not placed either: it can still go to us.
  auto us =
      PostRecord(server_, t_, "partial-1",
                 json::object{{"email", "partial.valid@example.org"}}, "us");
  ASSERT_EQ(us.status, 201) << us.Describe();
  EXPECT_EQ(Str(us.Json(), "region"), "us");
  found = server_.Call(
      "POST", t_.Search(), Data(t_.admin_key),
      json::object{
          {"match", json::object{{"email", "partial.valid@example.org"}}}});
  EXPECT_EQ(Array(found.Json(), "records").size(), 1u) << found.body;

  // A failed PATCH leaves every field as it was.
  auto p = server_.Call(
      "PATCH", t_.Record(rid_), Data(t_.admin_key),
      json::object{{"fields", json::object{{"email", "changed@example.org"},
                                           {"ssn", "000-00-0000"}}}});
  EXPECT_TRUE(IsError(p, 400, "validation_failed"));
  auto got = server_.Call("GET", t_.Record(rid_), Data(t_.admin_key));
  ASSERT_EQ(got.status, 200) << got.Describe();
  EXPECT_EQ(Str(Member(got.Json(), "fields"), "email"), "err.one@example.org");
}

}  // namespace
}  // namespace it
