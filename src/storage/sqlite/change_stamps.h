// Which keys of a SQLite store may have been written since a moment, known
// without reading the store: a small table of write counters in a file next
// to the database, mapped into every process that opens it. A cache (the
// control epoch) checks a stamp instead of reading its key on each request,
// and still sees another process's write as soon as that write returns.
//
// Keys hash to 64 slots; a slot counts the writes that began and the writes
// that ended. A stamp exists only when the two are equal (no write of the
// slot under way), and stays equal until the next write begins. A write cut
// short by a crash leaves its slot without a stamp (callers read the store)
// until no process has the store open and the next one resets the table.
//
// Thread safety: thread-safe, and safe across processes (lock-free atomics
// in shared memory).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "storage/backend.h"

namespace piivault::storage {

class ChangeStamps {
 public:
  static constexpr std::size_t kSlots = 64;  // the bits of a uint64_t

  // Maps (creating, mode 0600) the table at `path`. Holds a shared lock on
  // it while open; the first process to open it resets a table a crash left
  // mid-write.
  static Result<std::unique_ptr<ChangeStamps>> Open(const std::string& path);
  ~ChangeStamps();
  ChangeStamps(const ChangeStamps&) = delete;
  ChangeStamps& operator=(const ChangeStamps&) = delete;

  // Equal stamps of a key mean no write of it began in between; nullopt
  // while one may be under way.
  std::optional<std::uint64_t> Stamp(std::string_view key) const;

  // The slots (a bit set) the keys of `batch` hash to; kAllSlots for a write
  // that may change any key (a restore).
  static std::uint64_t SlotsOf(const WriteBatch& batch);
  static constexpr std::uint64_t kAllSlots = ~std::uint64_t{0};

  // Around a write of `slots`: BeginWrite before it can become visible,
  // EndWrite once it has (or has failed).
  void BeginWrite(std::uint64_t slots);
  void EndWrite(std::uint64_t slots);

 private:
  struct Slot {
    std::atomic<std::uint64_t> began;
    std::atomic<std::uint64_t> ended;
  };
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

  ChangeStamps(int fd, Slot* slots) : fd_(fd), slots_(slots) {}
  static std::size_t SlotOf(std::string_view key);

  int fd_;
  Slot* slots_;  // kSlots of them, in the shared mapping
};

}  // namespace piivault::storage
