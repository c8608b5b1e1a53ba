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
// arbitrary entry of it makes room.
//
// Thread safety: thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

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
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::string> entries;  // GUARDED_BY(mu)
  };
  static std::string Key(std::string_view tenant, std::string_view record_id);
  Shard& ShardOf(const std::string& key);

  std::array<Shard, kShards> shards_;
};

}  // namespace piivault::vault
