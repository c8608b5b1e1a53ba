// Access control seen from outside: masked reads return exactly the
// built-in masks, plain text takes an explicit rule, masked fields are never
// searchable, and operator staff read only under an approved lockbox.
#include "harness.h"

namespace it {
namespace {

using PolicyTest = ServerTest;

// The masks of EveryTypeValues(), field by field (policy/masks.h).
const json::object kMasked{{"note", "***"},
                           {"name", "Z***"},
                           {"email", "Z***@example.org"},
                           {"phone", "+*********5432"},
                           {"birth_date", "1977"},
                           {"ssn", "***-**-9999"},
                           {"card", "************1111"},
                           {"iban", "DE****************3000"},
                           {"ip", "203.*.*.*"},
                           {"count", "***"},
                           {"active", "***"}};

// A tenant-app identity of `t` with `rules`; returns its API key.
std::string AppWithRules(const ServerProcess& server, const Tenant& t,
                         json::array rules) {
  auto app = server.Call(
      "POST", t.Base() + "/identities", Auth(t.admin_key),
      json::object{{"name", "app"},
                   {"role", "tenant-app"},
                   {"policy", json::object{{"rules", std::move(rules)}}}});
  EXPECT_EQ(app.status, 201) << app.Describe();
  return Str(app.Json(), "api_key");
}

json::object Rule(json::array fields, json::array actions,
                  const char* transform = nullptr) {
  json::object rule{{"purposes", json::array{"service_delivery"}},
                    {"collections", json::array{"people"}},
                    {"fields", std::move(fields)},
                    {"actions", std::move(actions)}};
  if (transform) rule["transform"] = transform;
  return rule;
}

TEST_F(PolicyTest, MaskedReadsReturnExactlyTheBuiltInMasks) {
  Tenant t = SetUpTenant(server_, "acme");
  // No transform: masked. A masked rule still allows writing.
  std::string key =
      AppWithRules(server_, t, {Rule({"*"}, {"read", "write", "search"})});
  auto created = server_.Call(
      "POST", t.Records(), Data(key),
      json::object{{"principal", "masked-1"}, {"fields", EveryTypeValues()}});
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string rid = Str(created.Json(), "id");

  auto got = server_.Call("GET", t.Record(rid), Data(key));
  ASSERT_EQ(got.status, 200) << got.Describe();
  EXPECT_EQ(Member(got.Json(), "fields"), json::value(kMasked));

  auto view = server_.Call("GET", t.Base() + "/principals/masked-1", Data(key));
  ASSERT_EQ(view.status, 200) << view.Describe();
  auto records = Array(view.Json(), "records");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(Member(records[0], "fields"), json::value(kMasked));

  // Searching a masked field would reveal it: refused.
  EXPECT_TRUE(IsError(
      server_.Call("POST", t.Search(), Data(key),
                   json::object{{"match", json::object{{"email",
                                                        "zebulon.quixote@"
                                                        "example.org"}}}}),
      403, "permission_denied"));
  EXPECT_FALSE(ContainsIgnoreCase(got.body, "Quixote"));
  EXPECT_FALSE(ContainsIgnoreCase(got.body, "98765432"));
}

TEST_F(PolicyTest, PlainTakesAnExplicitRule) {
  Tenant t = SetUpTenant(server_, "acme");
  auto created = PostRecord(server_, t, "plain-1", EveryTypeValues());
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string rid = Str(created.Json(), "id");
  // email plain, ssn masked, everything else not granted at all.
  std::string key = AppWithRules(
      server_, t,
      {Rule({"email"}, {"read", "search"}, "plain"), Rule({"ssn"}, {"read"})});
  auto got = server_.Call("GET", t.Record(rid), Data(key));
  ASSERT_EQ(got.status, 200) << got.Describe();
  EXPECT_EQ(Member(got.Json(), "fields"),
            json::value(json::object{{"email", "Zebulon.Quixote@example.org"},
                                     {"ssn", "***-**-9999"}}));
  auto found = server_.Call(
      "POST", t.Search(), Data(key),
      json::object{
          {"match", json::object{{"email", "zebulon.quixote@example.org"}}}});
  ASSERT_EQ(found.status, 200) << found.Describe();
  EXPECT_EQ(Array(found.Json(), "records").size(), 1u);
  // The tenant-admin is not a tenant-app: it sees everything in plain.
  auto admin = server_.Call("GET", t.Record(rid), Data(t.admin_key));
  EXPECT_EQ(Str(Member(admin.Json(), "fields"), "ssn"), "219-09-9999");
}

TEST_F(PolicyTest, OperatorReadsOnlyUnderAnApprovedLockbox) {
  Tenant t = SetUpTenant(server_, "acme");
  auto ann = PostRecord(server_, t, "Ann", {{"email", "ann@example.org"}});
  auto bob = PostRecord(server_, t, "Bob", {{"email", "bob@example.org"}});
  ASSERT_EQ(ann.status, 201);
  ASSERT_EQ(bob.status, 201);
  const std::string op = server_.admin_key();
  auto request = server_.Call(
      "POST", t.Base() + "/lockbox-requests", Auth(op),
      json::object{{"reason", "ticket 4711"},
                   {"scope", json::object{{"collections", json::array{"*"}},
                                          {"principals", json::array{"Ann"}}}},
                   {"duration", "PT1H"}});
  ASSERT_EQ(request.status, 201) << request.Describe();
  const std::string id = Str(request.Json(), "id");
  Headers under_lockbox = Data(op);
  under_lockbox.emplace_back("X-Lockbox-Request", id);

  // Pending: nothing.
  EXPECT_TRUE(IsError(
      server_.Call("GET", t.Record(Str(ann.Json(), "id")), under_lockbox), 403,
      "permission_denied"));
  auto approved =
      server_.Call("POST", t.Base() + "/lockbox-requests/" + id + "/approve",
                   Auth(t.admin_key));
  ASSERT_EQ(approved.status, 200) << approved.Describe();
  EXPECT_EQ(Str(approved.Json(), "state"), "approved");

  auto got =
      server_.Call("GET", t.Record(Str(ann.Json(), "id")), under_lockbox);
  ASSERT_EQ(got.status, 200) << got.Describe();
  EXPECT_EQ(Str(Member(got.Json(), "fields"), "email"), "ann@example.org");
  EXPECT_TRUE(IsError(
      server_.Call("GET", t.Record(Str(bob.Json(), "id")), under_lockbox), 403,
      "permission_denied"));
  EXPECT_TRUE(
      IsError(server_.Call("GET", t.Record(Str(ann.Json(), "id")), Data(op)),
              403, "permission_denied"));

  // The tenant sees the access, with the lockbox id, in its own log.
  auto events = server_.Call(
      "GET", t.Base() + "/audit/events?action=records.get&limit=100",
      Auth(t.admin_key));
  ASSERT_EQ(events.status, 200) << events.Describe();
  int served = 0;
  for (auto& e : Array(events.Json(), "events"))
    if (Str(e, "lockbox") == id && Str(e, "outcome") == "ok") ++served;
  EXPECT_EQ(served, 1);
  auto listed =
      server_.Call("GET", t.Base() + "/lockbox-requests", Auth(t.admin_key));
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(Array(listed.Json(), "lockbox_requests").size(), 1u);
}

// Policy edits, consent withdrawals and lockbox denials made through one
// node apply to the very next request on another.
TEST_F(PolicyTest, ChangesApplyAtOnceOnEveryNode) {
  ServerProcess node_b(server_, ServerProcess::SameDeployment{});
  ASSERT_TRUE(node_b.Start());
  Tenant t = SetUpTenant(server_, "acme");
  auto rec = PostRecord(server_, t, "Ann", {{"email", "ann@example.org"}});
  ASSERT_EQ(rec.status, 201);
  const std::string rid = Str(rec.Json(), "id");
  auto app = server_.Call(
      "POST", t.Base() + "/identities", Auth(t.admin_key),
      json::object{
          {"name", "app"},
          {"role", "tenant-app"},
          {"policy", json::object{{"rules", json::array{Rule({"*"}, {"read"},
                                                             "plain")}}}}});
  ASSERT_EQ(app.status, 201) << app.Describe();
  const std::string app_id = Str(app.Json(), "id");
  const std::string app_key = Str(app.Json(), "api_key");

  // Policy: allowed on node B, revoked through node A, refused on node B.
  ASSERT_EQ(node_b.Call("GET", t.Record(rid), Data(app_key)).status, 200);
  auto revoked =
      server_.Call("PUT", t.Base() + "/identities/" + app_id + "/policy",
                   Auth(t.admin_key), json::object{{"rules", json::array{}}});
  ASSERT_EQ(revoked.status, 200) << revoked.Describe();
  EXPECT_TRUE(IsError(node_b.Call("GET", t.Record(rid), Data(app_key)), 403,
                      "permission_denied"));

  // Consent: granted through A, used on B, withdrawn through A, refused on B.
  const std::string consents = t.Base() + "/principals/Ann/consents";
  Headers marketing = Auth(t.admin_key, "marketing");
  ASSERT_EQ(server_
                .Call("POST", consents, Auth(t.admin_key),
                      json::object{{"purpose", "marketing"}, {"granted", true}})
                .status,
            201);
  ASSERT_EQ(node_b.Call("GET", t.Record(rid), marketing).status, 200);
  ASSERT_EQ(
      server_
          .Call("POST", consents, Auth(t.admin_key),
                json::object{{"purpose", "marketing"}, {"granted", false}})
          .status,
      201);
  EXPECT_TRUE(IsError(node_b.Call("GET", t.Record(rid), marketing), 403,
                      "consent_required"));
  EXPECT_EQ(node_b.Call("GET", t.Record(rid), Data(t.admin_key)).status, 200);

  // Lockbox: approved, used on B, denied through A, refused on B.
  const std::string op = server_.admin_key();
  auto request = node_b.Call(
      "POST", t.Base() + "/lockbox-requests", Auth(op),
      json::object{{"reason", "ticket 9"},
                   {"scope", json::object{{"collections", json::array{"*"}}}},
                   {"duration", "PT1H"}});
  ASSERT_EQ(request.status, 201) << request.Describe();
  const std::string id = Str(request.Json(), "id");
  ASSERT_EQ(server_
                .Call("POST", t.Base() + "/lockbox-requests/" + id + "/approve",
                      Auth(t.admin_key))
                .status,
            200);
  Headers lockbox = Data(op);
  lockbox.emplace_back("X-Lockbox-Request", id);
  ASSERT_EQ(node_b.Call("GET", t.Record(rid), lockbox).status, 200);
  ASSERT_EQ(server_
                .Call("POST", t.Base() + "/lockbox-requests/" + id + "/deny",
                      Auth(t.admin_key))
                .status,
            200);
  EXPECT_TRUE(IsError(node_b.Call("GET", t.Record(rid), lockbox), 403,
                      "permission_denied"));
}

}  // namespace
}  // namespace it
