#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/postgres_env.h"

// Boost.JSON header-only: its implementation is compiled here, once; no
// project library is linked.
#include <boost/json/src.hpp>

extern char** environ;

namespace it {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && Lower(a) == Lower(b);
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// argv/envp storage prepared before fork (the child only calls
// async-signal-safe functions).
struct ExecArgs {
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;

  ExecArgs(const std::vector<std::string>& a, const Headers& extra_env)
      : args(a) {
    for (char** e = environ; e && *e; ++e) {
      std::string_view entry(*e);
      auto eq = entry.find('=');
      std::string_view name = entry.substr(0, eq);
      bool overridden = std::any_of(extra_env.begin(), extra_env.end(),
                                    [&](auto& kv) { return kv.first == name; });
      if (!overridden) env.emplace_back(entry);
    }
    for (auto& [k, v] : extra_env) env.push_back(k + "=" + v);
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
  }
};

// Forks and execs with stdout and stderr on the given descriptors.
pid_t Spawn(ExecArgs& exec, int out_fd, int err_fd) {
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Never outlive the test process, even if it crashes.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
    ::_exit(127);
  }
  return pid;
}

// Waits for `pid` up to `wait`; nullopt if still running.
std::optional<int> WaitFor(pid_t pid, milliseconds wait) {
  auto deadline = Clock::now() + wait;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return DecodeWaitStatus(status);
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Processes

std::string PiivaultBin() { return PIIVAULT_BIN; }

RunResult RunCommand(const std::vector<std::string>& args, const Headers& env,
                     milliseconds timeout) {
  RunResult result;
  char out_path[] = "/tmp/pv-it-out-XXXXXX";
  char err_path[] = "/tmp/pv-it-err-XXXXXX";
  int out_fd = ::mkostemp(out_path, O_CLOEXEC);
  int err_fd = ::mkostemp(err_path, O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0) {
    result.err = "mkostemp failed";
    return result;
  }
  ExecArgs exec(args, env);
  pid_t pid = Spawn(exec, out_fd, err_fd);
  ::close(out_fd);
  ::close(err_fd);
  if (pid < 0) {
    result.err = "fork failed";
  } else {
    auto status = WaitFor(pid, timeout);
    if (!status) {
      ::kill(pid, SIGKILL);
      int ignored;
      ::waitpid(pid, &ignored, 0);
      result.timed_out = true;
      result.exit_code = -1;
    } else {
      result.exit_code = *status;
    }
  }
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  ::unlink(out_path);
  ::unlink(err_path);
  return result;
}

RunResult Shell(const std::string& command) {
  RunResult result;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) {
    result.err = "popen failed";
    return result;
  }
  char chunk[4096];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, p)) > 0)
    result.out.append(chunk, n);
  int status = ::pclose(p);
  result.exit_code = status < 0 ? -1 : DecodeWaitStatus(status);
  return result;
}

// ---------------------------------------------------------------------------
// HTTP

std::string HttpResponse::Header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (IEquals(k, name)) return v;
  return {};
}

bool HttpResponse::HasHeader(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (IEquals(k, name)) return true;
  return false;
}

const json::value& HttpResponse::Json() const {
  if (!json_) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    json_ = ec ? json::value(nullptr) : std::move(v);
  }
  return *json_;
}

std::string HttpResponse::Describe() const {
  if (status == 0) return "no response (" + error + ")";
  std::string b = body.size() > 600 ? body.substr(0, 600) + "..." : body;
  return "HTTP " + std::to_string(status) + " " + b;
}

