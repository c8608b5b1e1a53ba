// A Backend on a PostgreSQL database (or CockroachDB, YugabyteDB, Citus),
// through libpq.
//
// Layout: piivault_kv(k BYTEA PRIMARY KEY, v BYTEA NOT NULL), whose bytea
// keys sort in unsigned byte order, and piivault_counters(k BYTEA PRIMARY
// KEY, n BIGINT NOT NULL) for WriteBatch::Add. Both are created on the first
// successful connection when they do not exist yet.
//
// Connections: a pool of at most Options::pool_size, opened on demand (Open
// itself never connects, so a database that is down at startup only fails
// the requests sent to it, with kUnavailable). Every connection prepares the
// statements once; parameters and results travel in binary form.
//
// Time bounds: no call waits without limit for a slow or locked database.
// A caller that finds every connection busy waits at most pool_wait_timeout,
// then gets kUnavailable; every connection runs with the server's
// statement_timeout set to Options::statement_timeout, so a statement that
// runs (or waits for a lock) longer is cancelled by the server (SQLSTATE
// 57014), which is kUnavailable too, and the connection stays usable.
//
// Writes: one transaction per batch, sent with libpq's pipeline mode: one
// round trip for a batch without conditions, two for a batch with some (the
// conditions are checked, and their rows locked or claimed, in the first).
// See docs/operations/postgresql.md for the statements and why they are safe
// under READ COMMITTED.
//
// Error messages name the SQLSTATE only: never the URL, a password, a key or
// a value.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/backend.h"

namespace piivault::storage {

class PostgresBackend final : public Backend {
 public:
  struct Options {
    // Most connections open at once; callers beyond that wait for one.
    std::size_t pool_size = 16;
    // Seconds, used when the URL sets no connect_timeout.
    int connect_timeout_s = 5;
    // After a failed connection attempt, callers that find no idle
    // connection fail at once for this long instead of each waiting for its
    // own attempt, so requests to a database that is down do not pile up.
    std::chrono::milliseconds reconnect_backoff{500};
    // Times a transaction is run again after a serialization failure or a
    // deadlock (SQLSTATE 40001, 40P01) before giving up with kUnavailable.
    int max_conflict_retries = 8;
    // Longest a caller waits for a free connection when all pool_size are
    // in use; then kUnavailable.
    std::chrono::milliseconds pool_wait_timeout{2000};
    // The server-side statement_timeout of every connection (a statement,
    // lock waits included, is cancelled after it). Zero sets none, leaving
    // whatever the URL's options or the role configure.
    std::chrono::milliseconds statement_timeout{5000};
  };

  // `conninfo_url` is a libpq connection URI (postgresql://… or
  // postgres://…). kInvalidArgument if it does not parse; an unreachable
  // server is not an error here.
  static Result<std::unique_ptr<PostgresBackend>> Open(
      std::string_view conninfo_url, const Options& options);

  ~PostgresBackend() override;
  PostgresBackend(const PostgresBackend&) = delete;
  PostgresBackend& operator=(const PostgresBackend&) = delete;

  Result<std::optional<std::string>> Get(std::string_view key) override;
  Result<std::vector<std::optional<std::string>>> MultiGet(
      std::span<const std::string> keys) override;
  Result<std::vector<KeyValue>> Scan(std::string_view prefix,
                                     std::string_view start,
                                     std::size_t limit) override;
  Result<int64_t> SumCounters(std::string_view prefix) override;
  Status Write(const WriteBatch& batch) override;
  Status Dump(const DumpSink& sink) override;
  Status ReplaceAll(const DumpSource& source) override;
  Status DeleteCounters(std::string_view prefix) override;
  Status Compact() override;

  struct Connection;  // a PGconn with its prepared statements

 private:
  class Lease;
  struct WritePlan;
  // How one attempt at a write ended.
  struct WriteOutcome {
    enum Kind {
      kDone,              // `status` is the answer (OK, kAborted, an error)
      kConflict,          // 40001/40P01: nothing applied, run it again
      kLostBeforeCommit,  // connection lost, nothing committed
    } kind;
    Status status;
  };

  PostgresBackend(std::vector<std::string> keywords,
                  std::vector<std::string> values, Options options);

  // A healthy connection from the pool, or a new one while fewer than
  // pool_size are open; waits when all are in use.
  Result<Lease> Acquire();
  void Release(std::unique_ptr<Connection> conn);
  Result<std::unique_ptr<Connection>> Connect();
  // Prepares the statements on `conn`, creating the tables first if needed.
  Status Setup(Connection& conn);

  // Runs `read` on a pooled connection, once more on a fresh connection if
  // the first one turned out to be broken (reads are always safe to repeat).
  template <typename T, typename F>
  Result<T> RunRead(F&& read);
  // One attempt at `plan` on `conn`; may leave a transaction open.
  WriteOutcome TryWrite(Connection& conn, const WritePlan& plan);

  // libpq connection parameters parsed from the URL (never logged).
  const std::vector<std::string> keywords_;
  const std::vector<std::string> values_;
  const Options options_;

  std::mutex schema_mu_;  // serializes table creation

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
  std::size_t open_ = 0;  // idle + leased + connecting; GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point down_until_;  // GUARDED_BY(mu_)
};

}  // namespace piivault::storage
