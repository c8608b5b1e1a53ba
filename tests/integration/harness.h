// Test harness for the piivault integration tests: runs the real binary as a
// child process and talks to it over a minimal HTTP/1.1 client written here,
// so the tests exercise the deployment exactly as an operator would.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/temp_dir.h"

struct sqlite3;

namespace it {

namespace json = boost::json;

using Headers = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------------------
// Processes

struct RunResult {
  int exit_code = -1;  // exit status, or 128 + signal, or -1 if timed out
  bool timed_out = false;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `args` (args[0] is the program) with extra environment variables,
// waits up to `timeout` and returns the exit status and captured output.
RunResult RunCommand(
    const std::vector<std::string>& args, const Headers& env = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Runs a shell command through popen and returns its stdout and exit code.
RunResult Shell(const std::string& command);

// The piivault binary under test.
std::string PiivaultBin();

// ---------------------------------------------------------------------------
// HTTP

struct HttpResponse {
  int status = 0;  // 0: no (complete) response; `error` says why
  std::string error;
  std::string reason;
  Headers headers;  // names as received
  std::string body;

  // The first header named `name` (case-insensitive), or empty.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // The body parsed as JSON (cached, lives as long as the response); null
  // if it is not valid JSON.
  const json::value& Json() const;
  // A short description for failure messages.
  std::string Describe() const;

 private:
  mutable std::optional<json::value> json_;
};

// One TCP connection to 127.0.0.1:port; requests may be sent one after
// another on it (keep-alive).
class HttpConnection {
 public:
  explicit HttpConnection(uint16_t port, std::chrono::milliseconds timeout =
                                             std::chrono::seconds(15));
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends a request and reads its response. Adds Host and Content-Length.
  HttpResponse Send(std::string_view method, std::string_view path,
                    const Headers& headers = {}, std::string_view body = {});
  // Writes raw bytes; false on a write error (the peer may have answered
  // and closed early, so reading may still succeed).
  bool SendRaw(std::string_view bytes);
  HttpResponse ReadResponse(bool head_request = false);
  // True if the server sent something or closed within `wait`.
  bool WaitReadable(std::chrono::milliseconds wait);

 private:
  bool Fill();  // reads more bytes into buf_; false on EOF, error or timeout
  int fd_ = -1;
  std::string buf_;
  std::string error_;
};

// One request on a fresh connection (with "Connection: close").
HttpResponse Http(uint16_t port, std::string_view method, std::string_view path,
                  const Headers& headers = {}, std::string_view body = {});

// Authorization header for an API key; with a purpose, also X-Purpose.
Headers Auth(const std::string& api_key, const std::string& purpose = "");
// Authorization plus X-Purpose: service_delivery.
Headers Data(const std::string& api_key);

// Checks the error contract: the given status, a JSON body that is exactly
// {"error":{"code":<code>,"message":<string>}} (plus "field" for
// validation_failed) and a JSON content type.
::testing::AssertionResult IsError(const HttpResponse& r, int status,
                                   std::string_view code);

// JSON helpers that never throw: missing members read as empty.
std::string Str(const json::value& v, std::string_view key);
const json::value& Member(const json::value& v, std::string_view key);
const json::array& Array(const json::value& v, std::string_view key);
std::string Serialize(const json::value& v);

// ---------------------------------------------------------------------------
// Files

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, std::string_view content);
// Every regular file under `dir`, recursively.
std::vector<std::string> ListFiles(const std::string& dir);
// Case-insensitive byte search.
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);

// ---------------------------------------------------------------------------
// Storage under test

// The storage deployments under test use: "sqlite" (the default) or
// "postgres" (when the binary runs with --backend=postgres; see it_main.cc).
std::string_view BackendUnderTest();
void SetBackendUnderTest(std::string_view backend);

// Stored rows, key -> value, exactly as a store holds them.
using Rows = std::map<std::string, std::string>;

// ---------------------------------------------------------------------------
// Server

// Picks a currently free loopback TCP port.
uint16_t FreePort();

// A fresh deployment (`piivault init`) in a private temporary directory and,
// once started, a `piivault serve` child process on a free loopback port.
class ServerProcess {
 public:
  // Creates the temp dir and runs init (on fresh PostgreSQL databases when
  // the backend under test is postgres); check init_ok().
  ServerProcess();
  // Another node of `deployment`: the same config and stores, its own log
  // and port.
  struct SameDeployment {};
  ServerProcess(const ServerProcess& deployment, SameDeployment);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool init_ok() const { return init_ok_; }
  const RunResult& init_result() const { return init_result_; }
  const std::string& root() const { return root_.path(); }
  const std::string& data_dir() const { return data_dir_; }
  std::string config_path() const { return data_dir_ + "/piivault.toml"; }
  std::string log_path() const { return root_.File("server.log"); }
  const std::string& admin_key() const { return admin_key_; }
  uint16_t port() const { return port_; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }  // of serve; -1 when not running

  // Rewrites the config file (before Start).
  void EditConfig(const std::function<void(std::string&)>& edit);
  // Uncomments tls_cert/tls_key so the server serves TLS.
  void EnableTls();
  // Replaces the [limits] table (the API's rate limits) with `lines`, such
  // as "failed_auth_burst = 4\n" (before Start).
  void SetLimits(const std::string& lines);

