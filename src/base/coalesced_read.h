// One read of a value shared by the callers that need it at about the same
// time, without ever handing a caller a value read before it asked.
//
// A caller gets the result of a read that began after its call: its own, if
// none is under way, or else the next one, which every caller arriving
// while the previous read was under way shares. Under load, reads are
// therefore at most one per read's duration, whatever the number of callers,
// at the cost of up to two reads' time for a caller that arrives mid-read.
// What a value read before a caller asked might miss (a write that finished
// before the call), a read begun after the call sees.
//
// Thread safety: thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <utility>

namespace piivault {

template <typename T>
class CoalescedRead {
 public:
  // `read()` returns the value; it runs on one of the calling threads, never
  // two at once.
  template <typename F>
  T Get(F&& read) {
    std::unique_lock lock(mu_);
    const std::uint64_t needed = started_ + 1;  // a read not begun yet
    for (;;) {
      if (finished_ >= needed) return value_;
      if (finished_ == started_) {  // none under way: this caller reads
        const std::uint64_t mine = ++started_;
        lock.unlock();
        T value = std::forward<F>(read)();
        lock.lock();
        finished_ = mine;
        value_ = value;
        done_.notify_all();
        return value;
      }
      ++waiting_;
      done_.wait(lock);
      --waiting_;
    }
  }

  // Reads begun so far, and callers waiting for one (for tests).
  std::uint64_t reads() const {
    std::lock_guard lock(mu_);
    return started_;
  }
  int waiting() const {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable done_;
  int waiting_ = 0;  // GUARDED_BY(mu_)
  // Reads begun, and the last one finished (one at a time: a read is under
  // way while the two differ).
  std::uint64_t started_ = 0;   // GUARDED_BY(mu_)
  std::uint64_t finished_ = 0;  // GUARDED_BY(mu_)
  T value_{};                   // GUARDED_BY(mu_): the last finished read's
};

}  // namespace piivault
