// Rate limits of the HTTP API: token buckets keyed by a string (a client
// address, an identity id), in bounded memory, on an injected clock.
//
// Thread safety: every member may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "base/config.h"
#include "base/status.h"

namespace piivault::api {

// One token bucket per key: a key may spend `burst` units at once and earns
// them back at `per_minute`. A caller asks Blocked() before acting and
// Spend()s after an outcome that counts, so requests in flight when the
// budget runs out are still counted: the bucket goes into debt (down to
// -burst), which the key pays back before it is let through again.
//
// Memory is bounded: at most `max_keys` buckets are held; a new key evicts
// the least recently used one. A bucket that has refilled is dropped, since
// it says no more than an absent one. Eviction only ever forgets spending,
// so cycling keys gains an attacker nothing that the keys themselves would
// not: every key still starts with at most `burst`.
class RateLimiter {
 public:
  struct Options {
    int per_minute = 60;  // >= 1
    int burst = 60;       // >= 1
    std::size_t max_keys = 65536;
  };

  // REQUIRES: clock outlives this; per_minute, burst, max_keys >= 1.
  RateLimiter(Options options, const Clock* clock);

  // Nullopt while `key` has a unit left; otherwise how long until it has
  // (whole seconds, at least one). Never adds a bucket.
  std::optional<std::chrono::seconds> Blocked(std::string_view key);
  // Spends one unit of `key`'s budget.
  void Spend(std::string_view key);
  // Buckets held.
  std::size_t size() const;
  bool empty() const { return held_.load(std::memory_order_relaxed) == 0; }

 private:
  struct Bucket {
    std::string key;
    double tokens;
    TimePoint updated;
  };
  using Lru = std::list<Bucket>;  // most recently used first

  // Adds what `b` earned since it was last updated; true if it is full.
  bool Refill(Bucket& b, TimePoint now) const;

  const Options options_;
  const Clock* clock_;
  mutable std::mutex mu_;
  Lru lru_;
  // Views into the keys of lru_'s nodes, which never move.
  std::unordered_map<std::string_view, Lru::iterator> index_;
  // lru_.size(), readable without the lock: while no key has spent
  // anything, which is the normal case, Blocked() takes no lock.
  std::atomic<std::size_t> held_{0};
};

// The key a client address is limited under: an IPv4 address itself (also
// when IPv4-mapped, as a dual-stack listener reports it), an IPv6 address
// by its /64 (a single host commonly holds the whole network), anything
// unparseable as given.
std::string SourceKey(std::string_view remote_address);

// The API's two budgets ([limits] in the config):
// - failed authentications (401) per client address: once spent, every
//   request from that address gets 429 before its API key is looked at
//   (a valid key included, so guessing learns nothing);
// - plain `permission_denied` answers (403) per identity: once spent, the
//   identity's requests get 429 before they run, and are not audited, so
//   one tenant's identity cannot flood another tenant's audit log with
//   denied attempts. The other 403 reasons (consent_required,
//   tenant_not_active, region_not_allowed) describe the data or the tenant,
//   not an identity overreaching, and do not count.
class RequestLimits {
 public:
  // REQUIRES: clock outlives this.
  RequestLimits(const LimitsConfig& config, const Clock* clock);

  std::optional<std::chrono::seconds> SourceBlocked(
      std::string_view remote_address);
  // Counts `authenticated` against the address if it is a 401.
  void Authenticated(std::string_view remote_address,
                     const Status& authenticated);

  std::optional<std::chrono::seconds> IdentityBlocked(
      std::string_view identity);
  // Counts `answer` against the identity if it is a plain permission_denied.
  void Answered(std::string_view identity, const Status& answer);

  // The 429 rate_limited error for a blocked source or identity.
  static Status RateLimited();

 private:
  RateLimiter failed_auth_;
  RateLimiter denied_;
};

}  // namespace piivault::api
