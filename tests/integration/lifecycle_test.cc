// A principal's export and erasure seen from outside, on the real binary:
// the export holds the records and the consent ledger; the erasure leaves no
// row of the principal in any store, answers with a certificate kept in the
// register, and is finished after a kill at any of its steps.
#include <csignal>

#include "harness.h"

namespace it {
namespace {

using LifecycleTest = ServerTest;

std::string RecordId(const HttpResponse& r) { return Str(r.Json(), "id"); }

// A principal with two records and one consent event; returns the record
// ids.
std::vector<std::string> MakeSubject(const ServerProcess& server,
                                     const Tenant& t,
                                     const std::string& principal) {
  std::vector<std::string> ids;
  for (const char* email : {"first@example.org", "second@example.org"}) {
    auto r = PostRecord(server, t, principal,
                        {{"email", email}, {"ssn", "219-09-9999"}});
    EXPECT_EQ(r.status, 201) << r.Describe();
    ids.push_back(RecordId(r));
  }
  auto consent =
      server.Call("POST", t.Base() + "/principals/" + principal + "/consents",
                  Auth(t.admin_key),
                  json::object{{"purpose", "marketing"}, {"granted", true}});
  EXPECT_EQ(consent.status, 201) << consent.Describe();
  return ids;
}

// The rows of `store` whose key mentions any of `needles`.
int64_t RowsMentioning(const ServerProcess& server, const std::string& store,
                       const std::vector<std::string>& needles) {
  int64_t n = 0;
  for (auto& [key, value] : server.StoreRows(store))
    for (auto& needle : needles) n += key.find(needle) != std::string::npos;
  return n;
}

json::array Certificates(const ServerProcess& server, const Tenant& t) {
  auto r = server.Call("GET", t.Base() + "/certificates", Auth(t.admin_key));
  EXPECT_EQ(r.status, 200) << r.Describe();
  return Array(r.Json(), "certificates");
}

TEST_F(LifecycleTest, ExportThenErasureLeavesNothing) {
  Tenant t = SetUpTenant(server_, "acme");
  auto ids = MakeSubject(server_, t, "leaver-1");
  auto stays = PostRecord(server_, t, "stayer-1", {{"email", "s@example.org"}});
  ASSERT_EQ(stays.status, 201) << stays.Describe();
  const std::string principal = t.Base() + "/principals/leaver-1";

  auto exported = server_.Call("GET", principal + "/export", Data(t.admin_key));
  ASSERT_EQ(exported.status, 200) << exported.Describe();
  EXPECT_EQ(Str(exported.Json(), "format"), "piivault-principal-export-v1");
  EXPECT_EQ(Array(exported.Json(), "records").size(), 2u);
  EXPECT_EQ(Array(Member(exported.Json(), "consents"), "history").size(), 1u);
  EXPECT_NE(exported.body.find("219-09-9999"), std::string::npos);

  auto erased = server_.Call("DELETE", principal, Data(t.admin_key));
  ASSERT_EQ(erased.status, 200) << erased.Describe();
  auto& cert = Member(erased.Json(), "certificate");
  EXPECT_EQ(Str(cert, "kind"), "principal_erasure");
  EXPECT_EQ(Member(cert, "records"), json::value(2));
  const std::string pseudonym = Str(cert, "principal_pseudonym");

  // Only the tombstone of its key entry is left of it (it never lived in us).
  EXPECT_EQ(RowsMentioning(server_, "eu", ids), 0);
  EXPECT_EQ(RowsMentioning(server_, "eu", {pseudonym}), 1);
  EXPECT_TRUE(server_.StoreHasKey("eu", "pkey/acme/" + pseudonym));
  EXPECT_EQ(RowsMentioning(server_, "control", {pseudonym}), 0);
  EXPECT_EQ(server_.StoreCountPrefix("eu", "rec/acme/"), 1);
  EXPECT_EQ(server_.StoreCountPrefix("eu", "consent/acme/"), 0);
  if (BackendUnderTest() == "sqlite") {
    // The WAL was checkpointed and truncated: no old page image of the
    // erased records stays in any file of the region.
    for (const std::string suffix : {".db", ".db-wal"}) {
      const std::string bytes = ReadFile(server_.data_dir() + "/eu" + suffix);
      for (auto& id : ids)
        EXPECT_EQ(bytes.find("rec/acme/" + id), std::string::npos) << suffix;
    }
  }
  for (auto& id : ids)
    EXPECT_TRUE(IsError(server_.Call("GET", t.Record(id), Data(t.admin_key)),
                        404, "not_found"));
  EXPECT_TRUE(IsError(server_.Call("GET", principal, Data(t.admin_key)), 404,
                      "not_found"));
  EXPECT_EQ(
      server_.Call("GET", t.Record(RecordId(stays)), Data(t.admin_key)).status,
      200);

  auto certs = Certificates(server_, t);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0], cert);
}

