// Which principal (by pseudonym) a record belongs to, remembered from earlier
// reads, so that a read can fetch the record and its principal's key entry
// in one MultiGet (one statement, one read transaction) instead of one after
// the other. A record never changes principal, so an entry never goes stale
// while its record exists; it is only a hint all the same: the caller checks
// it against the envelope it reads and reads the right entry when it differs
// (a deleted id imported again for another principal).
//
// Holds pseudonyms (random per principal, already in storage keys), never a
// key or a field. Bounded: at most kMaxEntries; when a shard is full an
// arbitrary entry of it makes room. A lookup builds no key.
//
// Thread safety: thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace piivault::vault {

class RecordPseudonyms {
 public:
  static constexpr std::size_t kMaxEntries = 1 << 18;

  std::optional<std::string> Find(std::string_view tenant,
                                  std::string_view record_id);
  void Remember(std::string_view tenant, std::string_view record_id,
                std::string_view pseudonym);

 private:
  static constexpr std::size_t kShards = 16;
  // (tenant, record id), looked up by views of the two: no key is built.
  using KeyView = std::pair<std::string_view, std::string_view>;
  using Key = std::pair<std::string, std::string>;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(const KeyView& k) const {
      const std::size_t h = std::hash<std::string_view>()(k.first);
      return h ^ (std::hash<std::string_view>()(k.second) + 0x9e3779b9 +
                  (h << 6) + (h >> 2));
    }
    std::size_t operator()(const Key& k) const {
      return (*this)(KeyView(k.first, k.second));
    }
  };
  struct Equal {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.first == b.first && a.second == b.second;
    }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<Key, std::string, Hash, Equal> entries;  // GUARDED_BY
  };
  Shard& ShardOf(const KeyView& key);

  std::array<Shard, kShards> shards_;
};

}  // namespace piivault::vault
