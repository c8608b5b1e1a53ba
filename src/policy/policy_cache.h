// Parsed access policies by identity, so that a request does not parse its
// identity's policy again. An entry is used only while the document it was
// parsed from equals the identity's current one (compared on every lookup),
// so a policy edit applies to the very next request, on every node.
// Thread safety: thread-safe.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "policy/access_policy.h"

namespace piivault::policy {

class PolicyCache {
 public:
  // `doc` parsed, as identity `identity`'s policy; Parse's errors.
  Result<std::shared_ptr<const AccessPolicy>> Get(
      std::string_view identity, const boost::json::value& doc);

 private:
  // Beyond this many identities the cache starts over.
  static constexpr std::size_t kMaxEntries = 4096;
  struct Entry {
    boost::json::value doc;
    std::shared_ptr<const AccessPolicy> policy;
  };
  std::shared_mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace piivault::policy