TEST_F(LifecycleTest, ErasureSurvivesKillAtEveryStep) {
  Tenant t = SetUpTenant(server_, "acme");
  const std::vector<std::string> steps = {"erase.started", "erase.frozen",
                                          "erase.counted", "erase.purged"};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(steps[i]);
    const std::string principal = "leaver-" + std::to_string(i);
    auto ids = MakeSubject(server_, t, principal);

    ASSERT_EQ(server_.Stop(), 0);
    ASSERT_TRUE(server_.Start(false, {{"PIIVAULT_CRASH_AT", steps[i]}}));
    auto crashed = server_.Call("DELETE", t.Base() + "/principals/" + principal,
                                Data(t.admin_key));
    EXPECT_EQ(crashed.status, 0)
        << "expected no answer: " << crashed.Describe();
    EXPECT_EQ(server_.WaitForExit(std::chrono::seconds(10)),
              std::optional<int>(128 + SIGKILL));
    ASSERT_TRUE(server_.Start());  // finishes the erasure at startup

    auto certs = Certificates(server_, t);
    ASSERT_EQ(certs.size(), i + 1);
    for (auto& cert : certs) EXPECT_EQ(Member(cert, "records"), json::value(2));
    EXPECT_EQ(RowsMentioning(server_, "eu", ids), 0);
    EXPECT_EQ(RowsMentioning(server_, "control", {"erasure/"}), 0);
    EXPECT_TRUE(
        IsError(server_.Call("GET", t.Base() + "/principals/" + principal,
                             Data(t.admin_key)),
                404, "not_found"));
    // The id can be used again: a new principal, nothing of the old one.
    auto again =
        PostRecord(server_, t, principal, {{"email", "n@example.org"}});
    EXPECT_EQ(again.status, 201) << again.Describe();
  }
}

// The scheduler runs in `serve` (its node id in the log), its jobs are
// listed for the operator-admin only, and it stops with the server on
// SIGTERM (TearDown: exit 0). A fresh deployment has its first retention
// pass scheduled.
TEST_F(LifecycleTest, ServeRunsTheSchedulerAndListsJobsToTheOperator) {
  Tenant t = SetUpTenant(server_, "acme");
  auto jobs = server_.Call("GET", "/v1/jobs", Auth(server_.admin_key()));
  ASSERT_EQ(jobs.status, 200) << jobs.Describe();
  auto listed = Array(jobs.Json(), "jobs");
  ASSERT_EQ(listed.size(), 1u) << jobs.body;
  EXPECT_EQ(listed[0].at("kind"), "retention");
  EXPECT_EQ(listed[0].at("state"), "scheduled");
  EXPECT_EQ(server_.Call("GET", "/v1/jobs", Auth(t.admin_key)).status, 403);
  EXPECT_NE(server_.Log().find("\"scheduler started\",\"node\":\"node_"),
            std::string::npos);
}

}  // namespace
}  // namespace it
