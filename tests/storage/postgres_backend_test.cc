// PostgreSQL specifics beyond the conformance suite: lazy connection,
// reconnection, the pool bound, byte-exact storage, no placeholder rows left
// by absence conditions, and error messages that never carry credentials.
#include "storage/postgres/postgres_backend.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/backend.h"
#include "support/postgres_env.h"

namespace piivault::storage {
namespace {

using piivault::testing::CreateTestDatabase;
using piivault::testing::DropTestDatabase;
using piivault::testing::HeldSession;
using piivault::testing::QueryRows;
using piivault::testing::TerminateConnections;
using piivault::testing::TestDatabase;
using piivault::testing::TestPostgresUrl;
using piivault::testing::WaitForLockWaiters;
using piivault::testing::WithDatabase;
using Rows = std::vector<std::vector<std::string>>;

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

std::string AllBytes() {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  return all;
}

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Each test gets a fresh database on the test server (and fails without one).
class PostgresBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = TestPostgresUrl();
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = *server;
    auto db = CreateTestDatabase(server_);
    ASSERT_TRUE(db.has_value()) << db.error();
    db_ = *db;
  }
  void TearDown() override {
    if (!db_.name.empty()) (void)DropTestDatabase(server_, db_.name);
  }

  std::unique_ptr<PostgresBackend> OpenDb(std::size_t pool_size = 4) {
    PostgresBackend::Options options;
    options.pool_size = pool_size;
    return OpenDb(options);
  }
  std::unique_ptr<PostgresBackend> OpenDb(
      const PostgresBackend::Options& options) {
    auto backend = PostgresBackend::Open(db_.url, options);
    EXPECT_TRUE(backend.has_value()) << backend.error().ToString();
    return backend.has_value() ? *std::move(backend) : nullptr;
  }

  // Rows of `sql` run on the test database; fails the test on an error.
  Rows Query(const std::string& sql) {
    auto rows = QueryRows(db_.url, sql);
    EXPECT_TRUE(rows.has_value()) << rows.error();
    return rows.has_value() ? *rows : Rows{};
  }

  // Every row of piivault_kv as (hex key, hex value), by key.
  Rows StoredKv() {
    return Query(
        "SELECT encode(k, 'hex'), encode(v, 'hex') FROM piivault_kv ORDER BY "
        "k");
  }

  // A backend with "k" = "v1" stored (so its tables exist and a connection
  // is open).
  std::unique_ptr<PostgresBackend> OpenWithK(
      const PostgresBackend::Options& options) {
    auto db = OpenDb(options);
    if (db == nullptr) return nullptr;
    WriteBatch batch;
    batch.Put("k", "v1");
    const Status s = db->Write(batch);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? std::move(db) : nullptr;
  }

  // Another session takes the table lock that every statement on
  // piivault_kv waits for, and holds it until the result is destroyed.
  std::unique_ptr<HeldSession> LockKvTable() {
    auto held = HeldSession::Start(
        db_.url, "BEGIN; LOCK TABLE piivault_kv IN ACCESS EXCLUSIVE MODE");
    EXPECT_TRUE(held.has_value()) << held.error();
    return held.has_value() ? *std::move(held) : nullptr;
  }

  std::string server_;
  TestDatabase db_;
};

// The test's own bound on a call that must not hang: generous against the
// backend's limits, so only a call that waits without limit runs into it.
constexpr auto kMustAnswerWithin = std::chrono::seconds(10);

// Runs `call` on another thread; waits for it at most kMustAnswerWithin.
// When it does not answer, fails the test, runs `unblock` (which must let
// the call finish, so the test ends rather than hangs) and returns nullopt.
template <typename F>
auto Bounded(F call, const std::function<void()>& unblock)
    -> std::optional<decltype(call())> {
  auto future = std::async(std::launch::async, std::move(call));
  if (future.wait_for(kMustAnswerWithin) == std::future_status::ready) {
    return future.get();
  }
  ADD_FAILURE() << "the call did not answer within "
                << kMustAnswerWithin.count() << " s";
  unblock();
  future.wait();
  return std::nullopt;
}

