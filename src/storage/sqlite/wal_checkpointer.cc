#include "storage/sqlite/wal_checkpointer.h"

#include <sqlite3.h>

namespace piivault::storage {

WalCheckpointer::WalCheckpointer(sqlite3* writer, sqlite3* own, int wake_frames,
                                 int limit_frames)
    : writer_(writer),
      own_(own),
      wake_frames_(wake_frames),
      limit_frames_(limit_frames) {
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
  // Replaces SQLite's automatic checkpoint on this connection.
  sqlite3_wal_hook(writer_, &WalCheckpointer::Committed, this);
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  thread_.request_stop();
  thread_.join();
}

int WalCheckpointer::Committed(void* self, sqlite3* db, const char* schema,
                               int frames) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (frames >= c->limit_frames_) {
    // Behind: this commit copies, as SQLite's own checkpoint would. Busy
    // (another connection copying) is fine: that one makes the progress.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                              nullptr);
  } else if (frames >= c->wake_frames_) {
    std::lock_guard lock(c->mu_);
    c->pending_ = true;
    c->wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Run(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (wake_.wait(lock, stop, [&] { return pending_ && !paused_; })) {
    pending_ = false;
    lock.unlock();
    // PASSIVE: copies what no reader still needs, never waits for a lock;
    // what it leaves is copied on the next wake-up.
    int rc;
    {
      std::lock_guard copying(copy_mu_);
      rc = sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                     nullptr, nullptr);
    }
    lock.lock();
    if (rc == SQLITE_OK) ++checkpoints_;
  }
}

std::uint64_t WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mu_);
  return checkpoints_;
}

void WalCheckpointer::PauseForTesting(bool paused) {
  std::lock_guard lock(mu_);
  paused_ = paused;
  wake_.notify_one();
}

}  // namespace piivault::storage
