// Copies a SQLite store's write-ahead log back into the database file on a
// thread and connection of its own, so a commit does not wait for it.
//
// SQLite's default runs a checkpoint inside the commit that takes the log
// past 1000 frames: that commit, and every request whose batch is in its
// group (each audited read waits for one), is held up while pages are
// written back and the database file is synced. Here the commit only wakes
// this thread. Should the thread fall behind (the log past `limit_frames`),
// the commit checkpoints itself as before, so the log stays bounded.
//
// A checkpoint never loses a committed write: the log stays the source of
// truth for every page it holds until a later writer restarts it after a
// complete copy (SQLite's WAL protocol). Other processes on the same file
// run their own checkpointers; only one copies at a time, the others skip.
//
// Thread safety: thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <thread>

struct sqlite3;

namespace piivault::storage {

class WalCheckpointer {
 public:
  // Checkpoints on `own` when a commit on `writer` leaves `wake_frames` or
  // more frames in the log; `writer` checkpoints itself from `limit_frames`.
  // REQUIRES: both connections outlive this; `own` is used by nobody else.
  WalCheckpointer(sqlite3* writer, sqlite3* own, int wake_frames,
                  int limit_frames);
  // Stops the thread (a checkpoint under way completes first) and takes the
  // hook off `writer`. REQUIRES: no commit on `writer` meanwhile.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Waits for a checkpoint of this thread under way, and lets it start none
  // while held: for a caller's own checkpoint, which would fail (SQLITE_BUSY)
  // if it met this thread's.
  std::unique_lock<std::mutex> HoldOff() {
    return std::unique_lock<std::mutex>(copy_mu_);
  }

  // Checkpoints this thread has completed.
  std::uint64_t checkpoints() const;

  // For tests: while paused, the thread starts no checkpoint (commits past
  // the limit still do).
  void PauseForTesting(bool paused);

 private:
  // The writer's WAL hook, called after each commit outside its lock.
  static int Committed(void* self, sqlite3* db, const char* schema, int frames);
  void Run(std::stop_token stop);

  sqlite3* const writer_;
  sqlite3* const own_;
  const int wake_frames_;
  const int limit_frames_;
  std::mutex copy_mu_;  // held while this thread checkpoints
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  bool pending_ = false;           // GUARDED_BY(mu_)
  bool paused_ = false;            // GUARDED_BY(mu_)
  std::uint64_t checkpoints_ = 0;  // GUARDED_BY(mu_)
  std::jthread thread_;            // last: stops before the state it uses
};

}  // namespace piivault::storage
