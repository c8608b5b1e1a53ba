// The HTTP server's edges, driven with raw bytes over sockets against the
// real binary: request framing (RFC 9112: smuggling, malformed requests),
// the JSON-only request body, the connection cap, accept errors, read
// timeouts for idle and slow clients, and the TLS parameters (through
// `openssl s_client`).
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace it {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kHealthz =
    "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// A request that must never run: it follows a malformed or ambiguous one on
// the same connection, where a server that misjudged the first one's end
// would read it as the next request. It would create tenant "smuggled".
std::string Hidden(const ServerProcess& server) {
  const std::string body =
      R"({"id":"smuggled","name":"S","regions":["eu"],"default_region":"eu"})";
  return "POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         "Authorization: Bearer " +
         server.admin_key() +
         "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

::testing::AssertionResult NothingSmuggled(const ServerProcess& server) {
  return IsError(
      server.Call("GET", "/v1/tenants/smuggled",
                  {{"Authorization", "Bearer " + server.admin_key()}}),
      404, "not_found");
}

// Reads on after a response: the server must have closed the connection
// rather than sent anything else.
::testing::AssertionResult ClosedByServer(HttpConnection& conn) {
  HttpResponse next = conn.ReadResponse();
  if (next.status != 0)
    return ::testing::AssertionFailure()
           << "the server answered again: " << next.Describe();
  if (next.error == "connection closed by the server" ||
      next.error.starts_with("recv: Connection reset"))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "the connection is still open: " << next.error;
}

// Sends `bytes` (followed by Hidden()) on a fresh connection: one 400
// invalid_argument comes back, and then the connection closes.
::testing::AssertionResult RefusedAndClosed(const ServerProcess& server,
                                            const std::string& bytes) {
  HttpConnection conn(server.port(), seconds(10));
  if (!conn.connected()) return ::testing::AssertionFailure() << "no connect";
  conn.SendRaw(bytes + Hidden(server));
  HttpResponse r = conn.ReadResponse();
  if (auto error = IsError(r, 400, "invalid_argument"); !error) return error;
  return ClosedByServer(conn);
}

// Shows the bytes of a test case in failure messages.
std::string Printable(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\x" + std::to_string(static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out;
}

using Framing = ServerTest;

// RFC 9112 §6.1, §6.3: a Transfer-Encoding other than one final "chunked",
// or one next to a Content-Length, leaves the body's end ambiguous; so does
// a missing or doubled Host. Each gets 400 and a close, and what the server
// might have taken for the body never runs as a request of its own.
TEST_F(Framing, AmbiguousFramingIsRefusedAndCloses) {
  const std::string hidden_as_body = Hidden(server_);
  const std::string length =
      "Content-Length: " + std::to_string(hidden_as_body.size()) + "\r\n";
  auto post = [](const std::string& headers) {
    return "POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Content-Type: application/json\r\n" +
           headers + "\r\n";
  };
  const std::vector<std::string> cases = {
      // Transfer-Encoding that Beast ignores, leaving Content-Length to frame.
      post("Transfer-Encoding: chunked, chunked\r\n" + length),
      post("Transfer-Encoding: gzip\r\n" + length),
      post("Transfer-Encoding: \"chunked\"\r\n" + length),
      post("Transfer-Encoding: \r\n" + length),
      post("Transfer-Encoding: chunked;q=1\r\n" + length),
      // ...and the same with no Content-Length: no body at all.
      post("Transfer-Encoding: gzip\r\n"),
      // A final chunked after another coding, which the server cannot undo.
      post("Transfer-Encoding: gzip, chunked\r\n") + "0\r\n\r\n",
      post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") +
          "0\r\n\r\n",
      // Both framings, in either order.
      post("Transfer-Encoding: chunked\r\n" + length) + "0\r\n\r\n",
      post(length + "Transfer-Encoding: chunked\r\n") + "0\r\n\r\n",
      post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") +
          "0\r\n\r\n",
      // Host: missing in HTTP/1.1, or twice.
      "GET /healthz HTTP/1.1\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: example.org\r\n\r\n",
  };
  for (const auto& bytes : cases) {
    SCOPED_TRACE(Printable(bytes));
    std::string request = bytes;
    // Where Content-Length frames the body, the hidden request is that body.
    if (bytes.find("Content-Length") != std::string::npos &&
        bytes.find("0\r\n\r\n") == std::string::npos)
      request += hidden_as_body;
    EXPECT_TRUE(RefusedAndClosed(server_, request));
  }
  EXPECT_TRUE(NothingSmuggled(server_));
  // HTTP/1.0 needs no Host, and a plain chunked body is fine.
  HttpConnection conn(server_.port());
  conn.SendRaw("GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(conn.ReadResponse().status, 200);
  HttpConnection chunked(server_.port());
  chunked.SendRaw(
      "POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\n"
      "Transfer-Encoding: Chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  EXPECT_TRUE(IsError(chunked.ReadResponse(), 401, "unauthenticated"));
  EXPECT_EQ(chunked.Send("GET", "/healthz").status, 200);
}

// Requests that are not HTTP/1.1 get a 400 in the error contract (not a
// silent close), and nothing after the malformed part runs.
TEST_F(Framing, MalformedRequestsGet400AndClose) {
  auto post = [](const std::string& headers) {
    return "POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Content-Type: application/json\r\n" +
           headers + "\r\n";
  };
  using namespace std::string_literals;
  const std::vector<std::string> cases = {
      // Content-Length that is not one decimal number.
      post("Content-Length: -1\r\n"),
      post("Content-Length: +5\r\n") + "{}   ",
      post("Content-Length: 0x10\r\n"),
      post("Content-Length: 5 5\r\n"),
      post("Content-Length: \r\n"),
      post("Content-Length: 2\r\nContent-Length: 3\r\n") + "{} ",
      post("Content-Length: 2, 3\r\n") + "{} ",
      // Bad chunks.
      post("Transfer-Encoding: chunked\r\n") + "zz\r\n{}\r\n0\r\n\r\n",
      post("Transfer-Encoding: chunked\r\n") + "-2\r\n{}\r\n0\r\n\r\n",
      post("Transfer-Encoding: chunked\r\n") + "2\r\n{}XX0\r\n\r\n",
      post("Transfer-Encoding: chunked\r\n") + "2 ;\x01\r\n{}\r\n0\r\n\r\n",
      // Bad request lines.
      "GET /healthz\r\nHost: 127.0.0.1\r\n\r\n",
      "GET  /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /healthz HTTP/1.1 extra\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /healthz HTTQ/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "G(T /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /health z HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /healthz HTTP/1.1\nHost: 127.0.0.1\r\n\r\n",
      // Bad header lines.
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-No-Colon\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Space : a\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n: empty-name\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Nul: a\0b\r\n\r\n"s,
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Cr: a\rb\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Lf: a\nb\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Lf: a\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ctl: a\x01z\r\n\r\n",
  };
  for (const auto& bytes : cases) {
    SCOPED_TRACE(Printable(bytes));
    EXPECT_TRUE(RefusedAndClosed(server_, bytes));
  }
  EXPECT_TRUE(NothingSmuggled(server_));
  // The server is unharmed.
  EXPECT_EQ(server_.Call("GET", "/healthz").status, 200);
}

// A request body is JSON or nothing: any other Content-Type (or none) is
// 415 before the request is routed, and the connection stays usable.
TEST_F(Framing, BodyMustBeJson) {
  const std::string body =
      R"({"id":"ct-%","name":"Media","regions":["eu"],"default_region":"eu"})";
  auto tenant_body = [&](const std::string& id) {
    std::string b = body;
    b.replace(b.find('%'), 1, id);
    return b;
  };
  auto raw_post = [&](const std::string& content_type, const std::string& id) {
    std::string b = tenant_body(id);
    std::string head =
        "POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Authorization: Bearer " +
        server_.admin_key() + "\r\n";
    if (!content_type.empty()) head += "Content-Type: " + content_type + "\r\n";
    return head + "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" +
           b;
  };
  HttpConnection conn(server_.port());
  int n = 0;
  for (std::string bad :
       {"text/plain", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "", "application/jsonx",
        "application/json-seq", "text/json", "application/ld+json"}) {
    SCOPED_TRACE("Content-Type: " + bad);
    const std::string id = "bad" + std::to_string(n++);
    conn.SendRaw(raw_post(bad, id));
    EXPECT_TRUE(IsError(conn.ReadResponse(), 415, "unsupported_media_type"));
    // Nothing was created, and the connection still serves.
    EXPECT_TRUE(IsError(
        conn.Send("GET", "/v1/tenants/ct-" + id, Auth(server_.admin_key())),
        404, "not_found"));
  }
  // Two Content-Type headers are not one media type.
  std::string twice = raw_post("application/json", "twice");
  twice.insert(twice.find("Content-Length"), "Content-Type: text/plain\r\n");
  conn.SendRaw(twice);
  EXPECT_TRUE(IsError(conn.ReadResponse(), 415, "unsupported_media_type"));
  // A chunked body is judged the same way.
  std::string chunked_body = tenant_body("chunked");
  std::ostringstream hex;
  hex << std::hex << chunked_body.size();
  conn.SendRaw(
      "POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      server_.admin_key() +
      "\r\nContent-Type: text/plain\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      hex.str() + "\r\n" + chunked_body + "\r\n0\r\n\r\n");
  EXPECT_TRUE(IsError(conn.ReadResponse(), 415, "unsupported_media_type"));
  // A 415 comes before authentication, so it tells a stranger nothing.
  EXPECT_TRUE(IsError(Http(server_.port(), "POST", "/v1/tenants",
                           {{"Content-Type", "text/plain"}}, "{}"),
                      415, "unsupported_media_type"));

  // application/json, with parameters, in any case.
  int ok = 0;
  for (std::string good :
       {"application/json", "application/json; charset=utf-8",
        "Application/JSON", "application/json ;charset=UTF-8"}) {
    SCOPED_TRACE("Content-Type: " + good);
    conn.SendRaw(raw_post(good, "ok" + std::to_string(ok++)));
    auto r = conn.ReadResponse();
    EXPECT_EQ(r.status, 201) << r.Describe();
  }
  // Without a body, no Content-Type is needed.
  conn.SendRaw(
      "GET /v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      server_.admin_key() + "\r\nContent-Type: text/plain\r\n\r\n");
  EXPECT_EQ(conn.ReadResponse().status, 200);
  conn.SendRaw(
      "POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      server_.admin_key() + "\r\nContent-Length: 0\r\n\r\n");
  auto empty = conn.ReadResponse();
  EXPECT_NE(empty.status, 415) << empty.Describe();
  EXPECT_EQ(empty.status / 100, 4) << empty.Describe();
}

// CPU time (user + system) the process has used so far.
std::chrono::duration<double> CpuTime(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return {};
  std::istringstream in(stat.substr(paren + 1));
  std::string field;
  long long utime = 0, stime = 0;
  // After the command: state is field 3; utime is 14, stime 15.
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  return std::chrono::duration<double>(
      static_cast<double>(utime + stime) /
      static_cast<double>(::sysconf(_SC_CLK_TCK)));
}

int OpenDescriptors(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

// Out of file descriptors, accept fails until one frees up: the server
// backs off instead of retrying at once (which spun a core), keeps serving
// the connections it has, and accepts again once clients leave.
class Connections : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.init_ok());
    // UBSan checks a virtual call's vptr by writing the memory to a pipe; with
    // no descriptor left for the pipe it reports every such call as an
    // "invalid vptr" (in a sanitizer build, once its lookup cache misses).
    // This server runs out of descriptors on purpose, so it skips that one
    // check (built recoverable for this: CMakeLists.txt); every other check
    // stays on and stops it. Ignored by builds without sanitizers.
    const std::string suppressions = server_.data_dir() + "/ubsan.supp";
    std::ofstream(suppressions) << "vptr:*\n";
    ASSERT_TRUE(server_.Start(
        false,
        {{"UBSAN_OPTIONS", "halt_on_error=1:suppressions=" + suppressions}}));
  }
  void TearDown() override {
    if (server_.running()) {
      EXPECT_EQ(server_.Stop(), 0) << server_.Log();
    }
  }
  ServerProcess server_;
};

TEST_F(Connections, AcceptErrorsDoNotSpin) {
  const pid_t pid = server_.pid();
  ASSERT_GT(pid, 0);
  // Room for a few more descriptors only, as with a low `ulimit -n`.
  const int limit = OpenDescriptors(pid) + 8;
  rlimit lim{static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &lim, nullptr), 0);

  std::vector<std::unique_ptr<HttpConnection>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<HttpConnection>(server_.port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  // The server accepts until every descriptor is taken.
  auto deadline = Clock::now() + seconds(10);
  while (OpenDescriptors(pid) < limit && Clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(20));
  ASSERT_GE(OpenDescriptors(pid), limit);

  auto cpu_before = CpuTime(pid);
  auto wall_before = Clock::now();
  std::this_thread::sleep_for(seconds(2));
  auto cpu = CpuTime(pid) - cpu_before;
  auto wall = std::chrono::duration<double>(Clock::now() - wall_before);
  EXPECT_LT(cpu.count(), 0.1 * wall.count())
      << "the server used " << cpu.count() << " s of CPU in " << wall.count()
      << " s while out of descriptors";

  // An accepted connection is still served.
  EXPECT_EQ(idle.front()->Send("GET", "/healthz").status, 200);
  idle.clear();
  // Once the clients are gone, new ones are accepted and served, storage
  // included.
  auto who = server_.Call("GET", "/v1/whoami", Auth(server_.admin_key()));
  EXPECT_EQ(who.status, 200) << who.Describe();
}

// A started server whose config the subclass edits first.
class ConfiguredServerTest : public ::testing::Test {
 protected:
  virtual void Configure(std::string& config) = 0;
  void SetUp() override {
    ASSERT_TRUE(server_.init_ok());
    server_.EditConfig([this](std::string& text) { Configure(text); });
    ASSERT_TRUE(server_.Start());
  }
  void TearDown() override {
    if (server_.running()) {
      EXPECT_EQ(server_.Stop(), 0) << server_.Log();
    }
  }
  ServerProcess server_;
};

class ConnectionCap : public ConfiguredServerTest {
 protected:
  void Configure(std::string& text) override {
    auto at = text.find("max_connections = 1024");
    if (at != std::string::npos) {
      text.replace(at, 22, "max_connections = 4");
    } else {  // a config written before the setting existed
      at = text.find("[server]\n");
      ASSERT_NE(at, std::string::npos);
      text.insert(at + 9, "max_connections = 4\n");
    }
  }
};

// At server.max_connections a new connection waits in the backlog; the
// connections the server has keep being served, and the waiting one is
// served as soon as one of them closes.
TEST_F(ConnectionCap, OverTheCapWaitsUntilAConnectionCloses) {
  std::vector<std::unique_ptr<HttpConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<HttpConnection>(server_.port()));
    // Answered, so accepted (and now idle in keep-alive).
    ASSERT_EQ(held.back()->Send("GET", "/healthz").status, 200) << i;
  }
  HttpConnection waiting(server_.port());
  ASSERT_TRUE(waiting.connected());  // the kernel's backlog takes it
  ASSERT_TRUE(waiting.SendRaw(std::string(kHealthz)));
  // The held connections are still served...
  for (auto& conn : held) EXPECT_EQ(conn->Send("GET", "/healthz").status, 200);
  // ...while the fifth is not accepted.
  EXPECT_FALSE(waiting.WaitReadable(milliseconds(1000)));
  held.front().reset();
  auto r = waiting.ReadResponse();
  EXPECT_EQ(r.status, 200) << r.Describe();
  // A client that leaves before it is accepted costs nothing either.
  {
    HttpConnection gone(server_.port());
    ASSERT_TRUE(gone.connected());
  }
  held[1].reset();
  held[2].reset();
  EXPECT_EQ(server_.Call("GET", "/healthz").status, 200);
}

class ReadTimeout : public ConfiguredServerTest {
 protected:
  void Configure(std::string& text) override {
    auto at = text.find("read_timeout = \"PT30S\"");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 22, "read_timeout = \"PT2S\"");
  }
};

// An idle client and a slow-loris client (a header line now and then, never
// the end of the request) are closed at server.read_timeout, and others are
// served meanwhile.
TEST_F(ReadTimeout, IdleAndSlowClientsAreClosed) {
  HttpConnection idle(server_.port(), seconds(10));
  HttpConnection slow(server_.port(), seconds(10));
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(slow.connected());
  const auto start = Clock::now();
  ASSERT_TRUE(slow.SendRaw("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  auto served = Clock::now();
  EXPECT_EQ(server_.Call("GET", "/healthz").status, 200);
  // Well within the 2 s a blocked server would take.
  EXPECT_LT(Clock::now() - served, milliseconds(1500));
  while (Clock::now() - start < seconds(8) &&
         !slow.WaitReadable(milliseconds(200)))
    slow.SendRaw("X-Slow: a\r\n");
  const auto slow_closed = Clock::now() - start;
  EXPECT_TRUE(ClosedByServer(slow));
  EXPECT_GE(slow_closed, milliseconds(1500));
  EXPECT_LT(slow_closed, seconds(6));
  EXPECT_TRUE(idle.WaitReadable(seconds(4)));
  EXPECT_TRUE(ClosedByServer(idle));
  EXPECT_EQ(server_.Call("GET", "/healthz").status, 200);
}

// `openssl s_client` on TLS 1.2 with one cipher suite (TLS 1.3 with "tls1_3").
RunResult Handshake(uint16_t port, const std::string& suite) {
  std::string args = suite == "tls1_3" ? "-tls1_3" : "-tls1_2 -cipher " + suite;
  return Shell("timeout 20 openssl s_client -connect 127.0.0.1:" +
               std::to_string(port) + " " + args + " </dev/null 2>&1");
}

::testing::AssertionResult Negotiated(const RunResult& r,
                                      const std::string& suite) {
  if (r.exit_code == 0 &&
      r.out.find("Cipher is " + suite + "\n") != std::string::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.out;
}

// The server refused the handshake (a handshake_failure alert: no suite in
// common), not the client.
::testing::AssertionResult Refused(const RunResult& r) {
  if (r.exit_code != 0 &&
      r.out.find("alert handshake failure") != std::string::npos &&
      r.out.find("Cipher is (NONE)") != std::string::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.out;
}

// TLS 1.2 handshakes: each of `refused` fails, each of `negotiated` works.
void ExpectSuites(uint16_t port, const std::vector<std::string>& refused,
                  const std::vector<std::string>& negotiated) {
  for (const auto& suite : refused) {
    SCOPED_TRACE(suite);
    EXPECT_TRUE(Refused(Handshake(port, suite)));
  }
  for (const auto& suite : negotiated) {
    SCOPED_TRACE(suite);
    EXPECT_TRUE(Negotiated(Handshake(port, suite), suite));
  }
}

// TLS 1.2 offers only forward-secret AEAD suites (ECDHE with AES-GCM or
// ChaCha20-Poly1305): CBC, SHA-1 MACs and RSA key exchange are refused, for
// ECDSA (`piivault init`'s) and RSA certificates alike. TLS 1.3 keeps its
// defaults. A client cannot renegotiate.
TEST(Tls, AeadSuitesOnlyAndNoRenegotiation) {
  ServerProcess server;
  ASSERT_TRUE(server.init_ok());
  server.EnableTls();
  ASSERT_TRUE(server.Start(/*tls=*/true)) << server.Log();
  ExpectSuites(
      server.port(),
      {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
       "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384"},
      {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
       "ECDHE-ECDSA-CHACHA20-POLY1305"});
  auto tls13 = Handshake(server.port(), "tls1_3");
  EXPECT_EQ(tls13.exit_code, 0) << tls13.out;
  EXPECT_NE(tls13.out.find("New, TLSv1.3, Cipher is TLS_"), std::string::npos)
      << tls13.out;

  // Renegotiation: s_client's "R" command, then a request on the same
  // connection. Without the "R" the same request is answered.
  const std::string connect =
      "openssl s_client -connect 127.0.0.1:" + std::to_string(server.port()) +
      " -tls1_2";
  const std::string get =
      "printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\n"
      "Connection: close\\r\\n\\r\\n'";
  auto plain =
      Shell("timeout 20 sh -c \"" + get + " | " + connect + " -ign_eof\" 2>&1");
  EXPECT_NE(plain.out.find("HTTP/1.1 200"), std::string::npos) << plain.out;
  // s_client takes "R" only as a line of its own: the sleeps keep the
  // request out of that read and stdin open until the answer is in.
  auto renegotiate = Shell("timeout 20 sh -c \"(printf 'R\\n'; sleep 1; " +
                           get + "; sleep 2) | " + connect + "\" 2>&1");
  EXPECT_NE(renegotiate.out.find("RENEGOTIATING"), std::string::npos)
      << renegotiate.out;
  EXPECT_NE(renegotiate.out.find("no renegotiation"), std::string::npos)
      << renegotiate.out;
  EXPECT_EQ(renegotiate.out.find("HTTP/1.1 200"), std::string::npos)
      << renegotiate.out;
  EXPECT_EQ(server.Stop(), 0) << server.Log();

  // The same with an RSA certificate.
  const std::string dir = server.data_dir() + "/tls";
  auto made = Shell(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
      "-subj /CN=localhost -keyout " +
      dir + "/rsa-key.pem -out " + dir + "/rsa-cert.pem 2>&1");
  ASSERT_EQ(made.exit_code, 0) << made.out;
  server.EditConfig([](std::string& text) {
    for (auto [from, to] : {std::pair{"tls/cert.pem", "tls/rsa-cert.pem"},
                            std::pair{"tls/key.pem", "tls/rsa-key.pem"}}) {
      auto at = text.find(from);
      ASSERT_NE(at, std::string::npos);
      text.replace(at, std::string_view(from).size(), to);
    }
  });
  ASSERT_TRUE(server.Start(/*tls=*/true)) << server.Log();
  ExpectSuites(server.port(),
               {"ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384",
                "AES128-GCM-SHA256", "AES128-SHA", "DHE-RSA-AES128-GCM-SHA256"},
               {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-RSA-CHACHA20-POLY1305"});
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

}  // namespace
}  // namespace it
