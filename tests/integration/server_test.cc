// The server process: HTTP behaviour, metrics, shutdown, start-up checks,
// TLS and init.
#include <sys/stat.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"

namespace it {
namespace {

using Clock = std::chrono::steady_clock;

int Mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

using HttpServerTest = ServerTest;

// The default build links the server with jemalloc (it costs less CPU per
// request than glibc's malloc); a build that silently fell back would lose
// that without any test noticing. Sanitizer builds run on their own.
TEST_F(HttpServerTest, TheStartUpLineNamesTheAllocator) {
  std::string log = server_.Log();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      log, m, std::regex(R"re("msg":"listening".*"allocator":"([^"]*)")re")))
      << log;
#ifdef PIIVAULT_WITH_JEMALLOC
  EXPECT_TRUE(m[1].str().starts_with("jemalloc 5.")) << m[1];
#else
  EXPECT_EQ(m[1].str(), "system");
#endif
}

TEST_F(HttpServerTest, KeepAliveAndRequestId) {
  HttpConnection conn(server_.port());
  ASSERT_TRUE(conn.connected());
  Headers with_id = Auth(server_.admin_key());
  with_id.emplace_back("X-Request-Id", "it-req-0001");
  auto r1 = conn.Send("GET", "/v1/whoami", with_id);
  ASSERT_EQ(r1.status, 200) << r1.Describe();
  EXPECT_EQ(r1.Header("x-request-id"), "it-req-0001");
  EXPECT_NE(r1.Header("connection"), "close");
  EXPECT_EQ(Str(r1.Json(), "role"), "operator-admin");

  auto r2 = conn.Send("GET", "/healthz");
  ASSERT_EQ(r2.status, 200) << r2.Describe();
  std::string generated = r2.Header("X-Request-Id");
  EXPECT_FALSE(generated.empty());
  EXPECT_NE(generated, "it-req-0001");

  auto r3 = conn.Send("GET", "/v1/regions", Auth(server_.admin_key()));
  ASSERT_EQ(r3.status, 200) << r3.Describe();
  EXPECT_FALSE(r3.Header("x-request-id").empty());
  EXPECT_NE(r3.Header("x-request-id"), generated);
  std::map<std::string, std::string> regions;
  for (auto& r : Array(r3.Json(), "regions")) {
    std::string countries;
    for (auto& c : Array(r, "countries")) countries += c.as_string().c_str();
    regions[Str(r, "id")] = countries;
  }
  EXPECT_EQ(regions.size(), 2u) << r3.body;
  EXPECT_EQ(regions["us"], "US");
  EXPECT_NE(regions["eu"].find("DE"), std::string::npos);

  // Errors carry the request id as well, still on the same connection.
  auto r4 = conn.Send("GET", "/v1/whoami", {{"X-Request-Id", "it-req-err"}});
  EXPECT_TRUE(IsError(r4, 401, "unauthenticated"));
  EXPECT_EQ(r4.Header("x-request-id"), "it-req-err");

  // "Connection: close" is honoured.
  auto r5 = conn.Send("GET", "/healthz", {{"Connection", "close"}});
  ASSERT_EQ(r5.status, 200) << r5.Describe();
  EXPECT_TRUE(conn.WaitReadable(std::chrono::seconds(5)));
  EXPECT_EQ(conn.Send("GET", "/healthz").status, 0);
}

// RFC 9110 11.1: the authentication scheme is a case-insensitive token.
TEST_F(HttpServerTest, BearerSchemeIsCaseInsensitive) {
  for (const char* scheme : {"Bearer", "bearer", "BEARER"}) {
    auto r = server_.Call(
        "GET", "/v1/whoami",
        {{"Authorization", std::string(scheme) + " " + server_.admin_key()}});
    EXPECT_EQ(r.status, 200) << scheme << ": " << r.Describe();
  }
}

// The request id is part of every response, including requests refused
// before they reach a handler.
TEST_F(HttpServerTest, RequestIdOnOversizedRequest) {
  std::string body(1024 * 1024 + 100, ' ');
  body.front() = '{';
  body.back() = '}';
  auto r = server_.Call("POST", "/v1/tenants",
                        {{"Authorization", "Bearer " + server_.admin_key()},
                         {"X-Request-Id", "it-big-0001"}},
                        body);
  ASSERT_TRUE(IsError(r, 413, "payload_too_large"));
  EXPECT_EQ(r.Header("x-request-id"), "it-big-0001");
  auto generated =
      server_.Call("POST", "/v1/tenants", Auth(server_.admin_key()), body);
  ASSERT_TRUE(IsError(generated, 413, "payload_too_large"));
  EXPECT_FALSE(generated.Header("x-request-id").empty());
}

long long MetricValue(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::atoll(text.c_str() + at + 1 + series.size() + 1);
}

TEST_F(HttpServerTest, MetricsAndHealth) {
  auto health = server_.Call("GET", "/healthz");
  ASSERT_EQ(health.status, 200) << health.Describe();
  EXPECT_EQ(health.Json(), json::parse(R"({"status":"ok"})")) << health.body;
  EXPECT_TRUE(health.Header("content-type").starts_with("application/json"));

  auto m1 = server_.Call("GET", "/metrics");
  ASSERT_EQ(m1.status, 200) << m1.Describe();
  EXPECT_TRUE(m1.Header("content-type").starts_with("text/plain"))
      << m1.Header("content-type");
  EXPECT_NE(m1.body.find("# TYPE piivault_http_requests_total counter"),
            std::string::npos)
      << m1.body.substr(0, 2000);
  EXPECT_NE(
      m1.body.find("# TYPE piivault_http_request_duration_seconds histogram"),
      std::string::npos);
  // Every sample line is `name{labels} value`.
  std::regex sample(R"(^[a-z_]+(\{[^}]*\})? [0-9.eE+-]+$)");
  std::istringstream lines(m1.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
  }

  const std::string ok =
      R"(piivault_http_requests_total{route="whoami",code="2xx"})";
  const std::string denied =
      R"(piivault_http_requests_total{route="whoami",code="4xx"})";
  const std::string count =
      R"(piivault_http_request_duration_seconds_count{route="whoami"})";
  const std::string inf =
      R"(piivault_http_request_duration_seconds_bucket{route="whoami",le="+Inf"})";
  const std::string health_ok =
      R"(piivault_http_requests_total{route="health",code="2xx"})";
  long long ok0 = MetricValue(m1.body, ok),
            denied0 = MetricValue(m1.body, denied),
            count0 = MetricValue(m1.body, count),
            health0 = MetricValue(m1.body, health_ok);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(
        server_.Call("GET", "/v1/whoami", Auth(server_.admin_key())).status,
        200);
  EXPECT_EQ(server_.Call("GET", "/v1/whoami").status, 401);
  EXPECT_EQ(server_.Call("GET", "/healthz").status, 200);

  auto m2 = server_.Call("GET", "/metrics");
  ASSERT_EQ(m2.status, 200) << m2.Describe();
  EXPECT_EQ(MetricValue(m2.body, ok), ok0 + 3) << m2.body.substr(0, 3000);
  EXPECT_EQ(MetricValue(m2.body, denied), denied0 + 1);
  EXPECT_EQ(MetricValue(m2.body, count), count0 + 4);
  EXPECT_EQ(MetricValue(m2.body, inf), count0 + 4);
  EXPECT_GE(MetricValue(m2.body, health_ok), health0 + 1);
  // No raw paths or principal ids in label values.
  EXPECT_EQ(m2.body.find("/v1/"), std::string::npos);
}

// Integrators fetch the contract from the running server, without a key.
TEST_F(HttpServerTest, ServesTheOpenApiDocument) {
  auto r = server_.Call("GET", "/v1/openapi.json");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_TRUE(r.Header("content-type").starts_with("application/json"))
      << r.Header("content-type");
  const json::value& doc = r.Json();  // null unless it parses
  ASSERT_TRUE(doc.is_object()) << r.body.substr(0, 200);
  const json::value* version = doc.as_object().if_contains("openapi");
  ASSERT_TRUE(version && version->is_string());
  EXPECT_TRUE(version->get_string().starts_with("3.1")) << *version;
}

// SIGTERM while new connections keep arriving: the listener stops cleanly
// every time (closing the acceptor once raced the next accept and crashed).
TEST_F(HttpServerTest, StopsCleanlyWhileConnectionsArrive) {
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    if (round > 0) {
      ASSERT_TRUE(server_.Start());
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 3; ++c)
      clients.emplace_back([&] {
        while (!stop) {
          HttpConnection conn(server_.port(), std::chrono::seconds(2));
          if (conn.connected()) conn.Send("GET", "/healthz");
        }
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(server_.Stop(), 0) << server_.Log();
    stop = true;
    for (auto& t : clients) t.join();
  }
}

TEST_F(HttpServerTest, GracefulShutdown) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_FALSE(t.admin_key.empty());
  auto created = PostRecord(
      server_, t, "grace-p1",
      json::object{{"email", "grace.period@example.org"}, {"count", 7}});
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string rid = Str(created.Json(), "id");

  // Writers keep going while SIGTERM arrives; every write acknowledged
  // with 201 must survive.
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> acked;  // id, email
  std::atomic<int> total{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      HttpConnection conn(server_.port());
      for (int i = 0; i < 2000; ++i) {
        std::string email = "late" + std::to_string(w) + "x" +
                            std::to_string(i) + "@example.org";
        auto r = conn.Send("POST", t.Records(), Data(t.admin_key),
                           Serialize(json::object{
                               {"principal", "late-" + std::to_string(w)},
                               {"fields", json::object{{"email", email}}}}));
        if (r.status != 201) return;  // the server closed the connection
        std::lock_guard lock(mu);
        acked.emplace_back(Str(r.Json(), "id"), email);
        ++total;
      }
    });
  }
  // An idle keep-alive connection does not hold shutdown up.
  HttpConnection idle(server_.port());
  ASSERT_EQ(idle.Send("GET", "/healthz").status, 200);
  auto wait_until = Clock::now() + std::chrono::seconds(5);
  while (total.load() < 20 && Clock::now() < wait_until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto started = Clock::now();
  EXPECT_EQ(server_.Stop(), 0) << server_.Log();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
  for (auto& w : writers) w.join();
  EXPECT_GE(acked.size(), 20u);
  std::string log = server_.Log();
  EXPECT_NE(log.find("\"msg\":\"stopped\""), std::string::npos) << log;
  EXPECT_TRUE(idle.WaitReadable(std::chrono::seconds(2)));

  // The acknowledged write survives a restart on the same data dir.
  ASSERT_TRUE(server_.Start());
  auto got = server_.Call("GET", t.Record(rid), Data(t.admin_key));
  ASSERT_EQ(got.status, 200) << got.Describe();
  EXPECT_EQ(Str(Member(got.Json(), "fields"), "email"),
            "grace.period@example.org");
  EXPECT_EQ(Member(Member(got.Json(), "fields"), "count"), json::value(7));
  auto found = server_.Call(
      "POST", t.Search(), Data(t.admin_key),
      json::object{
          {"match", json::object{{"email", "grace.period@example.org"}}}});
  EXPECT_EQ(Array(found.Json(), "records").size(), 1u) << found.Describe();
  HttpConnection conn(server_.port());
  std::size_t readable = 0;
  for (auto& [id, email] : acked) {
    auto r = conn.Send("GET", t.Record(id), Data(t.admin_key));
    if (r.status == 200 && Str(Member(r.Json(), "fields"), "email") == email) {
      ++readable;
    } else {
      ADD_FAILURE() << "acknowledged write " << id << " lost: " << r.Describe();
    }
    if (r.status == 0) break;
  }
  EXPECT_EQ(readable, acked.size());
  EXPECT_EQ(server_.Stop(), 0) << server_.Log();
}

TEST(ServeStartup, ServeRefusesBadMasterKey) {
  ServerProcess server;
  ASSERT_TRUE(server.init_ok());
  const std::string key_path = server.data_dir() + "/master.key";
  const std::string original = ReadFile(key_path);
  ASSERT_EQ(original.size(), 32u);
  ASSERT_EQ(Mode(key_path), 0600);
  const uint16_t port = FreePort();
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  const auto quickly = std::chrono::seconds(5);
  std::string out;

  // Readable by group and others.
  ASSERT_EQ(::chmod(key_path.c_str(), 0644), 0);
  EXPECT_TRUE(server.ExpectServeRefuses(listen, port, &out, quickly));
  EXPECT_NE(out.find("0644"), std::string::npos) << out;
  EXPECT_TRUE(out.find("chmod") != std::string::npos ||
              out.find("permission") != std::string::npos ||
              out.find("accessible") != std::string::npos)
      << out;
  ASSERT_EQ(::chmod(key_path.c_str(), 0600), 0);

  // Truncated to 31 bytes.
  WriteFile(key_path, original.substr(0, 31));
  ASSERT_EQ(Mode(key_path), 0600);
  EXPECT_TRUE(server.ExpectServeRefuses(listen, port, &out, quickly));
  EXPECT_NE(out.find("31"), std::string::npos) << out;

  // Missing.
  ASSERT_EQ(std::rename(key_path.c_str(), (key_path + ".away").c_str()), 0);
  EXPECT_TRUE(server.ExpectServeRefuses(listen, port, &out, quickly));
  EXPECT_TRUE(out.find("master.key") != std::string::npos) << out;
  ASSERT_EQ(std::rename((key_path + ".away").c_str(), key_path.c_str()), 0);

  // Another well-formed key that does not belong to this deployment.
  std::string other(32, '\0');
  {
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    rnd.read(other.data(), 32);
  }
  ASSERT_NE(other, original);
  WriteFile(key_path, other);
  ASSERT_EQ(::chmod(key_path.c_str(), 0600), 0);
  EXPECT_TRUE(server.ExpectServeRefuses(listen, port, &out, quickly));
  EXPECT_NE(out.find("does not belong"), std::string::npos) << out;

  // The right key, and the deployment serves again with its data intact.
  WriteFile(key_path, original);
  ASSERT_EQ(Mode(key_path), 0600);
  ASSERT_TRUE(server.Start());
  auto who = server.Call("GET", "/v1/whoami", Auth(server.admin_key()));
  EXPECT_EQ(who.status, 200) << who.Describe();
  EXPECT_EQ(server.Stop(), 0);
}

TEST(ServeStartup, ServeRefusesPlainHttpOffLoopback) {
  ServerProcess server;
  ASSERT_TRUE(server.init_ok());
  const uint16_t port = FreePort();
  std::string out;
  EXPECT_TRUE(
      server.ExpectServeRefuses("0.0.0.0:" + std::to_string(port), port, &out));
  EXPECT_NE(out.find("loopback"), std::string::npos) << out;
  EXPECT_NE(out.find("tls"), std::string::npos) << out;
  // Also when the non-loopback address comes from the config file.
  server.EditConfig([](std::string& text) {
    auto at = text.find("listen = \"127.0.0.1:8200\"");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, std::strlen("listen = \"127.0.0.1:8200\""),
                 "listen = \"0.0.0.0:8200\"");
  });
  RunResult r =
      RunCommand({PiivaultBin(), "serve", "--config", server.config_path()}, {},
                 std::chrono::seconds(10));
  EXPECT_FALSE(r.timed_out) << "serve kept running on 0.0.0.0 without TLS";
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("loopback"), std::string::npos)
      << r.out << r.err;
}

TEST(ServeStartup, TlsServes) {
  ServerProcess server;
  ASSERT_TRUE(server.init_ok());
  server.EnableTls();
  ASSERT_TRUE(server.Start(/*tls=*/true)) << server.Log();
  const std::string port = std::to_string(server.port());
  const std::string cert = server.data_dir() + "/tls/cert.pem";
  const std::string curl =
      "curl -sS --max-time 10 --resolve localhost:" + port + ":127.0.0.1 ";
  const std::string url = "https://localhost:" + port;

  RunResult ok = Shell(curl + "--cacert " + cert + " " + url + "/healthz 2>&1");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find(R"({"status":"ok"})"), std::string::npos) << ok.out;