TEST(PostgresOpenTest, MalformedUrlsAreInvalidAndNeverEchoed) {
  for (const char* url : {
           "postgres://user:hunter2@db.example/vault?no_such_option=1",
           "postgresql://user:hunter2@[db.example/vault",
           "postgresql://user:hunter2@db.example/va%zzult",
           "postgresql://user:hunter2@db.example:99999/vault",
           "postgresql://user:hunter2@db.example:54x2/vault",
           "postgresql://user:hunter2@db.example/va%00ult",
           "postgresqlx://user:hunter2@db.example/vault",
       }) {
    auto r = PostgresBackend::Open(url, PostgresBackend::Options());
    ASSERT_FALSE(r.has_value()) << url;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_EQ(r.error().message().find("hunter2"), std::string::npos) << url;
    EXPECT_EQ(r.error().message().find("db.example"), std::string::npos);
  }
}

TEST(PostgresOpenTest, UnreachableServerOpensButGivesUnavailable) {
  const int port = ClosedPort();
  ASSERT_GT(port, 0);
  const std::string url =
      "postgresql://piivault:s3cret-pw@127.0.0.1:" + std::to_string(port) +
      "/vault";
  auto opened = OpenBackend(url, BackendOptions{});
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  Backend& db = **opened;

  auto expect_unavailable = [&](const Status& s, const char* what) {
    EXPECT_EQ(s.code(), StatusCode::kUnavailable)
        << what << ": " << s.ToString();
    for (const std::string& secret :
         {std::string("s3cret-pw"), std::string("piivault:"),
          std::to_string(port)}) {
      EXPECT_EQ(s.message().find(secret), std::string::npos)
          << what << ": " << s.message();
    }
  };
  auto get = db.Get("k");
  ASSERT_FALSE(get.has_value());
  expect_unavailable(get.error(), "Get");
  auto multi = db.MultiGet(std::vector<std::string>{"a", "b"});
  ASSERT_FALSE(multi.has_value());
  expect_unavailable(multi.error(), "MultiGet");
  auto scan = db.Scan("p", "", 10);
  ASSERT_FALSE(scan.has_value());
  expect_unavailable(scan.error(), "Scan");
  auto sum = db.SumCounters("c");
  ASSERT_FALSE(sum.has_value());
  expect_unavailable(sum.error(), "SumCounters");
  WriteBatch plain;
  plain.Put("k", "v");
  expect_unavailable(db.Write(plain), "Write");
  WriteBatch guarded;
  guarded.RequireAbsent("k");
  guarded.Put("k", "v");
  expect_unavailable(db.Write(guarded), "conditional Write");
  // Past the reconnect backoff, a new attempt fails the same way.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  auto again = db.Get("k");
  ASSERT_FALSE(again.has_value());
  expect_unavailable(again.error(), "Get after backoff");
}

TEST_F(PostgresBackendTest, ServerRefusalIsUnavailableWithoutCredentials) {
  // Right server, wrong database: the server's own message names the
  // database; ours must not, nor the password.
  std::string url = WithDatabase(server_, "no_such_database_xq");
  url.replace(url.find("postgres@"), 9, "postgres:pw-hunter2@");
  auto backend = PostgresBackend::Open(url, PostgresBackend::Options());
  ASSERT_TRUE(backend.has_value()) << backend.error().ToString();
  auto r = (*backend)->Get("k");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.error().message().find("hunter2"), std::string::npos);
  EXPECT_EQ(r.error().message().find("no_such_database"), std::string::npos);
  EXPECT_EQ(r.error().message(), "postgres: cannot connect (SQLSTATE 08001)");
}

TEST_F(PostgresBackendTest, OpenIsLazyAndFirstUseCreatesTheSchema) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  const std::string tables =
      "SELECT table_name, column_name, data_type, is_nullable "
      "FROM information_schema.columns WHERE table_name LIKE 'piivault%' "
      "ORDER BY table_name, column_name";
  EXPECT_TRUE(Query(tables).empty()) << "Open must not connect";
  auto missing = db->Get("k");
  ASSERT_TRUE(missing.has_value()) << missing.error().ToString();
  EXPECT_EQ(*missing, std::nullopt);
  EXPECT_EQ(Query(tables), (Rows{{"piivault_counters", "k", "bytea", "NO"},
                                 {"piivault_counters", "n", "bigint", "NO"},
                                 {"piivault_kv", "k", "bytea", "NO"},
                                 {"piivault_kv", "v", "bytea", "NO"}}));
}

