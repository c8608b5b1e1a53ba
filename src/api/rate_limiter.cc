#include "api/rate_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace piivault::api {

RateLimiter::RateLimiter(Options options, const Clock* clock)
    : options_(options), clock_(clock) {}

bool RateLimiter::Refill(Bucket& b, TimePoint now) const {
  // A clock that stepped back earns nothing (and is not paid back later).
  if (now > b.updated) {
    double minutes =
        std::chrono::duration<double, std::ratio<60>>(now - b.updated).count();
    b.tokens = std::min<double>(options_.burst,
                                b.tokens + minutes * options_.per_minute);
    b.updated = now;
  }
  return b.tokens >= options_.burst;
}

std::optional<std::chrono::seconds> RateLimiter::Blocked(std::string_view key) {
  if (empty()) return std::nullopt;
  TimePoint now = clock_->Now();
  std::lock_guard lock(mu_);
  auto found = index_.find(key);
  if (found == index_.end()) return std::nullopt;
  Lru::iterator b = found->second;
  if (Refill(*b, now)) {
    index_.erase(found);
    lru_.erase(b);
    held_.store(lru_.size(), std::memory_order_relaxed);
    return std::nullopt;
  }
  // Still recent, so a blocked key is the last to be evicted.
  lru_.splice(lru_.begin(), lru_, b);
  if (b->tokens >= 1) return std::nullopt;
  double wait = (1 - b->tokens) * 60 / options_.per_minute;
  return std::chrono::seconds(
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait))));
}

void RateLimiter::Spend(std::string_view key) {
  TimePoint now = clock_->Now();
  std::lock_guard lock(mu_);
  auto found = index_.find(key);
  Lru::iterator b;
  if (found != index_.end()) {
    b = found->second;
    Refill(*b, now);
    lru_.splice(lru_.begin(), lru_, b);
  } else {
    if (lru_.size() >= std::max<std::size_t>(1, options_.max_keys)) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(
        {std::string(key), static_cast<double>(options_.burst), now});
    b = lru_.begin();
    index_.emplace(b->key, b);
  }
  b->tokens = std::max<double>(-options_.burst, b->tokens - 1);
  held_.store(lru_.size(), std::memory_order_relaxed);
}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

std::string SourceKey(std::string_view remote_address) {
  // A link-local IPv6 address may carry its interface ("fe80::1%eth0").
  std::string address(remote_address.substr(
      0, std::min(remote_address.find('%'), std::size_t{INET6_ADDRSTRLEN})));
  std::array<unsigned char, 16> v6{};
  if (inet_pton(AF_INET6, address.c_str(), v6.data()) != 1) return address;
  std::array<char, INET6_ADDRSTRLEN> text{};
  constexpr std::array<unsigned char, 12> kMappedPrefix = {
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), v6.begin())) {
    inet_ntop(AF_INET, v6.data() + 12, text.data(), text.size());
    return text.data();
  }
  std::fill(v6.begin() + 8, v6.end(), 0);
  inet_ntop(AF_INET6, v6.data(), text.data(), text.size());
  return std::string(text.data()) + "/64";
}

RequestLimits::RequestLimits(const LimitsConfig& config, const Clock* clock)
    : failed_auth_({.per_minute = config.failed_auth_per_minute,
                    .burst = config.failed_auth_burst},
                   clock),
      denied_({.per_minute = config.denied_per_minute,
               .burst = config.denied_burst},
              clock) {}

std::optional<std::chrono::seconds> RequestLimits::SourceBlocked(
    std::string_view remote_address) {
  // Most of the time no address has failed at all: skip forming the key.
  if (failed_auth_.empty()) return std::nullopt;
  return failed_auth_.Blocked(SourceKey(remote_address));
}

void RequestLimits::Authenticated(std::string_view remote_address,
                                  const Status& authenticated) {
  if (authenticated.code() == StatusCode::kUnauthenticated)
    failed_auth_.Spend(SourceKey(remote_address));
}

std::optional<std::chrono::seconds> RequestLimits::IdentityBlocked(
    std::string_view identity) {
  return denied_.Blocked(identity);
}

void RequestLimits::Answered(std::string_view identity, const Status& answer) {
  // Plain permission_denied has no API reason; the other 403s have one.
  if (answer.code() == StatusCode::kPermissionDenied && answer.reason().empty())
    denied_.Spend(identity);
}

Status RequestLimits::RateLimited() {
  return Status(StatusCode::kResourceExhausted,
                "too many failed or denied requests; retry after the time in "
                "Retry-After");
}

}  // namespace piivault::api
