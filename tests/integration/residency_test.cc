// Residency from outside: regions, the locations report, shrinking a
// tenant's regions, relocation under kill -9 at every step, stateless nodes,
// a region that is down, and configurations serve must refuse.
#include <signal.h>

#include <chrono>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include "harness.h"
#include "support/postgres_env.h"

namespace it {
namespace {

using ResidencyTest = ServerTest;
using std::chrono::milliseconds;

struct Counts {
  int64_t eu_principals, eu_records, us_principals, us_records;
  bool operator==(const Counts&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Counts& c) {
  return os << "eu " << c.eu_principals << "/" << c.eu_records << ", us "
            << c.us_principals << "/" << c.us_records;
}

Counts Locations(const ServerProcess& server, const Tenant& t) {
  auto r = server.Call("GET", t.Base() + "/locations", Auth(t.admin_key));
  EXPECT_EQ(r.status, 200) << r.Describe();
  Counts c{-1, -1, -1, -1};
  for (auto& region : Array(r.Json(), "regions")) {
    auto n = [&](const char* key) {
      auto& v = Member(region, key);
      return v.is_int64() ? v.get_int64() : -1;
    };
    if (Str(region, "id") == "eu")
      c = {n("principals"), n("records"), c.us_principals, c.us_records};
    if (Str(region, "id") == "us")
      c = {c.eu_principals, c.eu_records, n("principals"), n("records")};
  }
  return c;
}

HttpResponse Relocate(const ServerProcess& server, const Tenant& t,
                      const std::string& principal, const std::string& region) {
  return server.Call("POST",
                     t.Base() + "/principals/" + principal + "/relocate",
                     Auth(t.admin_key), json::object{{"region", region}});
}

std::string RecordId(const HttpResponse& r) { return Str(r.Json(), "id"); }

// Every row of `store` whose key mentions `needle`.
int64_t RowsMentioning(const ServerProcess& server, const std::string& store,
                       const std::string& needle) {
  int64_t n = 0;
  for (auto& [key, value] : server.StoreRows(store))
    n += key.find(needle) != std::string::npos;
  return n;
}

TEST_F(ResidencyTest, RegionsAndExactLocations) {
  auto regions = server_.Call("GET", "/v1/regions", Auth(server_.admin_key()));
  ASSERT_EQ(regions.status, 200) << regions.Describe();
  ASSERT_EQ(Array(regions.Json(), "regions").size(), 2u);
  EXPECT_EQ(Str(Array(regions.Json(), "regions")[1], "id"), "us");
  EXPECT_EQ(Serialize(Member(Array(regions.Json(), "regions")[1], "countries")),
            R"(["US"])");

  Tenant t = SetUpTenant(server_, "acme");
  EXPECT_EQ(Locations(server_, t), (Counts{0, 0, 0, 0}));
  std::vector<std::string> ids;
  for (auto [principal, region] :
       std::vector<std::pair<std::string, std::string>>{
           {"p1", "eu"}, {"p1", "eu"}, {"p2", "eu"}, {"p3", "us"}}) {
    auto r = PostRecord(server_, t, principal,
                        {{"email", principal + "@example.org"}}, region);
    ASSERT_EQ(r.status, 201) << r.Describe();
    ids.push_back(RecordId(r));
  }
  EXPECT_EQ(Locations(server_, t), (Counts{2, 3, 1, 1}));
  ASSERT_EQ(server_.Call("DELETE", t.Record(ids[0]), Data(t.admin_key)).status,
            204);
  EXPECT_EQ(Locations(server_, t), (Counts{2, 2, 1, 1}));
  ASSERT_EQ(Relocate(server_, t, "p1", "us").status, 200);
  EXPECT_EQ(Locations(server_, t), (Counts{1, 1, 2, 2}));

  // The report's shape, and who may read it.
  auto report =
      server_.Call("GET", t.Base() + "/locations", Auth(server_.admin_key()));
  ASSERT_EQ(report.status, 200) << report.Describe();
  auto& eu = Array(report.Json(), "regions")[0];
  EXPECT_EQ(Str(eu, "id"), "eu");
  EXPECT_TRUE(Member(eu, "countries").is_array());
  EXPECT_TRUE(Member(report.Json(), "sub_processors").is_array());
  Tenant other = SetUpTenant(server_, "other");
  EXPECT_TRUE(IsError(
      server_.Call("GET", t.Base() + "/locations", Auth(other.admin_key)), 403,
      "permission_denied"));
}

TEST_F(ResidencyTest, ShrinkingRegionsRefusedWhilePrincipalsLiveThere) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_EQ(
      PostRecord(server_, t, "p-us", {{"email", "u@example.org"}}, "us").status,
      201);
  auto patch = [&] {
    return server_.Call("PATCH", t.Base(), Auth(server_.admin_key()),
                        json::object{{"regions", json::array{"eu"}}});
  };
  EXPECT_TRUE(IsError(patch(), 409, "failed_precondition"));
  auto tenant = server_.Call("GET", t.Base(), Auth(server_.admin_key()));
  EXPECT_EQ(Serialize(Member(tenant.Json(), "regions")), R"(["eu","us"])");