TEST_F(PostgresBackendTest, ReconnectsAfterConnectionsAreTerminated) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  WriteBatch first;
  first.Put("k", "v1");
  ASSERT_TRUE(db->Write(first).ok());

  auto killed = TerminateConnections(server_, db_.name);
  ASSERT_TRUE(killed.has_value()) << killed.error();
  ASSERT_GE(*killed, 1);
  auto read = db->Get("k");
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_EQ(*read, "v1");

  // A write is the first operation after the connections died.
  killed = TerminateConnections(server_, db_.name);
  ASSERT_TRUE(killed.has_value()) << killed.error();
  ASSERT_GE(*killed, 1);
  WriteBatch second;
  second.RequireValue("k", "v1");
  second.Put("k", "v2");
  const Status s = db->Write(second);
  ASSERT_TRUE(s.ok()) << s.ToString();
  killed = TerminateConnections(server_, db_.name);
  ASSERT_TRUE(killed.has_value()) << killed.error();
  WriteBatch third;
  third.Add("n", 3);
  ASSERT_TRUE(db->Write(third).ok());
  EXPECT_EQ(db->Get("k").value_or(std::nullopt), "v2");
  EXPECT_EQ(db->SumCounters("n").value_or(-1), 3);
}

TEST_F(PostgresBackendTest, PoolNeverExceedsPoolSize) {
  constexpr std::size_t kPool = 3;
  auto db = OpenDb(kPool);
  ASSERT_NE(db, nullptr);
  const std::string count_sql =
      "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db_.name +
      "' AND application_name = 'piivault'";
  auto count = [&]() -> int {
    Rows rows = Query(count_sql);
    return rows.size() == 1 ? std::stoi(rows[0][0]) : -1;
  };

  std::atomic<bool> done{false};
  std::atomic<int> peak{0};
  std::thread sampler([&] {
    while (!done.load()) {
      const int n = count();
      int seen = peak.load();
      while (n > seen && !peak.compare_exchange_weak(seen, n)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  constexpr int kThreads = 8;
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        WriteBatch batch;
        batch.Put("k/" + std::to_string(t) + "/" + std::to_string(i), "v");
        batch.Add("n", 1);
        if (!db->Write(batch).ok()) ++errors;
        auto got = db->MultiGet(std::vector<std::string>{
            "k/" + std::to_string(t) + "/" + std::to_string(i), "missing"});
        if (!got.has_value()) ++errors;
      }
    });
  }
  for (std::thread& w : workers) w.join();
  done = true;
  sampler.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(db->SumCounters("n").value_or(-1), kThreads * 40);
  EXPECT_LE(peak.load(), static_cast<int>(kPool));
  // The pool did fill up (so the bound, not a lack of load, held it there),
  // and keeps its connections for reuse.
  EXPECT_EQ(count(), static_cast<int>(kPool));
}

TEST_F(PostgresBackendTest, EveryByteValueIsStoredVerbatim) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  const std::string all = AllBytes();
  const std::string value = all + all;
  WriteBatch batch;
  batch.Put(all, value);
  batch.Put("empty", "");
  ASSERT_TRUE(db->Write(batch).ok());
  EXPECT_EQ(db->Get(all).value_or(std::nullopt), value);
  EXPECT_EQ(db->Get("empty").value_or(std::nullopt), "");
  // Binary parameters store the exact bytes (no text escaping on the way).
  EXPECT_EQ(StoredKv(), (Rows{{Hex(all), Hex(value)}, {Hex("empty"), ""}}));
  auto scanned = db->Scan(std::string(1, '\0'), "", 10);
  ASSERT_TRUE(scanned.has_value()) << scanned.error().ToString();
  ASSERT_EQ(scanned->size(), 1u);
  EXPECT_EQ((*scanned)[0], (KeyValue{all, value}));
}

