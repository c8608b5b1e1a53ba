// The HTTP API in process: App::Handle over in-memory stores (VaultHarness),
// with an operator-admin, tenant "acme" (regions eu and us), its tenant-admin
// and a tenant-app without policy, and the collection "people" (email
// searchable, ssn).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "api/app.h"
#include "support/failing_backend.h"
#include "vault_fixture.h"

namespace piivault::api::testing {

namespace json = boost::json;
using vault::testing::Dump;
using vault::testing::VaultHarness;

class AppTest : public ::testing::Test {
 protected:
  explicit AppTest(const LimitsConfig& limits = {})
      : audit_store(h.control_backend),
        signer(crypto::Ed25519Key::Generate()),
        audit(&audit_store, h.keyring.get(), &signer, &h.clock),
        app(h.vault.get(), &audit, limits) {}

  void SetUp() override {
    auto admin = h.vault->identities.Create(vault::RequestContext(), "op",
                                            vault::Role::kOperatorAdmin, "");
    ASSERT_TRUE(admin.has_value());
    operator_key = admin->api_key;
    ASSERT_EQ(
        Call("POST", "/v1/tenants", operator_key,
             R"({"id":"acme","regions":["eu","us"],"default_region":"eu"})")
            .status,
        201);
    auto tenant_admin =
        Call("POST", "/v1/tenants/acme/identities", operator_key,
             R"({"name":"adm","role":"tenant-admin"})");
    ASSERT_EQ(tenant_admin.status, 201) << tenant_admin.body;
    admin_key = Member(tenant_admin, "api_key");
    auto app_identity = Call("POST", "/v1/tenants/acme/identities", admin_key,
                             R"({"name":"app","role":"tenant-app"})");
    ASSERT_EQ(app_identity.status, 201);
    app_key = Member(app_identity, "api_key");
    ASSERT_EQ(
        Call("PUT", "/v1/tenants/acme/collections/people", admin_key,
             R"({"fields":[{"name":"email","type":"email","searchable":true},
                                 {"name":"ssn","type":"ssn"}]})")
            .status,
        201);
  }

  HttpResponse Call(std::string method, std::string path,
                    const std::string& key, std::string body = "",
                    std::string purpose = "") {
    HttpRequest req;
    req.method = std::move(method);
    auto q = path.find('?');
    if (q != std::string::npos) {
      req.query = path.substr(q + 1);
      path.resize(q);
    }
    req.path = std::move(path);
    req.headers.emplace_back("authorization", "Bearer " + key);
    if (!purpose.empty()) req.headers.emplace_back("x-purpose", purpose);
    req.body = std::move(body);
    req.remote_address = source;
    return app.Handle(req);
  }
  HttpResponse Data(std::string method, std::string path,
                    const std::string& key, std::string body = "") {
    return Call(std::move(method), std::move(path), key, std::move(body),
                "service_delivery");
  }

  // A second collection of acme, "orders" {item: string}, so that a
  // principal's records can span two.
  void PutOrders() {
    ASSERT_EQ(Call("PUT", "/v1/tenants/acme/collections/orders", admin_key,
                   R"({"fields":[{"name":"item","type":"string"}]})")
                  .status,
              201);
  }

  // Creates tenant "other" (region eu) with a tenant-admin; its API key.
  std::string OtherTenantAdminKey() { return TenantAdminKey("other", "eu"); }

  // Creates tenant `id` in `region` alone with a tenant-admin; its API key.
  std::string TenantAdminKey(const std::string& id, const std::string& region) {
    EXPECT_EQ(Call("POST", "/v1/tenants", operator_key,
                   R"({"id":")" + id + R"(","regions":[")" + region +
                       R"("],"default_region":")" + region + R"("})")
                  .status,
              201);
    auto admin = Call("POST", "/v1/tenants/" + id + "/identities", operator_key,
                      R"({"name":"adm","role":"tenant-admin"})");
    EXPECT_EQ(admin.status, 201) << admin.body;
    return Member(admin, "api_key");
  }

  static std::string Member(const HttpResponse& r, const char* name) {
    auto v = json::parse(r.body);
    auto* m = v.as_object().if_contains(name);
    return m && m->is_string() ? std::string(m->get_string()) : "";
  }

  // A record of `principal` in "people" with `fields` (a JSON object),
  // created by the tenant-admin; its id.
  std::string CreatePerson(const std::string& principal,
                           const std::string& fields) {
    auto r =
        Data("POST", "/v1/tenants/acme/collections/people/records", admin_key,
             R"({"principal":")" + principal + R"(","fields":)" + fields + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Member(r, "id");
  }

  // The token of `record`'s "ssn", made by the tenant-admin.
  std::string SsnToken(const std::string& record) {
    auto r = Data("POST", "/v1/tenants/acme/tokenize", admin_key,
                  R"({"collection":"people","record":")" + record +
                      R"(","fields":["ssn"]})");
    EXPECT_EQ(r.status, 200) << r.body;
    auto doc = json::parse(r.body);
    auto* ssn = doc.as_object().if_contains("tokens");
    return ssn ? std::string(ssn->at("ssn").as_string()) : "";
  }

  // A new tenant-app of acme, created by the tenant-admin, whose policy has
  // `rules` (a JSON array); its API key.
  std::string CreateApp(const std::string& name, const std::string& rules) {
    auto r =
        Call("POST", "/v1/tenants/acme/identities", admin_key,
             R"({"name":")" + name +
                 R"(","role":"tenant-app","policy":{"rules":)" + rules + "}}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Member(r, "api_key");
  }

  // The identity id in an API key "pv.<id>.<secret>".
  static std::string IdOf(const std::string& key) {
    return key.substr(3, key.find('.', 3) - 3);
  }

  // Gives the tenant-app identity one policy rule on "people" under
  // service_delivery, allowing `actions` (a JSON array), with `transform`
  // ("" for none: masked).
  void SetAppRule(const std::string& actions, const std::string& transform) {
    std::string id = IdOf(app_key);
    std::string rule = R"({"purposes":["service_delivery"],)"
                       R"("collections":["people"],"actions":)" +
                       actions;
    if (!transform.empty()) rule += R"(,"transform":")" + transform + "\"";
    auto r = Call("PUT", "/v1/tenants/acme/identities/" + id + "/policy",
                  admin_key, R"({"rules":[)" + rule + "}]}");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // Every store's contents but the audit logs, which record refusals too:
  // the same before and after a request that must change nothing.
  std::vector<std::vector<storage::KeyValue>> Stores() {
    auto control = Dump(*h.control_backend);
    std::erase_if(control, [](const storage::KeyValue& kv) {
      return kv.key.starts_with("audit/") || kv.key.starts_with("audit-log/");
    });
    return {std::move(control), Dump(*h.eu_backend), Dump(*h.us_backend)};
  }

  // The error code and field of a refusal ("" when absent).
  static std::pair<std::string, std::string> Error(const HttpResponse& r) {
    auto v = json::parse(r.body);
    auto* error = v.as_object().if_contains("error");
    if (!error || !error->is_object()) return {};
    auto member = [&](const char* name) {
      auto* m = error->as_object().if_contains(name);
      return m && m->is_string() ? std::string(m->get_string()) : "";
    };
    return {member("code"), member("field")};
  }

  uint64_t Events() { return audit.Size("t/acme").value_or(0); }
  audit::Event Last() {
    auto events = audit.Read("t/acme", Events() - 1, 1);
    EXPECT_TRUE(events.has_value() && events->size() == 1);
    return events ? events->back() : audit::Event{};
  }

  VaultHarness h;
  // The audit log's store: its writes fail while `fail_writes` is set.
  piivault::testing::FailingBackend audit_store;
  crypto::Ed25519Key signer;
  audit::AuditLog audit;
  App app;
  std::string operator_key, admin_key, app_key;
  std::string source = "192.0.2.1";  // the client address of Call()
};

}  // namespace piivault::api::testing