  ASSERT_EQ(Relocate(server_, t, "p-us", "eu").status, 200);
  auto shrunk = patch();
  ASSERT_EQ(shrunk.status, 200) << shrunk.Describe();
  EXPECT_EQ(Serialize(Member(shrunk.Json(), "regions")), R"(["eu"])");
  EXPECT_TRUE(IsError(
      PostRecord(server_, t, "p-new", {{"email", "n@example.org"}}, "us"), 403,
      "region_not_allowed"));
  EXPECT_TRUE(
      IsError(Relocate(server_, t, "p-us", "us"), 403, "region_not_allowed"));
}

TEST_F(ResidencyTest, RelocationRequestsAreValidated) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_EQ(PostRecord(server_, t, "p1", {{"email", "a@example.org"}}).status,
            201);
  EXPECT_TRUE(IsError(Relocate(server_, t, "nobody", "us"), 404, "not_found"));
  EXPECT_TRUE(
      IsError(Relocate(server_, t, "p1", "mars"), 403, "region_not_allowed"));
  EXPECT_TRUE(IsError(server_.Call("POST", t.Base() + "/principals/p1/relocate",
                                   Auth(t.admin_key), json::object{}),
                      400, "invalid_argument"));
  // Only the tenant's admin decides where its data lives.
  EXPECT_TRUE(IsError(
      server_.Call("POST", t.Base() + "/principals/p1/relocate",
                   Auth(server_.admin_key()), json::object{{"region", "us"}}),
      403, "permission_denied"));
  auto same = Relocate(server_, t, "p1", "eu");
  ASSERT_EQ(same.status, 200) << same.Describe();
  EXPECT_EQ(Str(same.Json(), "region"), "eu");
}

// kill -9 at each step of a relocation, then a restart: the move completes
// at startup, nothing is lost, and nothing stays in the source region.
TEST_F(ResidencyTest, RelocationSurvivesKillAtEveryStep) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_EQ(
      PostRecord(server_, t, "bystander", {{"email", "b@example.org"}}).status,
      201);
  const std::vector<std::string> steps = {
      "relocate.started",  "relocate.frozen",   "relocate.copied",
      "relocate.verified", "relocate.switched", "relocate.activated",
      "relocate.purged"};
  int moved = 0;
  for (auto& step : steps) {
    SCOPED_TRACE(step);
    std::string principal = "mover-" + std::to_string(moved);
    std::string email = principal + "@example.org";
    auto first = PostRecord(server_, t, principal,
                            {{"email", email}, {"ssn", "219-09-9999"}});
    auto second = PostRecord(server_, t, principal, {{"email", email}});
    ASSERT_EQ(first.status, 201) << first.Describe();
    ASSERT_EQ(second.status, 201) << second.Describe();
    auto token = server_.Call("POST", t.Base() + "/tokenize", Data(t.admin_key),
                              json::object{{"collection", "people"},
                                           {"record", RecordId(first)},
                                           {"fields", json::array{"ssn"}}});
    ASSERT_EQ(token.status, 200) << token.Describe();

    ASSERT_EQ(server_.Stop(), 0);
    ASSERT_TRUE(server_.Start(false, {{"PIIVAULT_CRASH_AT", step}}));
    auto crashed = Relocate(server_, t, principal, "us");
    EXPECT_EQ(crashed.status, 0)
        << "expected no answer: " << crashed.Describe();
    EXPECT_EQ(server_.WaitForExit(std::chrono::seconds(10)),
              std::optional<int>(128 + SIGKILL));
    ASSERT_TRUE(server_.Start());
    ++moved;

    for (auto& rec : {first, second}) {
      auto got =
          server_.Call("GET", t.Record(RecordId(rec)), Data(t.admin_key));
      ASSERT_EQ(got.status, 200) << got.Describe();
      EXPECT_EQ(Str(got.Json(), "region"), "us");
      EXPECT_EQ(Str(Member(got.Json(), "fields"), "email"), email);
      EXPECT_EQ(server_.StoreHasKey("us", "rec/acme/" + RecordId(rec)), true);
      EXPECT_EQ(RowsMentioning(server_, "eu", RecordId(rec)), 0);
    }
    auto found =
        server_.Call("POST", t.Search(), Data(t.admin_key),
                     json::object{{"match", json::object{{"email", email}}}});
    EXPECT_EQ(Array(found.Json(), "records").size(), 2u) << found.Describe();
    auto detok = server_.Call(
        "POST", t.Base() + "/detokenize", Data(t.admin_key),
        json::object{{"tokens", json::array{Str(Member(token.Json(), "tokens"),
                                                "ssn")}}});
    EXPECT_EQ(detok.status, 200) << detok.Describe();
    EXPECT_NE(detok.body.find("219-09-9999"), std::string::npos);
    EXPECT_EQ(RowsMentioning(server_, "control", "relocation/"), 0);
    EXPECT_EQ(Locations(server_, t), (Counts{1, 1, moved, 2 * moved}));
    // Writable again, in its new home.
    auto more = PostRecord(server_, t, principal, {{"email", email}});
    EXPECT_EQ(more.status, 201) << more.Describe();
    EXPECT_EQ(Str(more.Json(), "region"), "us");
    ASSERT_EQ(
        server_.Call("DELETE", t.Record(RecordId(more)), Data(t.admin_key))
            .status,
        204);
  }
  EXPECT_EQ(Relocate(server_, t, "bystander", "eu").status, 200);
}

