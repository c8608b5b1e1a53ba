// Termination of a tenant on the real binary: the configured return period,
// writes refused and reads served, and the state and the disposal job kept
// across a restart.
#include <ctime>

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

}  // namespace
}  // namespace it