TEST_F(PostgresBackendTest, AbsenceConditionsLeaveNoPlaceholderRows) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  WriteBatch guard_other;  // claims "a", writes "b"
  guard_other.RequireAbsent("a");
  guard_other.Put("b", "1");
  ASSERT_TRUE(db->Write(guard_other).ok());
  WriteBatch only_condition;
  only_condition.RequireAbsent("c");
  ASSERT_TRUE(db->Write(only_condition).ok());
  WriteBatch guard_and_delete;
  guard_and_delete.RequireAbsent("d");
  guard_and_delete.Delete("d");
  ASSERT_TRUE(db->Write(guard_and_delete).ok());
  WriteBatch create;
  create.RequireAbsent("e");
  create.Put("e", "5");
  ASSERT_TRUE(db->Write(create).ok());

  // Aborted batches: "x" and "z" are claimed before another condition fails.
  WriteBatch stale;
  stale.RequireAbsent("x");
  stale.RequireValue("b", "wrong");
  stale.Put("y", "");
  EXPECT_EQ(db->Write(stale).code(), StatusCode::kAborted);
  WriteBatch present;
  present.RequireAbsent("b");
  present.RequireAbsent("z");
  present.Add("n", 1);
  EXPECT_EQ(db->Write(present).code(), StatusCode::kAborted);

  EXPECT_EQ(StoredKv(), (Rows{{Hex("b"), Hex("1")}, {Hex("e"), Hex("5")}}));
  EXPECT_TRUE(Query("SELECT k FROM piivault_counters").empty());
  // And the claims were released: the keys can be created now.
  WriteBatch later;
  later.RequireAbsent("x");
  later.RequireAbsent("z");
  later.Put("x", "x");
  ASSERT_TRUE(db->Write(later).ok());
  EXPECT_EQ(
      StoredKv(),
      (Rows{{Hex("b"), Hex("1")}, {Hex("e"), Hex("5")}, {Hex("x"), Hex("x")}}));
}

TEST_F(PostgresBackendTest, LargeBatchCommitsAsOneTransaction) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  // Many calls in one pipeline: the replies (several hundred KiB) flow back
  // while the batch is still being sent.
  constexpr int kOps = 20000;
  WriteBatch batch;
  batch.RequireAbsent("marker");
  batch.Put("marker", "m");
  for (int i = 0; i < kOps; ++i) {
    batch.Put("row/" + std::to_string(i), std::string(64, 'v'));
    batch.Add("cnt/" + std::to_string(i % 100), 1);
  }
  const Status s = db->Write(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Query("SELECT count(*) FROM piivault_kv"),
            (Rows{{std::to_string(kOps + 1)}}));
  EXPECT_EQ(db->SumCounters("cnt/").value_or(-1), kOps);
}