TEST_F(ResidencyTest, TwoNodesServeOneDeployment) {
  ServerProcess node_b(server_, ServerProcess::SameDeployment{});
  ASSERT_TRUE(node_b.Start());
  Tenant t = SetUpTenant(server_, "acme");
  // Read-your-writes across nodes, both ways.
  auto written = PostRecord(server_, t, "p1", {{"email", "one@example.org"}});
  ASSERT_EQ(written.status, 201) << written.Describe();
  auto read =
      node_b.Call("GET", t.Record(RecordId(written)), Data(t.admin_key));
  ASSERT_EQ(read.status, 200) << read.Describe();
  EXPECT_EQ(Str(Member(read.Json(), "fields"), "email"), "one@example.org");
  auto patched = node_b.Call(
      "PATCH", t.Record(RecordId(written)), Data(t.admin_key),
      json::object{{"fields", json::object{{"email", "two@example.org"}}}});
  ASSERT_EQ(patched.status, 200) << patched.Describe();
  auto again =
      server_.Call("GET", t.Record(RecordId(written)), Data(t.admin_key));
  EXPECT_EQ(Str(Member(again.Json(), "fields"), "email"), "two@example.org");
  ASSERT_EQ(Relocate(node_b, t, "p1", "us").status, 200);
  auto moved =
      server_.Call("GET", t.Record(RecordId(written)), Data(t.admin_key));
  EXPECT_EQ(Str(moved.Json(), "region"), "us") << moved.Describe();

  // A deactivation through one node holds on the other within 1 s.
  auto app =
      server_.Call("POST", t.Base() + "/identities", Auth(t.admin_key),
                   json::object{{"name", "app"}, {"role", "tenant-admin"}});
  ASSERT_EQ(app.status, 201) << app.Describe();
  std::string key = Str(app.Json(), "api_key");
  HttpConnection kept_alive(node_b.port());
  ASSERT_EQ(kept_alive.Send("GET", "/v1/whoami", Auth(key)).status, 200);
  ASSERT_EQ(
      server_
          .Call("DELETE", t.Base() + "/identities/" + Str(app.Json(), "id"),
                Auth(t.admin_key))
          .status,
      204);
  auto deactivated = std::chrono::steady_clock::now();
  int status = 0;
  while (std::chrono::steady_clock::now() - deactivated <
         std::chrono::seconds(1)) {
    status = kept_alive.Send("GET", "/v1/whoami", Auth(key)).status;
    if (status == 401) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(status, 401) << "node B still accepted the key after 1 s";
  EXPECT_EQ(node_b.Stop(), 0);
}

void Replace(std::string& text, const std::string& from,
             const std::string& to) {
  auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
}

// Starts `deployment` with its us region on a PostgreSQL database of its own
// (whatever the other stores are), made on the test server `server`;
// `edit` changes the config further.
::testing::AssertionResult StartWithUsOnPostgres(
    ServerProcess& deployment, std::string& server,
    std::optional<piivault::testing::TestDatabase>& us_db,
    const std::function<void(std::string&)>& edit = {}) {
  auto url = piivault::testing::TestPostgresUrl();
  if (!url) return ::testing::AssertionFailure() << url.error();
  server = *url;
  auto db = piivault::testing::CreateTestDatabase(server);
  if (!db) return ::testing::AssertionFailure() << db.error();
  us_db = *db;
  if (!deployment.init_ok())
    return ::testing::AssertionFailure() << "init failed";
  deployment.EditConfig([&](std::string& config) {
    Replace(config, "\"" + deployment.StoreUrl("us") + "\"",
            "\"" + us_db->url + "\"");
    if (edit) edit(config);
  });
  return deployment.Start();
}

// A PostgreSQL region that goes down: its principals get 503, the other
// region keeps working, nothing is half-written, and it recovers.
TEST(RegionDown, Gives503ForItsPrincipalsOnly) {
  std::string server;
  std::optional<piivault::testing::TestDatabase> us_db;
  ServerProcess deployment;
  ASSERT_TRUE(StartWithUsOnPostgres(deployment, server, us_db));
  Tenant t = SetUpTenant(deployment, "acme");
  auto in_us =
      PostRecord(deployment, t, "p-us", {{"email", "u@example.org"}}, "us");
  auto in_eu = PostRecord(deployment, t, "p-eu", {{"email", "e@example.org"}});
  ASSERT_EQ(in_us.status, 201) << in_us.Describe();
  ASSERT_EQ(in_eu.status, 201) << in_eu.Describe();

  auto set_connections = [&](bool allowed) {
    auto r = piivault::testing::QueryRows(
        server, "ALTER DATABASE " + us_db->name + " ALLOW_CONNECTIONS " +
                    (allowed ? "true" : "false"));
    ASSERT_TRUE(r.has_value()) << r.error();
    if (!allowed) {
      auto n = piivault::testing::TerminateConnections(server, us_db->name);
      ASSERT_TRUE(n.has_value()) << n.error();
    }
  };
  set_connections(false);
  EXPECT_TRUE(IsError(
      deployment.Call("GET", t.Record(RecordId(in_us)), Data(t.admin_key)), 503,
      "unavailable"));
  EXPECT_TRUE(
      IsError(PostRecord(deployment, t, "p-us", {{"email", "u2@example.org"}}),
              503, "unavailable"));
  EXPECT_TRUE(IsError(
      PostRecord(deployment, t, "p-new", {{"email", "n@example.org"}}, "us"),
      503, "unavailable"));
  auto eu_read =
      deployment.Call("GET", t.Record(RecordId(in_eu)), Data(t.admin_key));
  EXPECT_EQ(eu_read.status, 200) << eu_read.Describe();
  EXPECT_EQ(
      PostRecord(deployment, t, "p-eu", {{"email", "e2@example.org"}}).status,
      201);
  auto report =
      deployment.Call("GET", t.Base() + "/locations", Auth(t.admin_key));
  ASSERT_EQ(report.status, 200) << report.Describe();
  EXPECT_EQ(Serialize(Member(Array(report.Json(), "regions")[1], "available")),
            "false");

  // Once the database is back, requests succeed again (the backend waits a
  // moment before reconnecting to a store that was down).
  set_connections(true);
  HttpResponse back;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    back = deployment.Call("GET", t.Record(RecordId(in_us)), Data(t.admin_key));
    if (back.status == 200) break;
    std::this_thread::sleep_for(milliseconds(100));
  } while (std::chrono::steady_clock::now() < until);
  EXPECT_EQ(back.status, 200) << back.Describe();
  // Nothing of the refused writes was applied anywhere.
  EXPECT_EQ(Locations(deployment, t), (Counts{1, 2, 1, 1}));
  deployment.Stop();
  (void)piivault::testing::DropTestDatabase(server, us_db->name);
}