HttpConnection::HttpConnection(uint16_t port, milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error_ = std::strerror(errno);
    return;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = std::string("connect: ") + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool HttpConnection::SendRaw(std::string_view bytes) {
  if (fd_ < 0) return false;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = std::string("send: ") + std::strerror(errno);
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool HttpConnection::Fill() {
  if (fd_ < 0) return false;
  char chunk[65536];
  while (true) {
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) {
      error_ = "connection closed by the server";
      return false;
    }
    if (errno == EINTR) continue;
    error_ = (errno == EAGAIN || errno == EWOULDBLOCK)
                 ? std::string("receive timeout")
                 : std::string("recv: ") + std::strerror(errno);
    return false;
  }
}

bool HttpConnection::WaitReadable(milliseconds wait) {
  if (fd_ < 0) return true;
  if (!buf_.empty()) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

HttpResponse HttpConnection::ReadResponse(bool head_request) {
  HttpResponse r;
  auto fail = [&](std::string why) {
    r.status = 0;
    r.error = std::move(why);
    return r;
  };
  std::size_t header_end;
  while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos)
    if (!Fill()) return fail(error_);
  std::string head = buf_.substr(0, header_end);
  std::size_t pos = 0;
  auto next_line = [&]() {
    auto eol = head.find("\r\n", pos);
    std::string line = head.substr(
        pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? head.size() : eol + 2;
    return line;
  };
  std::string status_line = next_line();
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12)
    return fail("bad status line: " + status_line);
  r.status = std::atoi(status_line.substr(9, 3).c_str());
  r.reason = status_line.size() > 13 ? status_line.substr(13) : "";
  while (pos < head.size()) {
    std::string line = next_line();
    auto colon = line.find(':');
    if (colon == std::string::npos) return fail("bad header line: " + line);
    r.headers.emplace_back(line.substr(0, colon), Trim(line.substr(colon + 1)));
  }
  buf_.erase(0, header_end + 4);

  if (r.status >= 100 && r.status < 200) return ReadResponse(head_request);
  if (IEquals(r.Header("transfer-encoding"), "chunked")) {
    std::string body;
    while (true) {
      std::size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos)
        if (!Fill()) return fail(error_);
      std::size_t size = std::strtoul(buf_.substr(0, eol).c_str(), nullptr, 16);
      while (buf_.size() < eol + 2 + size + 2)
        if (!Fill()) return fail(error_);
      body.append(buf_, eol + 2, size);
      buf_.erase(0, eol + 2 + size + 2);
      if (size == 0) break;
    }
    r.body = std::move(body);
  } else if (r.HasHeader("content-length")) {
    std::size_t n =
        std::strtoul(r.Header("content-length").c_str(), nullptr, 10);
    if (head_request) n = 0;
    while (buf_.size() < n)
      if (!Fill()) return fail(error_);
    r.body = buf_.substr(0, n);
    buf_.erase(0, n);
  } else if (head_request || r.status == 204 || r.status == 304) {
    // no body
  } else {
    while (Fill()) {
    }
    r.body = std::move(buf_);
    buf_.clear();
  }
  return r;
}

HttpResponse HttpConnection::Send(std::string_view method,
                                  std::string_view path, const Headers& headers,
                                  std::string_view body) {
  if (fd_ < 0) {
    HttpResponse r;
    r.error = error_;
    return r;
  }
  std::string req;
  req.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  req.append("Host: 127.0.0.1\r\n");
  bool has_length = false;
  for (auto& [k, v] : headers) {
    if (IEquals(k, "content-length")) has_length = true;
    req.append(k).append(": ").append(v).append("\r\n");
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PUT" ||
                      method == "PATCH"))
    req.append("Content-Length: ")
        .append(std::to_string(body.size()))
        .append("\r\n");
  if (!body.empty() &&
      std::none_of(headers.begin(), headers.end(),
                   [](auto& kv) { return IEquals(kv.first, "content-type"); }))
    req.append("Content-Type: application/json\r\n");
  req.append("\r\n").append(body);
  SendRaw(req);  // on failure the server may still have answered
  return ReadResponse(method == "HEAD");
}

HttpResponse Http(uint16_t port, std::string_view method, std::string_view path,
                  const Headers& headers, std::string_view body) {
  HttpConnection c(port);
  Headers h = headers;
  h.emplace_back("Connection", "close");
  return c.Send(method, path, h, body);
}

Headers Auth(const std::string& api_key, const std::string& purpose) {
  Headers h{{"Authorization", "Bearer " + api_key}};
  if (!purpose.empty()) h.emplace_back("X-Purpose", purpose);
  return h;
}

Headers Data(const std::string& api_key) {
  return Auth(api_key, "service_delivery");
}

