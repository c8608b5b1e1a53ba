// Access policies seen from outside: masked reads return exactly the
// built-in masks, plain text takes an explicit rule, and masked fields are
// never searchable.
#include "harness.h"

namespace it {
namespace {

using PolicyTest = ServerTest;

// The masks of EveryTypeValues(), field by field (vault/masks.h).
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

}  // namespace
}  // namespace it
