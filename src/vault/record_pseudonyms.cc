#include "vault/record_pseudonyms.h"

#include <functional>

namespace piivault::vault {

std::string RecordPseudonyms::Key(std::string_view tenant,
                                  std::string_view record_id) {
  std::string key;
  key.reserve(tenant.size() + 1 + record_id.size());
  key.append(tenant).push_back('\0');  // tenant ids hold no NUL
  key.append(record_id);
  return key;
}

RecordPseudonyms::Shard& RecordPseudonyms::ShardOf(const std::string& key) {
  return shards_[std::hash<std::string>()(key) % kShards];
}

std::optional<std::string> RecordPseudonyms::Find(std::string_view tenant,
                                                  std::string_view record_id) {
  const std::string key = Key(tenant, record_id);
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return std::nullopt;
  return it->second;
}

void RecordPseudonyms::Remember(std::string_view tenant,
                                std::string_view record_id,
                                std::string_view pseudonym) {
  std::string key = Key(tenant, record_id);
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  if (shard.entries.size() >= kMaxEntries / kShards &&
      !shard.entries.contains(key)) {
    shard.entries.erase(shard.entries.begin());
  }
  shard.entries.insert_or_assign(std::move(key), std::string(pseudonym));
}

}  // namespace piivault::vault