::testing::AssertionResult IsError(const HttpResponse& r, int status,
                                   std::string_view code) {
  auto fail = [&](std::string why) {
    return ::testing::AssertionFailure()
           << why << "; expected " << status << " " << code << ", got "
           << r.Describe();
  };
  if (r.status != status) return fail("wrong status");
  if (!r.Header("content-type").starts_with("application/json"))
    return fail("content type is '" + r.Header("content-type") + "'");
  const json::value& doc = r.Json();
  if (!doc.is_object()) return fail("body is not a JSON object");
  auto& o = doc.get_object();
  if (o.size() != 1 || !o.contains("error") || !o.at("error").is_object())
    return fail("body is not exactly {\"error\":{...}}");
  auto& e = o.at("error").get_object();
  auto* c = e.if_contains("code");
  auto* m = e.if_contains("message");
  if (!c || !c->is_string()) return fail("error.code missing");
  if (!m || !m->is_string() || m->get_string().empty())
    return fail("error.message missing or empty");
  for (auto& [k, v] : e) {
    if (k == "code" || k == "message") continue;
    if (k == "field" && code == "validation_failed" && v.is_string()) continue;
    return fail("unexpected member error." + std::string(k));
  }
  if (code == "validation_failed" && !e.contains("field"))
    return fail("validation_failed without error.field");
  if (c->get_string() != code) return fail("wrong error code");
  return ::testing::AssertionSuccess();
}

const json::value& Member(const json::value& v, std::string_view key) {
  static const json::value kNull;
  if (!v.is_object()) return kNull;
  auto* m = v.get_object().if_contains(key);
  return m ? *m : kNull;
}

std::string Str(const json::value& v, std::string_view key) {
  auto& m = Member(v, key);
  return m.is_string() ? std::string(m.get_string()) : std::string();
}

const json::array& Array(const json::value& v, std::string_view key) {
  static const json::array kEmpty;
  auto& m = Member(v, key);
  return m.is_array() ? m.get_array() : kEmpty;
}

std::string Serialize(const json::value& v) { return json::serialize(v); }

// ---------------------------------------------------------------------------
// Files

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) out.push_back(it->path().string());
  }
  return out;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(),
                        needle.end(), [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

// ---------------------------------------------------------------------------
// Storage under test

namespace {

std::string backend_under_test = "sqlite";

std::string HexDecode(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// Runs `sql` on the SQLite file `db` with blobs bound to ?1, ?2...; returns
// each row's first two columns (as blobs).
std::optional<Rows> SqliteRows(const std::string& db, const char* sql,
                               const std::vector<std::string>& params) {
  sqlite3* conn = nullptr;
  int rc = sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READWRITE, nullptr);
  std::optional<Rows> out;
  sqlite3_stmt* stmt = nullptr;
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(conn, 5000);
    rc = sqlite3_prepare_v2(conn, sql, -1, &stmt, nullptr);
  }
  for (std::size_t i = 0; rc == SQLITE_OK && i < params.size(); ++i)
    rc = sqlite3_bind_blob64(stmt, static_cast<int>(i + 1), params[i].data(),
                             params[i].size(), SQLITE_STATIC);
  if (rc == SQLITE_OK) {
    out.emplace();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      auto column = [&](int c) {
        auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, c));
        return std::string(p ? p : "", sqlite3_column_bytes(stmt, c));
      };
      (*out)[column(0)] = sqlite3_column_count(stmt) > 1 ? column(1) : "";
    }
    if (rc != SQLITE_DONE) out.reset();
  }
  if (!out)
    ADD_FAILURE() << "sqlite query on " << db
                  << " failed: " << (conn ? sqlite3_errmsg(conn) : "open");
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
  return out;
}

std::optional<std::vector<std::vector<std::string>>> PgRows(
    const std::string& url, const std::string& sql) {
  auto rows = piivault::testing::QueryRows(url, sql);
  if (!rows) {
    ADD_FAILURE() << "postgres query failed: " << rows.error();
    return std::nullopt;
  }
  return *rows;
}

}  // namespace

std::string_view BackendUnderTest() { return backend_under_test; }
void SetBackendUnderTest(std::string_view backend) {
  backend_under_test = backend;
}