  RunResult who =
      Shell(curl + "--cacert " + cert + " -H 'Authorization: Bearer " +
            server.admin_key() + "' " + url + "/v1/whoami 2>&1");
  EXPECT_EQ(who.exit_code, 0) << who.out;
  EXPECT_NE(who.out.find("operator-admin"), std::string::npos) << who.out;

  // TLS 1.2 works; TLS 1.1 and older are refused.
  RunResult tls12 = Shell(curl + "--cacert " + cert +
                          " --tlsv1.2 --tls-max 1.2 " + url + "/healthz 2>&1");
  EXPECT_EQ(tls12.exit_code, 0) << tls12.out;
  RunResult tls11 = Shell(curl + "--cacert " + cert +
                          " --tlsv1.1 --tls-max 1.1 " + url + "/healthz 2>&1");
  EXPECT_NE(tls11.exit_code, 0) << tls11.out;
  EXPECT_EQ(tls11.out.find(R"("status")"), std::string::npos) << tls11.out;
  // The server refused (protocol_version alert), not the client library.
  EXPECT_NE(tls11.out.find("alert protocol version"), std::string::npos)
      << tls11.out;
  // The same with a client that is willing to speak TLS 1.1, so the refusal
  // is the server's.
  RunResult s_client =
      Shell("openssl s_client -connect 127.0.0.1:" + port +
            " -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1");
  EXPECT_NE(s_client.exit_code, 0) << s_client.out;
  EXPECT_NE(s_client.out.find("alert protocol version"), std::string::npos)
      << s_client.out;

