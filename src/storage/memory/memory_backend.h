// An in-memory Backend: a sorted map under a reader-writer lock. Deterministic
// and dependency-free, meant for tests and for "memory:" URLs. Nothing is
// persisted; Write() is "durable" only for the lifetime of the object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/backend.h"

namespace piivault::storage {

// Orders keys by unsigned byte value, then by length (memcmp order, the same
// as SQLite's BLOB order). std::char_traits<char>::compare is specified to
// compare as unsigned char, so this agrees with std::string's operator<; it is
// spelled out here so the order does not depend on that detail. Transparent,
// so lookups by std::string_view do not allocate.
struct UnsignedByteLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};

class MemoryBackend final : public Backend {
 public:
  MemoryBackend() = default;
  MemoryBackend(const MemoryBackend&) = delete;
  MemoryBackend& operator=(const MemoryBackend&) = delete;

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

 private:
  mutable std::shared_mutex mu_;
  // GUARDED_BY(mu_)
  std::map<std::string, std::string, UnsignedByteLess> data_;
  std::map<std::string, int64_t, UnsignedByteLess> counters_;
};

}  // namespace piivault::storage
