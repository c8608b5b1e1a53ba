// The throwaway PostgreSQL server of the tests (scripts/start-postgres, run
// by ctest's "postgres" fixture; see tests/postgres.cmake).
//
// Depends on libpq and the standard library only, so that any test target
// (the HTTP integration tests link no project library) can use it. Errors are
// plain strings; a test that needs PostgreSQL must FAIL, never skip, when it
// is missing:
//
//   auto server = piivault::testing::TestPostgresUrl();
//   ASSERT_TRUE(server.has_value()) << server.error();
//   auto db = piivault::testing::CreateTestDatabase(*server);
//   ASSERT_TRUE(db.has_value()) << db.error();
//   ... OpenBackend(db->url, ...) ...
//   (void)piivault::testing::DropTestDatabase(*server, db->name);
#pragma once

#include <chrono>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace piivault::testing {

template <typename T>
using PgResult = std::expected<T, std::string>;

// The URL of the test server, read from the file named by the environment
// variable PIIVAULT_TEST_PG_ENV (line PIIVAULT_TEST_PG_URL=...). The error
// explains how to provide one.
PgResult<std::string> TestPostgresUrl();

// `url` with its database name replaced by `dbname` (a plain identifier).
std::string WithDatabase(std::string_view url, std::string_view dbname);

struct TestDatabase {
  std::string name;  // unique: pvtest_<pid>_<time>_<n>
  std::string url;   // the server URL, on that database
};

// Creates a fresh, empty, uniquely named database on the server at
// `server_url`.
PgResult<TestDatabase> CreateTestDatabase(std::string_view server_url);

// Drops a database made by CreateTestDatabase, disconnecting its sessions.
PgResult<void> DropTestDatabase(std::string_view server_url,
                                std::string_view dbname);

// Runs `sql` (text protocol) on `url` and returns its rows, each a vector of
// the columns' text (SQL NULL gives ""; use IS NULL in the query if it
// matters). Statements without rows give no rows.
PgResult<std::vector<std::vector<std::string>>> QueryRows(std::string_view url,
                                                          std::string_view sql);

// Terminates every session connected to `dbname` except our own, waiting
// until they are gone; returns how many were terminated.
PgResult<int> TerminateConnections(std::string_view server_url,
                                   std::string_view dbname);

// A session that ran some SQL and stays open, holding whatever it took
// (e.g. "BEGIN; LOCK TABLE piivault_kv IN ACCESS EXCLUSIVE MODE" stalls
// every statement on that table), until it is destroyed, which closes it.
class HeldSession {
 public:
  static PgResult<std::unique_ptr<HeldSession>> Start(std::string_view url,
                                                      std::string_view sql);
  ~HeldSession();
  HeldSession(const HeldSession&) = delete;
  HeldSession& operator=(const HeldSession&) = delete;

 private:
  struct Conn;
  explicit HeldSession(std::unique_ptr<Conn> conn);
  std::unique_ptr<Conn> conn_;
};

// Waits up to `wait` until `count` sessions of the application `app` on
// database `dbname` are waiting for a lock (pg_stat_activity), polling;
// false if they never were.
bool WaitForLockWaiters(std::string_view server_url, std::string_view dbname,
                        std::string_view app, int count,
                        std::chrono::milliseconds wait);

}  // namespace piivault::testing
