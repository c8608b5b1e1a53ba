#include "storage/sqlite/change_stamps.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace piivault::storage {
namespace {

constexpr std::size_t kBytes = ChangeStamps::kSlots * 2 * sizeof(std::uint64_t);

Status Errno(std::string_view what) {
  return Unavailable(std::string("change stamps: ") + std::string(what) + ": " +
                     std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<ChangeStamps>> ChangeStamps::Open(
    const std::string& path) {
  int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Err(Errno("open"));
  auto fail = [fd](std::string_view what) {
    Status s = Errno(what);
    ::close(fd);
    return s;
  };
  // Alone with the table (no other process has the store open): a count a
  // crash left unbalanced can be set right.
  const bool alone = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Err(fail("fstat"));
  if (static_cast<std::size_t>(st.st_size) < kBytes) {
    if (!alone) {
      // Another process is creating it: wait for its size.
      if (::flock(fd, LOCK_SH) != 0) return Err(fail("flock"));
      if (::fstat(fd, &st) != 0) return Err(fail("fstat"));
    }
    if (static_cast<std::size_t>(st.st_size) < kBytes &&
        ::ftruncate(fd, kBytes) != 0) {
      return Err(fail("ftruncate"));
    }
  }
  void* map =
      ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return Err(fail("mmap"));
  auto* slots = static_cast<Slot*>(map);
  if (alone) {
    for (std::size_t i = 0; i < kSlots; ++i) {
      // Past every stamp handed out before, so none of them matches again.
      std::uint64_t next =
          std::max(slots[i].began.load(), slots[i].ended.load()) + 1;
      slots[i].began.store(next);
      slots[i].ended.store(next);
    }
  }
  // Shared from now on: others open it too, none resets it under us.
  if (::flock(fd, LOCK_SH) != 0) {
    ::munmap(map, kBytes);
    return Err(fail("flock"));
  }
  return std::unique_ptr<ChangeStamps>(new ChangeStamps(fd, slots));
}

ChangeStamps::~ChangeStamps() {
  ::munmap(slots_, kBytes);
  ::close(fd_);  // releases the lock
}

std::size_t ChangeStamps::SlotOf(std::string_view key) {
  // FNV-1a, not std::hash: every binary and version sharing the table must
  // agree on the slot.
  std::uint64_t h = 0xcbf29ce484222325;
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3;
  return h % kSlots;
}

std::uint64_t ChangeStamps::SlotsOf(const WriteBatch& batch) {
  std::uint64_t set = 0;
  for (const WriteBatch::Op& op : batch.ops())
    set |= std::uint64_t{1} << SlotOf(op.key);
  return set;
}

std::optional<std::uint64_t> ChangeStamps::Stamp(std::string_view key) const {
  const Slot& slot = slots_[SlotOf(key)];
  // `began` first: a write that begins after it is seen by the next Stamp.
  const std::uint64_t began = slot.began.load();
  const std::uint64_t ended = slot.ended.load();
  if (began != ended) return std::nullopt;
  return ended;
}

void ChangeStamps::BeginWrite(std::uint64_t slots) {
  for (std::size_t i = 0; i < kSlots; ++i)
    if (slots >> i & 1) slots_[i].began.fetch_add(1);
}

void ChangeStamps::EndWrite(std::uint64_t slots) {
  for (std::size_t i = 0; i < kSlots; ++i)
    if (slots >> i & 1) slots_[i].ended.fetch_add(1);
}

}  // namespace piivault::storage