std::string ServerProcess::StoreUrl(const std::string& store) const {
  auto it = store_urls_.find(store);
  if (it == store_urls_.end()) {
    ADD_FAILURE() << "no store named " << store;
    return "";
  }
  return it->second;
}

Rows ServerProcess::StoreRows(const std::string& store) const {
  std::string url = StoreUrl(store);
  if (BackendUnderTest() == "postgres") {
    auto rows = PgRows(url,
                       "SELECT encode(k, 'hex'), encode(v, 'hex') FROM "
                       "piivault_kv");
    Rows out;
    for (auto& row : rows.value_or(std::vector<std::vector<std::string>>{}))
      out[HexDecode(row.at(0))] = HexDecode(row.at(1));
    return out;
  }
  return SqliteRows(data_dir_ + "/" + store + ".db", "SELECT k, v FROM kv", {})
      .value_or(Rows{});
}

std::vector<std::string> ServerProcess::StoreCounterKeys(
    const std::string& store) const {
  std::vector<std::string> out;
  if (BackendUnderTest() == "postgres") {
    auto rows = PgRows(StoreUrl(store),
                       "SELECT encode(k, 'hex') FROM piivault_counters");
    for (auto& row : rows.value_or(std::vector<std::vector<std::string>>{}))
      out.push_back(HexDecode(row.at(0)));
    return out;
  }
  auto rows = SqliteRows(data_dir_ + "/" + store + ".db",
                         "SELECT k, n FROM counters", {});
  for (auto& [key, n] : rows.value_or(Rows{})) out.push_back(key);
  return out;
}

void ServerProcess::StorePut(const std::string& store, const std::string& key,
                             const std::string& value) const {
  if (BackendUnderTest() == "postgres") {
    EXPECT_TRUE(PgRows(StoreUrl(store),
                       "INSERT INTO piivault_kv VALUES (decode('" +
                           HexEncode(key) + "', 'hex'), decode('" +
                           HexEncode(value) +
                           "', 'hex')) ON CONFLICT (k) DO UPDATE SET v = "
                           "excluded.v")
                    .has_value());
    return;
  }
  EXPECT_TRUE(SqliteRows(data_dir_ + "/" + store + ".db",
                         "INSERT OR REPLACE INTO kv(k, v) VALUES (?1, ?2)",
                         {key, value})
                  .has_value());
}

void ServerProcess::StoreDelete(const std::string& store,
                                const std::string& key) const {
  if (BackendUnderTest() == "postgres") {
    EXPECT_TRUE(PgRows(StoreUrl(store),
                       "DELETE FROM piivault_kv WHERE k = "
                       "decode('" +
                           HexEncode(key) + "', 'hex')")
                    .has_value());
    return;
  }
  EXPECT_TRUE(SqliteRows(data_dir_ + "/" + store + ".db",
                         "DELETE FROM kv WHERE k = ?1", {key})
                  .has_value());
}

void ServerProcess::StoreRefuseWrites(const std::string& store, bool refuse) {
  if (BackendUnderTest() == "postgres") {
    std::string sql =
        "DROP TRIGGER IF EXISTS pv_refuse_writes ON piivault_kv;"
        "DROP FUNCTION IF EXISTS pv_refuse_writes();";
    if (refuse)
      sql +=
          "CREATE FUNCTION pv_refuse_writes() RETURNS trigger LANGUAGE "
          "plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected: writes refused'; "
          "END $$;"
          "CREATE TRIGGER pv_refuse_writes BEFORE INSERT OR UPDATE OR DELETE "
          "ON piivault_kv FOR EACH ROW EXECUTE FUNCTION pv_refuse_writes();";
    EXPECT_TRUE(PgRows(StoreUrl(store), sql).has_value());
    return;
  }
  // The server disables SQLite triggers on its connections, so the lock it
  // is: BEGIN IMMEDIATE takes the write lock and keeps it until rollback.
  write_locks_.erase(store);
  if (!refuse) return;
  sqlite3* conn = nullptr;
  std::string db = data_dir_ + "/" + store + ".db";
  int rc = sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READWRITE, nullptr);
  std::shared_ptr<sqlite3> held(conn, [](sqlite3* c) {
    sqlite3_exec(c, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(c);
  });
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(conn, 5000);
    rc = sqlite3_exec(conn, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  }
  ASSERT_EQ(rc, SQLITE_OK) << "cannot lock " << db << ": "
                           << (conn ? sqlite3_errmsg(conn) : "open");
  write_locks_[store] = std::move(held);
}

