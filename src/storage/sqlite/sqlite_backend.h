// A Backend on one SQLite 3 database file.
//
// Layout: kv(k BLOB PRIMARY KEY, v BLOB NOT NULL), a rowid table whose key
// index sorts by memcmp (unsigned byte) order, and counters(k BLOB PRIMARY
// KEY, n INTEGER NOT NULL) WITHOUT ROWID for WriteBatch::Add.
//
// Durability: WAL journal with synchronous=FULL, so a Write() that returned OK
// has been fsync'ed. secure_delete=ON overwrites freed content in the
// database file (older page images can survive in the -wal file until it is
// checkpointed and overwritten). Checkpoints run on a thread of their own
// (storage/sqlite/wal_checkpointer.h), not inside a commit unless that
// thread has fallen behind.
//
// Concurrency: reads run on a pool of query_only connections (one per
// concurrent caller, reused, statements prepared once per connection), so
// readers never wait for each other or for the writer. Writes use group
// commit: concurrent Write() callers queue, and the one at the head of the
// queue commits every queued batch in one transaction (one fsync), evaluating
// each batch's condition in order; a lone writer commits at once.
//
// The file is treated as untrusted: defensive mode, no extensions, triggers
// or views, cell_size_check, no mmap (a foreign process truncating the file
// cannot crash us with SIGBUS), symlinks refused, and a busy timeout so other
// processes holding locks delay rather than fail us.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/backend.h"
#include "storage/sqlite/change_stamps.h"
#include "storage/sqlite/wal_checkpointer.h"

namespace piivault::storage {

class SqliteBackend final : public Backend {
 public:
  struct Options {
    // How long a connection waits for a lock held by another connection or
    // process before failing with kUnavailable.
    int busy_timeout_ms = 5000;
    // Page cache per connection, in KiB (SQLite's default is 2000).
    int cache_size_kib = 8192;
    // Idle read connections kept open for reuse; more are opened on demand
    // when more readers run at once, and closed when returned.
    std::size_t max_idle_readers = 16;
    // Upper bounds on one commit group (the leader's batch always goes in).
    std::size_t max_group_batches = 1024;
    std::size_t max_group_bytes = std::size_t{8} << 20;
    // A commit that leaves this many frames (pages) in the write-ahead log
    // wakes the checkpoint thread; from `checkpoint_limit_frames` on, the
    // commit checkpoints itself (the thread has fallen behind).
    int checkpoint_wake_frames = 1000;
    int checkpoint_limit_frames = 8000;
  };

  // Opens (creating if needed, with mode 0600) the database at `path`.
  // kUnavailable if the directory does not exist or the file is not a usable
  // SQLite database. Messages never contain the path.
  static Result<std::unique_ptr<SqliteBackend>> Open(const std::string& path,
                                                     const Options& options);
  static Result<std::unique_ptr<SqliteBackend>> Open(const std::string& path) {
    return Open(path, Options());
  }

  ~SqliteBackend() override;
  SqliteBackend(const SqliteBackend&) = delete;
  SqliteBackend& operator=(const SqliteBackend&) = delete;

  Result<std::optional<std::string>> Get(std::string_view key) override;
  Result<std::vector<std::optional<std::string>>> MultiGet(
      std::span<const std::string> keys) override;
  Result<std::vector<KeyValue>> Scan(std::string_view prefix,
                                     std::string_view start,
                                     std::size_t limit) override;
  Result<int64_t> SumCounters(std::string_view prefix) override;
  // From the table of write stamps next to the database (`<path>-stamps`,
  // storage/sqlite/change_stamps.h), shared by every process using it.
  std::optional<std::uint64_t> ChangeStamp(std::string_view key) override;
  Status Write(const WriteBatch& batch) override;
  Status Dump(const DumpSink& sink) override;
  Status ReplaceAll(const DumpSource& source) override;
  Status DeleteCounters(std::string_view prefix) override;
  Status Compact() override;

  // Write transactions committed so far (one per commit group).
  std::uint64_t committed_transactions() const {
    return committed_transactions_.load(std::memory_order_relaxed);
  }
  // Batches acknowledged OK so far (each commit group holds one or more).
  std::uint64_t committed_batches() const {
    return committed_batches_.load(std::memory_order_relaxed);
  }

  // Checkpoints the checkpoint thread has completed.
  std::uint64_t background_checkpoints() const {
    return checkpointer_->checkpoints();
  }
  // For tests: stops (or lets go on) the checkpoint thread.
  void PauseCheckpointsForTesting(bool paused) {
    checkpointer_->PauseForTesting(paused);
  }

  // For tests: the value of `PRAGMA <name>` (name: lowercase letters and
  // '_') as seen by a read connection, or by the write connection.
  Result<std::string> PragmaForTesting(std::string_view name,
                                       bool on_writer = false);

  struct Connection;  // a sqlite3* with its cached prepared statements

 private:
  struct Writer;
  class ReaderLease;

  SqliteBackend(std::string path, Options options,
                std::unique_ptr<Connection> writer,
                std::unique_ptr<Connection> checkpoint_conn,
                std::unique_ptr<ChangeStamps> stamps);
  // Write and ReplaceAll, between their stamps.
  Status CommitInGroup(const WriteBatch& batch);
  Status ReplaceAllLocked(const DumpSource& source);

  Result<ReaderLease> AcquireReader();
  void ReleaseReader(std::unique_ptr<Connection> conn);
  // Applies `group` in one transaction on the write connection and sets each
  // writer's status. Called by the group leader only.
  void CommitGroup(std::span<Writer* const> group);

  const std::string path_;
  const Options options_;
  const std::size_t max_blob_bytes_;  // SQLITE_LIMIT_LENGTH
  const std::unique_ptr<ChangeStamps> stamps_;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // GUARDED_BY

  // Used by the group leader only; the mutex is uncontended in Write() and
  // only lets PragmaForTesting() share the connection.
  std::mutex writer_conn_mu_;
  std::unique_ptr<Connection> writer_conn_;  // GUARDED_BY(writer_conn_mu_)
  std::mutex write_mu_;
  std::deque<Writer*> write_queue_;  // GUARDED_BY(write_mu_)

  std::unique_ptr<Connection> checkpoint_conn_;    // the thread's own
  std::unique_ptr<WalCheckpointer> checkpointer_;  // hooked on the writer

  std::atomic<std::uint64_t> committed_transactions_{0};
  std::atomic<std::uint64_t> committed_batches_{0};
};

}  // namespace piivault::storage
