#include "policy/policy_cache.h"

#include <mutex>

namespace piivault::policy {

Result<std::shared_ptr<const AccessPolicy>> PolicyCache::Get(
    std::string_view identity, const boost::json::value& doc) {
  {
    std::shared_lock lock(mu_);
    auto it = entries_.find(identity);
    if (it != entries_.end() && it->second.doc == doc) return it->second.policy;
  }
  PV_ASSIGN_OR_RETURN(auto parsed, AccessPolicy::Parse(doc));
  auto policy = std::make_shared<const AccessPolicy>(std::move(parsed));
  std::unique_lock lock(mu_);
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_.insert_or_assign(std::string(identity), Entry{doc, policy});
  return policy;
}

}  // namespace piivault::policy