int64_t ServerProcess::StoreCountPrefix(const std::string& store,
                                        const std::string& prefix) const {
  int64_t n = 0;
  for (auto& [key, value] : StoreRows(store)) n += key.starts_with(prefix);
  return n;
}

void ServerProcess::StoreCopyValue(const std::string& store,
                                   const std::string& from,
                                   const std::string& to) const {
  if (BackendUnderTest() == "postgres") {
    auto done = PgRows(
        StoreUrl(store),
        "UPDATE piivault_kv SET v = (SELECT v FROM piivault_kv WHERE k = "
        "decode('" +
            HexEncode(from) + "', 'hex')) WHERE k = decode('" + HexEncode(to) +
            "', 'hex') RETURNING 1");
    EXPECT_EQ(done.value_or(std::vector<std::vector<std::string>>{}).size(),
              1u);
    return;
  }
  ASSERT_TRUE(SqliteRows(data_dir_ + "/" + store + ".db",
                         "UPDATE kv SET v = (SELECT v FROM kv WHERE k = ?1) "
                         "WHERE k = ?2 RETURNING k",
                         {from, to})
                  .has_value());
}

// ---------------------------------------------------------------------------
// Server

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  uint16_t port = 0;
  if (fd >= 0 &&
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

ServerProcess::ServerProcess() {
  if (!root_.ok()) {
    ADD_FAILURE() << root_.error();
    return;
  }
  data_dir_ = root_.File("data");
  for (const char* store : {"control", "eu", "us"})
    store_urls_[store] = std::string("sqlite://") + store + ".db";
  if (BackendUnderTest() == "postgres" && !PreparePostgresConfig()) return;
  init_result_ = RunCommand({PiivaultBin(), "init", "--dir", data_dir_});
  if (init_result_.exit_code != 0) {
    ADD_FAILURE() << "piivault init failed (" << init_result_.exit_code
                  << "): " << init_result_.err;
    return;
  }
  admin_key_ = Trim(ReadFile(data_dir_ + "/admin.key"));
  init_ok_ = !admin_key_.empty();
  if (!init_ok_) ADD_FAILURE() << "admin.key is empty";
}

bool ServerProcess::PreparePostgresConfig() {
  auto server = piivault::testing::TestPostgresUrl();
  if (!server) {
    ADD_FAILURE() << server.error();
    return false;
  }
  pg_server_ = *server;
  // The default config, with each store on a fresh database of its own.
  auto made =
      RunCommand({PiivaultBin(), "init", "--dir", root_.File("default")});
  std::string config = ReadFile(root_.File("default/piivault.toml"));
  fs::remove_all(root_.File("default"));
  if (made.exit_code != 0 || config.empty()) {
    ADD_FAILURE() << "piivault init of the default config failed: " << made.err;
    return false;
  }
  for (auto& [store, url] : store_urls_) {
    auto db = piivault::testing::CreateTestDatabase(pg_server_);
    if (!db) {
      ADD_FAILURE() << db.error();
      return false;
    }
    pg_databases_.push_back(db->name);
    auto at = config.find("\"" + url + "\"");
    if (at == std::string::npos) {
      ADD_FAILURE() << "the default config has no " << url;
      return false;
    }
    config.replace(at + 1, url.size(), db->url);
    url = db->url;
  }
  fs::create_directories(data_dir_);
  WriteFile(data_dir_ + "/piivault.toml", config);
  return true;
}

ServerProcess::ServerProcess(const ServerProcess& deployment, SameDeployment)
    : data_dir_(deployment.data_dir_),
      admin_key_(deployment.admin_key_),
      store_urls_(deployment.store_urls_),
      init_ok_(deployment.init_ok_) {
  if (!root_.ok()) {
    ADD_FAILURE() << root_.error();
    init_ok_ = false;
  }
}

ServerProcess::~ServerProcess() {
  Kill();
  for (auto& db : pg_databases_)
    (void)piivault::testing::DropTestDatabase(pg_server_, db);
}

void ServerProcess::EditConfig(const std::function<void(std::string&)>& edit) {
  std::string text = ReadFile(config_path());
  edit(text);
  WriteFile(config_path(), text);
}

void ServerProcess::SetLimits(const std::string& lines) {
  EditConfig([&](std::string& text) {
    if (auto at = text.find("[limits]"); at != std::string::npos) {
      auto next = text.find("\n[", at);
      text.erase(at,
                 next == std::string::npos ? std::string::npos : next + 1 - at);
    }
    text += "\n[limits]\n" + lines;
  });
}

void ServerProcess::EnableTls() {
  EditConfig([](std::string& text) {
    auto uncomment = [&](const std::string& line) {
      auto at = text.find("# " + line);
      if (at != std::string::npos)
        text.erase(at, 2);
      else
        ADD_FAILURE() << "config has no '# " << line << "'";
    };
    uncomment("tls_cert = \"tls/cert.pem\"");
    uncomment("tls_key = \"tls/key.pem\"");
  });
}

pid_t ServerProcess::Launch(const std::vector<std::string>& args,
                            const Headers& env) {
  int fd = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                  0600);
  if (fd < 0) {
    ADD_FAILURE() << "cannot open " << log_path();
    return -1;
  }
  ExecArgs exec(args, env);
  pid_t pid = Spawn(exec, fd, fd);
  ::close(fd);
  return pid;
}