  // An untrusted client certificate store rejects the self-signed cert.
  RunResult untrusted = Shell(curl + url + "/healthz 2>&1");
  EXPECT_NE(untrusted.exit_code, 0) << untrusted.out;
  // Plain HTTP on the TLS port gets no HTTP answer.
  auto plain = Http(server.port(), "GET", "/healthz");
  EXPECT_NE(plain.status, 200) << plain.Describe();
  EXPECT_EQ(server.Stop(), 0) << server.Log();
  EXPECT_NE(server.Log().find("\"tls\":true"), std::string::npos);
}

TEST(ServeStartup, InitRefusesToOverwrite) {
  ServerProcess server;
  ASSERT_TRUE(server.init_ok());
  const std::string dir = server.data_dir();
  EXPECT_NE(server.init_result().out.find(server.admin_key()),
            std::string::npos)
      << "init prints the admin key";
  EXPECT_EQ(Mode(dir + "/master.key"), 0600);
  EXPECT_EQ(Mode(dir + "/admin.key"), 0600);
  EXPECT_EQ(Mode(dir + "/tls/key.pem"), 0600);
  const std::string key = ReadFile(dir + "/master.key");
  const std::string admin = ReadFile(dir + "/admin.key");
  const std::string config = ReadFile(dir + "/piivault.toml");
  const std::string tls_key = ReadFile(dir + "/tls/key.pem");

  RunResult again = RunCommand({PiivaultBin(), "init", "--dir", dir});
  EXPECT_NE(again.exit_code, 0) << again.out << again.err;
  EXPECT_FALSE(again.timed_out);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(again.out.find("pv."), std::string::npos) << "printed a new key";
  EXPECT_EQ(ReadFile(dir + "/master.key"), key);
  EXPECT_EQ(ReadFile(dir + "/admin.key"), admin);
  EXPECT_EQ(ReadFile(dir + "/piivault.toml"), config);
  EXPECT_EQ(ReadFile(dir + "/tls/key.pem"), tls_key);
  EXPECT_EQ(Mode(dir + "/master.key"), 0600);

  // The deployment still works with its original admin key.
  ASSERT_TRUE(server.Start());
  EXPECT_EQ(server.Call("GET", "/v1/whoami", Auth(server.admin_key())).status,
            200);
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace it
