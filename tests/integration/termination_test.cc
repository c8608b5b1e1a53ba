// Termination of a tenant on the real binary: the configured return period,
// writes refused and reads served, and the state and the disposal job kept
// across a restart.
#include <csignal>
#include <ctime>
#include <thread>

#include "harness.h"

namespace it {
namespace {

// Seconds since the epoch of a "YYYY-MM-DDTHH:MM:SSZ" time; -1 if malformed.
int64_t Epoch(const std::string& rfc3339) {
  std::tm tm{};
  const char* end = strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return end && *end == '\0' ? static_cast<int64_t>(timegm(&tm)) : -1;
}

TEST(TerminationTest, ConfiguredReturnPeriodWritesRefusedAndRestart) {
  ServerProcess server;
  ASSERT_TRUE(server.init_ok());
  server.EditConfig([](std::string& toml) {
    auto at = toml.find("return_period = \"P30D\"");
    ASSERT_NE(at, std::string::npos) << "init writes [tenants] return_period";
    toml.replace(at, 22, "return_period = \"P2D\" ");
  });
  ASSERT_TRUE(server.Start());
  Tenant t = SetUpTenant(server, "acme");
  auto created = PostRecord(server, t, "ann", {{"email", "ann@example.org"}});
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string record = Str(created.Json(), "id");

  const int64_t before = std::time(nullptr);
  auto r = server.Call("POST", t.Base() + "/terminate", Auth(t.admin_key));
  const int64_t after = std::time(nullptr);
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(Str(r.Json(), "state"), "terminating");
  const std::string due = Str(r.Json(), "disposal_due_at");
  const int64_t two_days = 2 * 24 * 3600;
  EXPECT_GE(Epoch(due), before + two_days) << due;
  EXPECT_LE(Epoch(due), after + two_days) << due;

  auto write = PostRecord(server, t, "bob", {{"email", "bob@example.org"}});
  EXPECT_EQ(write.status, 403) << write.Describe();
  EXPECT_EQ(Str(write.Json().at("error"), "code"), "tenant_not_active");

  // A restart changes nothing: the state and the job are stored.
  ASSERT_EQ(server.Stop(), 0) << server.Log();
  ASSERT_TRUE(server.Start());
  auto read = server.Call("GET", t.Record(record), Data(t.admin_key));
  EXPECT_EQ(read.status, 200) << read.Describe();
  auto tenant = server.Call("GET", t.Base(), Auth(t.admin_key));
  EXPECT_EQ(Str(tenant.Json(), "state"), "terminating");
  EXPECT_EQ(Str(tenant.Json(), "disposal_due_at"), due);
  auto jobs = server.Call("GET", "/v1/jobs", Auth(server.admin_key()));
  ASSERT_EQ(jobs.status, 200) << jobs.Describe();
  bool found = false;
  for (auto& job : jobs.Json().at("jobs").as_array()) {
    if (Str(job, "id") != "disposal-acme") continue;
    found = true;
    EXPECT_EQ(Str(job, "kind"), "disposal");
    EXPECT_EQ(Str(job, "state"), "scheduled");
    EXPECT_EQ(Str(job, "due_at"), due);
  }
  EXPECT_TRUE(found) << jobs.body;
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

// Every key of `store` that names tenant `tenant` as a path segment.
std::vector<std::string> TenantKeys(const ServerProcess& server,
                                    const std::string& store,
                                    const std::string& tenant) {
  std::vector<std::string> out;
  const std::string segment = "/" + tenant + "/";
  for (auto& [key, value] : server.StoreRows(store))
    if (key.find(segment) != std::string::npos) out.push_back(key);
  for (auto& key : server.StoreCounterKeys(store))
    if (key.find(segment) != std::string::npos) out.push_back("count:" + key);
  return out;
}

// After a confirmed disposal nothing of the tenant is left in either region
// (SQLite files, their WAL included, or PostgreSQL databases), the control
// store keeps only the record of what was done, the API answers 404/403,
// and another tenant is untouched.
TEST(DisposalTest, NothingOfTheTenantIsLeftInAnyStoreOrFile) {
  ServerProcess server;
  ASSERT_TRUE(server.init_ok());
  ASSERT_TRUE(server.Start());
  Tenant t = SetUpTenant(server, "acme");
  Tenant other = SetUpTenant(server, "other");
  const std::string marker_eu = "zq-disposed-eu@example.org";
  const std::string marker_us = "zq-disposed-us@example.org";
  auto eu = PostRecord(server, t, "ann", {{"email", marker_eu}});
  ASSERT_EQ(eu.status, 201) << eu.Describe();
  auto us = PostRecord(server, t, "bob", {{"email", marker_us}}, "us");
  ASSERT_EQ(us.status, 201) << us.Describe();
  auto kept = PostRecord(server, other, "ann", {{"email", "kept@example.org"}});
  ASSERT_EQ(kept.status, 201) << kept.Describe();
  ASSERT_FALSE(TenantKeys(server, "eu", "acme").empty());
  ASSERT_FALSE(TenantKeys(server, "us", "acme").empty());

  ASSERT_EQ(
      server.Call("POST", t.Base() + "/terminate", Auth(t.admin_key)).status,
      200);
  auto disposed = server.Call("POST", t.Base() + "/dispose", Auth(t.admin_key),
                              R"({"confirmed_by_tenant":true})");
  ASSERT_EQ(disposed.status, 200) << disposed.Describe();
  auto cert = disposed.Json().at("certificate");
  EXPECT_EQ(Str(cert, "kind"), "tenant_disposal");
  EXPECT_EQ(cert.at("regions").at("eu").at("records").as_int64(), 1);
  EXPECT_EQ(cert.at("regions").at("us").at("records").as_int64(), 1);

  EXPECT_EQ(TenantKeys(server, "eu", "acme"), std::vector<std::string>{});
  EXPECT_EQ(TenantKeys(server, "us", "acme"), std::vector<std::string>{});
  // The control store keeps the tenant's document, identities, audit log,
  // lockbox requests and certificates (no personal data); nothing else.
  for (auto& key : TenantKeys(server, "control", "acme")) {
    const bool record_of_what_was_done =
        key.starts_with("tenant-identity/") || key.starts_with("audit") ||
        key.starts_with("cert/") || key.starts_with("lockbox/") ||
        key.starts_with("tenant-admins/");
    EXPECT_TRUE(record_of_what_was_done) << key;
  }
  EXPECT_FALSE(server.StoreHasKey("control", "tk/acme"));
  EXPECT_TRUE(server.StoreHasKey("control", "tk/other"));
  if (BackendUnderTest() == "sqlite") {
    // Not even an old page image: every file of every store, WAL included.
    for (const char* store : {"eu", "us", "control"}) {
      for (const std::string suffix : {".db", ".db-wal"}) {
        const std::string bytes =
            ReadFile(server.data_dir() + "/" + store + suffix);
        EXPECT_EQ(bytes.find("rec/acme/"), std::string::npos)
            << store << suffix;
        EXPECT_EQ(bytes.find("pkey/acme/"), std::string::npos)
            << store << suffix;
      }
    }
  }

  // The API: the tenant is disposed, its data 404, writes 403; the
  // certificate is in the register; the other tenant reads as before.
  auto tenant = server.Call("GET", t.Base(), Auth(server.admin_key()));
  EXPECT_EQ(Str(tenant.Json(), "state"), "disposed");
  auto read = server.Call("GET", t.Record(Str(eu.Json(), "id")),
                          Data(server.admin_key()));
  EXPECT_EQ(read.status, 404) << read.Describe();
  auto certs =
      server.Call("GET", t.Base() + "/certificates", Auth(server.admin_key()));
  ASSERT_EQ(certs.status, 200) << certs.Describe();
  EXPECT_EQ(Str(certs.Json().at("certificates").as_array().back(), "id"),
            Str(cert, "id"));
  auto other_read = server.Call("GET", other.Record(Str(kept.Json(), "id")),
                                Data(other.admin_key));
  EXPECT_EQ(other_read.status, 200) << other_read.Describe();
}

// A kill -9 at every step of a disposal: the next start finishes it in the
// background (its tenant-admins may be deactivated already and its due time
// is far off), with the certificate the first run began and nothing of the
// tenant left.
TEST(DisposalTest, SurvivesKillAtEveryStep) {
  ServerProcess server;
  ASSERT_TRUE(server.init_ok());
  ASSERT_TRUE(server.Start());
  const std::vector<std::string> steps = {"dispose.shredded", "dispose.purged",
                                          "dispose.control_purged",
                                          "dispose.certified"};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(steps[i]);
    Tenant t = SetUpTenant(server, "gone" + std::to_string(i));
    ASSERT_EQ(PostRecord(server, t, "ann", {{"email", "a@example.org"}}).status,
              201);
    ASSERT_EQ(
        PostRecord(server, t, "bob", {{"email", "b@example.org"}}, "us").status,
        201);
    ASSERT_EQ(
        server.Call("POST", t.Base() + "/terminate", Auth(t.admin_key)).status,
        200);

    ASSERT_EQ(server.Stop(), 0);
    ASSERT_TRUE(server.Start(false, {{"PIIVAULT_CRASH_AT", steps[i]}}));
    auto crashed = server.Call("POST", t.Base() + "/dispose", Auth(t.admin_key),
                               R"({"confirmed_by_tenant":true})");
    EXPECT_EQ(crashed.status, 0)
        << "expected no answer: " << crashed.Describe();
    EXPECT_EQ(server.WaitForExit(std::chrono::seconds(10)),
              std::optional<int>(128 + SIGKILL));
    ASSERT_TRUE(server.Start());

    // The scheduler runs the rest within a few of its one-second rounds.
    std::vector<json::value> certs;
    for (int wait = 0; wait < 100; ++wait) {
      auto listed = server.Call("GET", t.Base() + "/certificates",
                                Auth(server.admin_key()));
      ASSERT_EQ(listed.status, 200) << listed.Describe();
      certs.clear();
      for (auto& c : listed.Json().at("certificates").as_array())
        if (Str(c, "kind") == "tenant_disposal") certs.push_back(c);
      if (!certs.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(certs.size(), 1u);
    EXPECT_EQ(certs[0].at("regions").at("eu").at("records").as_int64(), 1);
    EXPECT_EQ(certs[0].at("regions").at("us").at("records").as_int64(), 1);
    EXPECT_EQ(TenantKeys(server, "eu", t.id), std::vector<std::string>{});
    EXPECT_EQ(TenantKeys(server, "us", t.id), std::vector<std::string>{});
    EXPECT_FALSE(server.StoreHasKey("control", "disposal/" + t.id));
    auto tenant = server.Call("GET", t.Base(), Auth(server.admin_key()));
    EXPECT_EQ(Str(tenant.Json(), "state"), "disposed");
  }
}

}  // namespace
}  // namespace it