TEST(ServeConfig, RefusesBadRegionConfigWithOneLine) {
  struct Case {
    std::string name;
    std::function<void(std::string&, const ServerProcess&)> edit;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"duplicate country",
       [](std::string& c, const ServerProcess&) {
         Replace(c, "countries = [\"US\"]", "countries = [\"US\", \"DE\"]");
       },
       "country DE is mapped to both regions.eu and regions.us"},
      {"unreachable control store",
       [](std::string& c, const ServerProcess& s) {
         Replace(c, s.StoreUrl("control"),
                 "postgresql://piivault@127.0.0.1:" +
                     std::to_string(FreePort()) + "/none?connect_timeout=2");
       },
       "control store unreachable"},
      {"unknown backend scheme",
       [](std::string& c, const ServerProcess& s) {
         Replace(c, s.StoreUrl("us"), "ftp://example.invalid/us");
       },
       "region us: unknown storage backend scheme"},
      {"bad region id",
       [](std::string& c, const ServerProcess&) {
         Replace(c, "[regions.us]", "[regions.US]");
       },
       "region id \"US\""},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    ServerProcess server;
    ASSERT_TRUE(server.init_ok());
    server.EditConfig([&](std::string& text) { c.edit(text, server); });
    std::string output;
    uint16_t port = FreePort();
    EXPECT_TRUE(server.ExpectServeRefuses("127.0.0.1:" + std::to_string(port),
                                          port, &output));
    // The one-line error on stderr names the problem.
    std::string line;
    std::istringstream lines(output);
    while (std::getline(lines, line) && !line.starts_with("piivault: ")) {
    }
    EXPECT_NE(line.find(c.expected), std::string::npos) << output;
  }
}