TEST_F(PostgresBackendTest, WorksWithDataPrivilegesOnly) {
  // The least-privilege setup of docs/operations/postgresql.md: an
  // administrator creates the tables; the application role may only read
  // and write rows.
  const std::string role = db_.name + "_app";
  Query(
      "CREATE TABLE piivault_kv (k BYTEA PRIMARY KEY, v BYTEA NOT NULL);"
      "CREATE TABLE piivault_counters (k BYTEA PRIMARY KEY, n BIGINT NOT "
      "NULL);"
      "CREATE ROLE " +
      role +
      " LOGIN;"
      "REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
      "GRANT SELECT, INSERT, UPDATE, DELETE ON piivault_kv, piivault_counters "
      "TO " +
      role);
  std::string url = db_.url;
  url.replace(url.find("postgres@"), 9, role + "@");
  auto backend = PostgresBackend::Open(url, PostgresBackend::Options());
  ASSERT_TRUE(backend.has_value()) << backend.error().ToString();
  PostgresBackend& db = **backend;
  WriteBatch batch;
  batch.RequireAbsent("a");
  batch.Put("a", "1");
  batch.Add("n", 2);
  const Status s = db.Write(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  WriteBatch cas;
  cas.RequireValue("a", "1");
  cas.Delete("a");
  ASSERT_TRUE(db.Write(cas).ok());
  EXPECT_EQ(db.Get("a").value_or("error"), std::nullopt);
  EXPECT_EQ(db.SumCounters("").value_or(-1), 2);
  backend->reset();
  (void)DropTestDatabase(server_, db_.name);
  db_.name.clear();
  auto dropped = QueryRows(server_, "DROP ROLE " + role);
  EXPECT_TRUE(dropped.has_value()) << dropped.error();
}

TEST_F(PostgresBackendTest, StatementTimeoutCancelsAStatementStuckOnALock) {
  PostgresBackend::Options options;
  options.pool_size = 2;
  options.statement_timeout = std::chrono::milliseconds(300);
  auto db = OpenWithK(options);
  ASSERT_NE(db, nullptr);

  std::unique_ptr<HeldSession> lock = LockKvTable();
  ASSERT_NE(lock, nullptr);
  auto unlock = [&] { lock.reset(); };
  auto expect_timed_out = [](const Status& s, const char* what) {
    EXPECT_EQ(s.code(), StatusCode::kUnavailable)
        << what << ": " << s.ToString();
    EXPECT_NE(s.message().find("57014"), std::string::npos)
        << what << ": " << s.message();
  };
  auto get = Bounded([&] { return db->Get("k"); }, unlock);
  ASSERT_TRUE(get.has_value());
  ASSERT_FALSE(get->has_value());
  expect_timed_out(get->error(), "Get");
  auto scan = Bounded([&] { return db->Scan("", "", 10); }, unlock);
  ASSERT_TRUE(scan.has_value());
  ASSERT_FALSE(scan->has_value());
  expect_timed_out(scan->error(), "Scan");
  // A write waiting for its row lock is cancelled before COMMIT: nothing is
  // applied, and the caller is told so (not "outcome unknown").
  WriteBatch second;
  second.RequireValue("k", "v1");
  second.Put("k", "v2");
  auto write = Bounded([&] { return db->Write(second); }, unlock);
  ASSERT_TRUE(write.has_value());
  expect_timed_out(*write, "Write");

  // The connections stay usable once the lock is gone.
  lock.reset();
  EXPECT_EQ(db->Get("k").value_or("error"), "v1");
  ASSERT_TRUE(db->Write(second).ok());
  EXPECT_EQ(db->Get("k").value_or("error"), "v2");
}

TEST_F(PostgresBackendTest, NewConnectionsAreBoundedByTheStatementTimeout) {
  // Preparing the statements on a locked table waits for the lock too.
  {
    auto setup = OpenDb();
    ASSERT_NE(setup, nullptr);
    ASSERT_TRUE(setup->Get("k").has_value());  // creates the tables
  }
  PostgresBackend::Options options;
  options.statement_timeout = std::chrono::milliseconds(300);
  auto db = OpenDb(options);
  ASSERT_NE(db, nullptr);
  std::unique_ptr<HeldSession> lock = LockKvTable();
  ASSERT_NE(lock, nullptr);
  auto get = Bounded([&] { return db->Get("k"); }, [&] { lock.reset(); });
  ASSERT_TRUE(get.has_value());
  ASSERT_FALSE(get->has_value());
  EXPECT_EQ(get->error().code(), StatusCode::kUnavailable)
      << get->error().ToString();
}

TEST_F(PostgresBackendTest, PoolWaitIsBoundedWhenEveryConnectionIsBusy) {
  PostgresBackend::Options options;
  options.pool_size = 1;
  options.statement_timeout = std::chrono::milliseconds(0);  // none
  options.pool_wait_timeout = std::chrono::milliseconds(300);
  auto db = OpenWithK(options);
  ASSERT_NE(db, nullptr);

  // The pool's only connection waits for the lock.
  std::unique_ptr<HeldSession> lock = LockKvTable();
  ASSERT_NE(lock, nullptr);
  auto stuck = std::async(std::launch::async, [&] { return db->Get("k"); });
  // Whatever fails below, the lock goes before `stuck` is waited for.
  struct ReleaseAtExit {
    std::unique_ptr<HeldSession>& held;
    ~ReleaseAtExit() { held.reset(); }
  } release_at_exit{lock};
  ASSERT_TRUE(
      WaitForLockWaiters(server_, db_.name, "piivault", 1, kMustAnswerWithin))
      << "the first Get never reached the lock";

  auto unlock = [&] { lock.reset(); };
  const auto started = std::chrono::steady_clock::now();
  auto get = Bounded([&] { return db->Get("k"); }, unlock);
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(get.has_value());
  ASSERT_FALSE(get->has_value());
  EXPECT_EQ(get->error().code(), StatusCode::kUnavailable)
      << get->error().ToString();
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  // Writes wait no longer.
  WriteBatch second;
  second.Put("k", "v2");
  auto write = Bounded([&] { return db->Write(second); }, unlock);
  ASSERT_TRUE(write.has_value());
  EXPECT_EQ(write->code(), StatusCode::kUnavailable) << write->ToString();

  // The stuck read finishes once the lock is gone, and the pool serves again.
  lock.reset();
  EXPECT_EQ(stuck.get().value_or("error"), "v1");
  ASSERT_TRUE(db->Write(second).ok());
  EXPECT_EQ(db->Get("k").value_or("error"), "v2");
}

}  // namespace
}  // namespace piivault::storage
