// The Statement of Applicability of a running `piivault serve`: the
// listener it really runs with (plain on loopback, then TLS) as A.11.6
// evidence, and a stored audit entry tampered with in the database turning
// 12.4.2 to a nonconformity until the row is put back.
#include "harness.h"

namespace it {
namespace {

using ComplianceTest = ServerTest;

// The control's entry (a value, so Member and Array read it in place).
const json::value& Control(const json::value& soa, std::string_view id) {
  for (auto& c : Array(soa, "controls"))
    if (Str(c, "id") == id) return c;
  ADD_FAILURE() << "no control " << id;
  static const json::value none = json::object{};
  return none;
}

TEST_F(ComplianceTest, ListenerAndAuditLogEvidenceOfTheRunningServer) {
  Tenant t = SetUpTenant(server_, "acme");
  for (auto* p : {"Principal-A", "Principal-B"})
    ASSERT_EQ(PostRecord(server_, t, p, {{"email", "a@example.org"}}).status,
              201);
  auto soa =
      server_.Call("GET", "/v1/compliance/soa", Auth(server_.admin_key()));
  ASSERT_EQ(soa.status, 200) << soa.Describe();
  auto& tls = Control(soa.Json(), "A.11.6");
  EXPECT_EQ(Str(tls, "status"), "implemented");
  auto& listeners = Array(Member(tls, "evidence"), "listeners");
  ASSERT_EQ(listeners.size(), 1u);
  EXPECT_EQ(Str(listeners[0], "host"), "127.0.0.1");
  EXPECT_EQ(Member(listeners[0], "port").to_number<int>(), server_.port());
  EXPECT_FALSE(Member(listeners[0], "tls").as_bool());
  EXPECT_EQ(Str(Control(soa.Json(), "12.4.2"), "status"), "implemented");

  // Entry 2 of acme's log holds entry 1's sealed bytes.
  const std::string one = "audit/t/acme/e/0000000000000001";
  const std::string two = "audit/t/acme/e/0000000000000002";
  auto rows = server_.StoreRows("control");
  ASSERT_TRUE(rows.contains(one) && rows.contains(two));
  server_.StoreCopyValue("control", one, two);
  auto tampered =
      server_.Call("GET", "/v1/compliance/soa", Auth(server_.admin_key()));
  ASSERT_EQ(tampered.status, 200) << tampered.Describe();
  auto& logs = Control(tampered.Json(), "12.4.2");
  EXPECT_EQ(Str(logs, "status"), "nonconformity");
  bool acme_verifies = true;
  for (auto& l : Array(Member(logs, "evidence"), "audit_logs"))
    if (Str(l, "log") == "t/acme")
      acme_verifies = Member(l, "verifies").as_bool();
  EXPECT_FALSE(acme_verifies);
  EXPECT_FALSE(Array(tampered.Json(), "nonconformities").empty());

  server_.StorePut("control", two, rows.at(two));
  auto restored =
      server_.Call("GET", "/v1/compliance/soa", Auth(server_.admin_key()));
  ASSERT_EQ(restored.status, 200);
  EXPECT_EQ(Str(Control(restored.Json(), "12.4.2"), "status"), "implemented");
}

TEST(ComplianceTls, ListenerWithTlsIsEvidence) {
  ServerProcess server;
  ASSERT_TRUE(server.init_ok());
  server.EnableTls();
  ASSERT_TRUE(server.Start(/*tls=*/true)) << server.Log();
  const std::string port = std::to_string(server.port());
  RunResult r = Shell("curl -sS --max-time 10 --resolve localhost:" + port +
                      ":127.0.0.1 " + "--cacert " + server.data_dir() +
                      "/tls/cert.pem -H 'Authorization: " + "Bearer " +
                      server.admin_key() + "' https://localhost:" + port +
                      "/v1/compliance/soa 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto soa = json::parse(r.out);
  auto& listener =
      Array(Member(Control(soa, "A.11.6"), "evidence"), "listeners")[0];
  EXPECT_TRUE(Member(listener, "tls").as_bool());
  EXPECT_EQ(Str(listener, "min_tls_version"), "TLSv1.2");
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace it