std::optional<int> ServerProcess::Reap(pid_t pid, milliseconds wait) {
  return WaitFor(pid, wait);
}

::testing::AssertionResult ServerProcess::Start(bool tls, const Headers& env) {
  if (!init_ok_) return ::testing::AssertionFailure() << "init failed";
  if (pid_ > 0) return ::testing::AssertionFailure() << "already running";
  std::string last_log;
  // A port picked as free may be taken by a parallel test before serve binds
  // it; retry with another one in that case.
  for (int attempt = 0; attempt < 4; ++attempt) {
    port_ = FreePort();
    std::size_t log_offset = ReadFile(log_path()).size();
    pid_ = Launch({PiivaultBin(), "serve", "--config", config_path(),
                   "--listen", "127.0.0.1:" + std::to_string(port_)},
                  env);
    if (pid_ < 0) return ::testing::AssertionFailure() << "fork failed";
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      if (auto status = Reap(pid_, milliseconds(0))) {
        pid_ = -1;
        last_log = ReadFile(log_path()).substr(log_offset);
        if (last_log.find("cannot listen") != std::string::npos) break;
        return ::testing::AssertionFailure()
               << "serve exited with " << *status << ": " << last_log;
      }
      if (tls) {
        std::string log = ReadFile(log_path()).substr(log_offset);
        if (log.find("\"msg\":\"listening\"") != std::string::npos) {
          HttpConnection probe(port_);
          if (probe.connected()) return ::testing::AssertionSuccess();
        }
      } else {
        HttpConnection probe(port_, milliseconds(2000));
        if (probe.connected()) {
          auto r = probe.Send("GET", "/healthz", {{"Connection", "close"}});
          if (r.status == 200) return ::testing::AssertionSuccess();
        }
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    if (pid_ > 0) {
      Kill();
      return ::testing::AssertionFailure()
             << "serve did not become healthy within 10 s: " << Log();
    }
  }
  return ::testing::AssertionFailure()
         << "no port could be bound: " << last_log;
}

std::optional<int> ServerProcess::WaitForExit(milliseconds wait) {
  if (pid_ <= 0) return std::nullopt;
  auto status = Reap(pid_, wait);
  if (status) pid_ = -1;
  return status;
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto status = Reap(pid_, std::chrono::seconds(15));
  if (!status) {
    Kill();
    return -1;
  }
  pid_ = -1;
  return *status;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int ignored;
  ::waitpid(pid_, &ignored, 0);
  pid_ = -1;
}

::testing::AssertionResult ServerProcess::ExpectServeRefuses(
    const std::string& listen, uint16_t port, std::string* output,
    milliseconds deadline) {
  std::size_t log_offset = ReadFile(log_path()).size();
  pid_t pid = Launch(
      {PiivaultBin(), "serve", "--config", config_path(), "--listen", listen});
  if (pid < 0) return ::testing::AssertionFailure() << "fork failed";
  auto until = Clock::now() + deadline;
  bool served = false;
  std::optional<int> status;
  while (Clock::now() < until) {
    status = Reap(pid, milliseconds(0));
    if (status) break;
    // Nothing may be served meanwhile: any HTTP answer is a failure.
    HttpConnection probe(port, milliseconds(200));
    if (probe.connected()) {
      auto r = probe.Send("GET", "/healthz", {{"Connection", "close"}});
      if (r.status != 0) served = true;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::string log = ReadFile(log_path()).substr(log_offset);
  if (output) *output = log;
  if (!status) {
    ::kill(pid, SIGKILL);
    int ignored;
    ::waitpid(pid, &ignored, 0);
    return ::testing::AssertionFailure()
           << "serve was still running after " << deadline.count()
           << " ms; log: " << log;
  }
  if (served)
    return ::testing::AssertionFailure() << "serve answered an HTTP request";
  if (*status == 0)
    return ::testing::AssertionFailure() << "serve exited with 0: " << log;
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------
// Set-up helpers

json::object EveryTypeSchema() {
  json::array fields;
  auto add = [&](const char* name, const char* type, bool searchable = false) {
    fields.push_back(json::object{
        {"name", name}, {"type", type}, {"searchable", searchable}});
  };
  add("note", "string");
  add("name", "name");
  add("email", "email", true);
  add("phone", "phone");
  add("birth_date", "date");
  add("ssn", "ssn");
  add("card", "credit_card");
  add("iban", "iban");
  add("ip", "ip_address");
  add("count", "integer");
  add("active", "boolean");
  return json::object{{"fields", std::move(fields)}};
}

json::object EveryTypeValues() {
  return json::object{{"note", "Xylophone-Secret-Marker-77"},
                      {"name", "Zebulon Quixotewright"},
                      {"email", "Zebulon.Quixote@Example.org"},
                      {"phone", "+49 151 98765432"},
                      {"birth_date", "1977-07-15"},
                      {"ssn", "219-09-9999"},
                      {"card", "4111 1111 1111 1111"},
                      {"iban", "DE89 3704 0044 0532 0130 00"},
                      {"ip", "203.0.113.77"},
                      {"count", 424242},
                      {"active", true}};
}

Tenant SetUpTenant(const ServerProcess& server, const std::string& id,
                   std::vector<std::string> regions,
                   const std::string& default_region) {
  Tenant t;
  t.id = id;
  json::array r;
  for (auto& region : regions) r.emplace_back(region);
  auto created = server.Call("POST", "/v1/tenants", Auth(server.admin_key()),
                             json::object{{"id", id},
                                          {"name", "Tenant " + id},
                                          {"regions", std::move(r)},
                                          {"default_region", default_region}});
  if (created.status != 201) {
    ADD_FAILURE() << "create tenant " << id << ": " << created.Describe();
    return t;
  }
  auto identity = server.Call(
      "POST", t.Base() + "/identities", Auth(server.admin_key()),
      json::object{{"name", id + " admin"}, {"role", "tenant-admin"}});
  if (identity.status != 201) {
    ADD_FAILURE() << "create tenant admin: " << identity.Describe();
    return t;
  }
  t.admin_id = Str(identity.Json(), "id");
  t.admin_key = Str(identity.Json(), "api_key");
  auto collection =
      server.Call("PUT", t.Base() + "/collections/" + t.collection,
                  Auth(t.admin_key), EveryTypeSchema());
  if (collection.status != 201)
    ADD_FAILURE() << "create collection: " << collection.Describe();
  return t;
}

HttpResponse PostRecord(const ServerProcess& server, const Tenant& tenant,
                        const std::string& principal,
                        const json::object& fields,
                        const std::optional<std::string>& region) {
  json::object body{{"principal", principal}, {"fields", fields}};
  if (region) body["region"] = *region;
  return server.Call("POST", tenant.Records(), Data(tenant.admin_key), body);
}

}  // namespace it