  // Starts serve on a fresh free port and waits (up to ~10 s) until it
  // answers GET /healthz (plain) or logs "listening" and accepts (TLS).
  // `env` adds environment variables (e.g. PIIVAULT_CRASH_AT).
  ::testing::AssertionResult Start(bool tls = false, const Headers& env = {});
  // Waits up to `wait` for the server to exit on its own (e.g. after an
  // injected crash); returns its status (128 + signal if killed).
  std::optional<int> WaitForExit(std::chrono::milliseconds wait);

  // The stores of the deployment ("control", "eu", "us"), read and written
  // directly, as an attacker with access to the database could.
  std::string StoreUrl(const std::string& store) const;
  Rows StoreRows(const std::string& store) const;
  // The keys of the store's counters (a key space of their own).
  std::vector<std::string> StoreCounterKeys(const std::string& store) const;
  bool StoreHasKey(const std::string& store, const std::string& key) const {
    return StoreRows(store).contains(key);
  }
  int64_t StoreCountPrefix(const std::string& store,
                           const std::string& prefix) const;
  // Overwrites the value at `to` with the value at `from`.
  void StoreCopyValue(const std::string& store, const std::string& from,
                      const std::string& to) const;
  // Writes or deletes one row.
  void StorePut(const std::string& store, const std::string& key,
                const std::string& value) const;
  void StoreDelete(const std::string& store, const std::string& key) const;
  // While `refuse` holds, every write to `store` fails, as on a full disk:
  // for SQLite the test holds the database's write lock, so the server's
  // writes give up busy after its timeout (file modes would not stop root);
  // for PostgreSQL a trigger raises on every change of a row. Reads go on.
  // false lifts it.
  void StoreRefuseWrites(const std::string& store, bool refuse);
  // SIGTERM, then waits (up to ~15 s) and returns the exit status
  // (128 + signal if killed by a signal, -1 if it had to be killed).
  int Stop();
  void Kill();

  // Launches serve with `listen` and expects it to refuse: it must exit
  // non-zero within `deadline` and never answer an HTTP request on `port`.
  // Returns the output (the log) on success.
  ::testing::AssertionResult ExpectServeRefuses(
      const std::string& listen, uint16_t port, std::string* output,
      std::chrono::milliseconds deadline = std::chrono::seconds(10));

  std::string Log() const { return ReadFile(log_path()); }

  // Request helpers against this server.
  HttpResponse Call(std::string_view method, std::string_view path,
                    const Headers& headers = {},
                    std::string_view body = {}) const {
    return Http(port_, method, path, headers, body);
  }
  HttpResponse Call(std::string_view method, std::string_view path,
                    const Headers& headers, const json::object& body) const {
    return Http(port_, method, path, headers, Serialize(body));
  }

 private:
  pid_t Launch(const std::vector<std::string>& args, const Headers& env = {});
  // Waits for the child; returns its status or nullopt if still running.
  std::optional<int> Reap(pid_t pid, std::chrono::milliseconds wait);

  // PostgreSQL: fresh databases for the stores, and a config naming them.
  bool PreparePostgresConfig();

  // Declared first, so removed last: after the connections below close.
  piivault::testing::ScopedTempDir root_;
  std::string data_dir_;
  std::string admin_key_;
  std::map<std::string, std::string> store_urls_;  // store -> backend URL
  std::string pg_server_;                          // for dropping them
  std::vector<std::string> pg_databases_;
  bool init_ok_ = false;
  RunResult init_result_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  // StoreRefuseWrites on SQLite: store -> the connection holding its lock.
  std::map<std::string, std::shared_ptr<sqlite3>> write_locks_;
};

// ---------------------------------------------------------------------------
// Set-up helpers

// The fields of the standard test collection: one of every type.
// name -> type: note string, name name, email email (searchable), phone
// phone, birth_date date, ssn ssn, card credit_card, iban iban, ip
// ip_address, count integer, active boolean.
json::object EveryTypeSchema();
// A value for every field of EveryTypeSchema(), as a client would send it
// (not in canonical form: spaces, mixed case).
json::object EveryTypeValues();

struct Tenant {
  std::string id;
  std::string admin_id;   // tenant-admin identity
  std::string admin_key;  // its API key
  std::string collection = "people";

  std::string Base() const { return "/v1/tenants/" + id; }
  std::string Records() const {
    return Base() + "/collections/" + collection + "/records";
  }
  std::string Record(const std::string& rid) const {
    return Records() + "/" + rid;
  }
  std::string Search() const {
    return Base() + "/collections/" + collection + "/search";
  }
};

// Creates tenant `id` (regions, default region) with a tenant-admin identity
// and the every-type collection "people". Records failures with ADD_FAILURE.
Tenant SetUpTenant(const ServerProcess& server, const std::string& id,
                   std::vector<std::string> regions = {"eu", "us"},
                   const std::string& default_region = "eu");

// POSTs a record; returns the response.
HttpResponse PostRecord(
    const ServerProcess& server, const Tenant& tenant,
    const std::string& principal, const json::object& fields,
    const std::optional<std::string>& region = std::nullopt);

// A fixture with a started server; TearDown expects a clean SIGTERM exit.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.init_ok());
    ASSERT_TRUE(server_.Start());
  }
  void TearDown() override {
    if (server_.running()) {
      EXPECT_EQ(server_.Stop(), 0) << server_.Log();
    }
  }
  ServerProcess server_;
};

}  // namespace it