// A tenant whose region was removed from the config would silently lose its
// principals there; serve refuses to start instead.
TEST(ServeConfig, RefusesConfigMissingATenantsRegion) {
  ServerProcess server;
  ASSERT_TRUE(server.init_ok());
  ASSERT_TRUE(server.Start());
  SetUpTenant(server, "acme");
  ASSERT_EQ(server.Stop(), 0);
  server.EditConfig([](std::string& c) {
    auto at = c.find("[regions.us]");
    ASSERT_NE(at, std::string::npos);
    c.erase(at, c.find("\n[", at) + 1 - at);
  });
  std::string output;
  uint16_t port = FreePort();
  EXPECT_TRUE(server.ExpectServeRefuses("127.0.0.1:" + std::to_string(port),
                                        port, &output));
  EXPECT_NE(output.find("tenant acme uses region us"), std::string::npos)
      << output;
}

// A PostgreSQL region stuck behind a lock (another session holds its table
// exclusively): requests for its principals answer 503 within the
// configured statement timeout instead of hanging, the server keeps
// answering meanwhile, and it reads normally once the lock is gone.
TEST(RegionLocked, Gives503WithinTheStatementTimeout) {
  std::string server;
  std::optional<piivault::testing::TestDatabase> us_db;
  ServerProcess deployment;
  ASSERT_TRUE(
      StartWithUsOnPostgres(deployment, server, us_db, [](std::string& config) {
        Replace(config, "statement_timeout = \"PT5S\"",
                "statement_timeout = \"PT1S\"");
        Replace(config, "pool_wait_timeout = \"PT2S\"",
                "pool_wait_timeout = \"PT1S\"");
      }));
  Tenant t = SetUpTenant(deployment, "acme");
  auto in_us =
      PostRecord(deployment, t, "p-us", {{"email", "u@example.org"}}, "us");
  ASSERT_EQ(in_us.status, 201) << in_us.Describe();

  auto lock = piivault::testing::HeldSession::Start(
      us_db->url, "BEGIN; LOCK TABLE piivault_kv IN ACCESS EXCLUSIVE MODE");
  ASSERT_TRUE(lock.has_value()) << lock.error();
  // The client's own bound, well above the server's: a request that waits
  // without limit fails here instead of hanging the test.
  constexpr auto kClientTimeout = std::chrono::seconds(8);
  auto bounded = [&](std::string_view method, const std::string& path,
                     const Headers& headers, std::string_view body = {}) {
    HttpConnection conn(deployment.port(), kClientTimeout);
    return conn.Send(method, path, headers, body);
  };
  const auto started = std::chrono::steady_clock::now();
  auto read = bounded("GET", t.Record(RecordId(in_us)), Data(t.admin_key));
  EXPECT_TRUE(IsError(read, 503, "unavailable")) << read.Describe();
  EXPECT_LT(std::chrono::steady_clock::now() - started, kClientTimeout);
  auto view = bounded("GET", t.Base() + "/principals/p-us", Data(t.admin_key));
  EXPECT_TRUE(IsError(view, 503, "unavailable")) << view.Describe();
  auto write =
      bounded("POST", t.Records(), Data(t.admin_key),
              Serialize(json::object{
                  {"principal", "p-us"},
                  {"fields", json::object{{"email", "w@example.org"}}}}));
  EXPECT_TRUE(IsError(write, 503, "unavailable")) << write.Describe();
  auto health = bounded("GET", "/healthz", {});
  EXPECT_EQ(health.status, 200) << health.Describe();

  lock->reset();
  auto after =
      deployment.Call("GET", t.Record(RecordId(in_us)), Data(t.admin_key));
  EXPECT_EQ(after.status, 200) << after.Describe();
  EXPECT_EQ(deployment.Stop(), 0) << deployment.Log();
  (void)piivault::testing::DropTestDatabase(server, us_db->name);
}

}  // namespace
}  // namespace it
