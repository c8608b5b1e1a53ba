// The storage contract: an untrusted, ordered byte key-value store with atomic
// batches. Backends know nothing of tenants or crypto; callers store only
// ciphertext values and keys built from random ids and keyed HMACs (never PII).
//
// Thread safety: every method may be called concurrently from any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace piivault::storage {

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

// A set of puts and deletes applied atomically and durably: after Write()
// returns OK every operation is on stable storage; on error none is applied.
// Operations apply in order, so a later op on the same key wins.
class WriteBatch {
 public:
  struct Op {
    enum class Kind { kPut, kDelete };
    Kind kind;
    std::string key;
    std::string value;  // empty for kDelete
  };
  // Optional guard: the batch applies only if `key` currently holds
  // `expected_value` (or is absent when expected_value is nullopt).
  struct Condition {
    std::string key;
    std::optional<std::string> expected_value;
  };

  void Put(std::string key, std::string value) {
    ops_.push_back({Op::Kind::kPut, std::move(key), std::move(value)});
  }
  void Delete(std::string key) {
    ops_.push_back({Op::Kind::kDelete, std::move(key), {}});
  }
  // REQUIRES: at most one condition per batch (a later call replaces it).
  void RequireValue(std::string key, std::optional<std::string> expected) {
    condition_ = Condition{std::move(key), std::move(expected)};
  }
  void RequireAbsent(std::string key) {
    RequireValue(std::move(key), std::nullopt);
  }

  const std::vector<Op>& ops() const { return ops_; }
  const std::optional<Condition>& condition() const { return condition_; }
  bool empty() const { return ops_.empty() && !condition_.has_value(); }

 private:
  std::vector<Op> ops_;
  std::optional<Condition> condition_;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // The value at `key`, or nullopt when absent.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;

  // One result per key, in the order of `keys`, in a single round trip.
  virtual Result<std::vector<std::optional<std::string>>> MultiGet(
      std::span<const std::string> keys) = 0;

  // Up to `limit` pairs whose key starts with `prefix` and is >= `start`
  // (start empty: from the beginning of the prefix), ascending by unsigned
  // byte order.
  virtual Result<std::vector<KeyValue>> Scan(std::string_view prefix,
                                             std::string_view start,
                                             std::size_t limit) = 0;

  // Applies `batch` atomically and durably. If the batch's condition does not
  // hold, nothing is applied and the result is kAborted.
  virtual Status Write(const WriteBatch& batch) = 0;
};

// Opens a backend from a URL: "memory:", "sqlite://PATH" (PATH relative to
// `base_dir` unless absolute). Unknown schemes give kInvalidArgument.
Result<std::unique_ptr<Backend>> OpenBackend(std::string_view url,
                                             std::string_view base_dir);

}  // namespace piivault::storage
