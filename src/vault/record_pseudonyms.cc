#include "vault/record_pseudonyms.h"

namespace piivault::vault {

RecordPseudonyms::Shard& RecordPseudonyms::ShardOf(const KeyView& key) {
  return shards_[Hash()(key) % kShards];
}

std::optional<std::string> RecordPseudonyms::Find(std::string_view tenant,
                                                  std::string_view record_id) {
  const KeyView key(tenant, record_id);
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return std::nullopt;
  return it->second;
}

void RecordPseudonyms::Remember(std::string_view tenant,
                                std::string_view record_id,
                                std::string_view pseudonym) {
  const KeyView key(tenant, record_id);
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) {
    it->second = pseudonym;
    return;
  }
  if (shard.entries.size() >= kMaxEntries / kShards)
    shard.entries.erase(shard.entries.begin());
  shard.entries.emplace(Key(tenant, record_id), std::string(pseudonym));
}

}  // namespace piivault::vault
