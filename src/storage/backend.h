// The storage contract: an untrusted, ordered byte key-value store with atomic
// batches. Backends know nothing of tenants or crypto; callers store only
// ciphertext values and keys built from random ids and keyed HMACs (never PII).
//
// Thread safety: every method may be called concurrently from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
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

// A set of puts, deletes and counter adds applied atomically and durably:
// after Write() returns OK every operation is on stable storage; on error
// none is applied. Puts and deletes apply in order, so a later op on the same
// key wins.
//
// Counters are a key space of their own: Get/Scan never see them and
// SumCounters sees only them. Adds commute, so their order does not matter;
// callers spread a hot counter over several keys ("shards") and sum them.
class WriteAhead;  // storage/write_hook.h

class WriteBatch {
 public:
  WriteBatch() = default;
  // A batch of a request, whose write-ahead (if any) a HookedBackend runs
  // before applying it.
  explicit WriteBatch(WriteAhead* write_ahead) : write_ahead_(write_ahead) {}

  struct Op {
    enum class Kind { kPut, kDelete, kAdd };
    Kind kind;
    std::string key;
    std::string value;  // kPut only
    int64_t delta = 0;  // kAdd only
  };
  // Guards: the batch applies only if each `key` currently holds its
  // `expected_value` (or is absent when expected_value is nullopt).
  struct Condition {
    std::string key;
    std::optional<std::string> expected_value;
  };

  void Put(std::string key, std::string value) {
    ops_.push_back({Op::Kind::kPut, std::move(key), std::move(value), 0});
  }
  void Delete(std::string key) {
    ops_.push_back({Op::Kind::kDelete, std::move(key), {}, 0});
  }
  // Adds `delta` to the counter `key` (a counter never written is 0).
  void Add(std::string key, int64_t delta) {
    ops_.push_back({Op::Kind::kAdd, std::move(key), {}, delta});
  }
  // A later condition on the same key replaces the earlier one.
  void RequireValue(std::string key, std::optional<std::string> expected) {
    for (Condition& c : conditions_) {
      if (c.key == key) {
        c.expected_value = std::move(expected);
        return;
      }
    }
    conditions_.push_back({std::move(key), std::move(expected)});
  }
  void RequireAbsent(std::string key) {
    RequireValue(std::move(key), std::nullopt);
  }

  const std::vector<Op>& ops() const { return ops_; }
  const std::vector<Condition>& conditions() const { return conditions_; }
  bool empty() const { return ops_.empty() && conditions_.empty(); }
  WriteAhead* write_ahead() const { return write_ahead_; }

 private:
  WriteAhead* write_ahead_ = nullptr;
  std::vector<Op> ops_;
  std::vector<Condition> conditions_;
};

// One row or counter of a whole store, as Backend::Dump gives them and
// Backend::ReplaceAll takes them (backups, lifecycle/backup.h).
struct DumpItem {
  enum class Kind { kRow, kCounter };
  Kind kind = Kind::kRow;
  std::string key;
  std::string value;    // kRow only
  int64_t counter = 0;  // kCounter only
};
// Receives a dump's items in order; a non-OK status stops the dump and is
// its result. It must not write to the backend being dumped.
using DumpSink = std::function<Status(const DumpItem&)>;
// Gives the items to store one per call: true with `item` filled in, false
// at the end, or an error (which makes the replacement fail).
using DumpSource = std::function<Result<bool>(DumpItem& item)>;

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

  // A stamp of `key` that is cheaper to get than its value, for caches: two
  // equal stamps mean no write of `key` began in between, in any process.
  // nullopt when the backend keeps none or a write of it may be under way:
  // then only Get answers.
  virtual std::optional<std::uint64_t> ChangeStamp(std::string_view key) {
    (void)key;
    return std::nullopt;
  }

  // The sum of every counter whose key starts with `prefix` (0 when none).
  virtual Result<int64_t> SumCounters(std::string_view prefix) = 0;

  // Applies `batch` atomically and durably. If any of the batch's conditions
  // does not hold, nothing is applied and the result is kAborted. A backend
  // that cannot be reached gives kUnavailable.
  virtual Status Write(const WriteBatch& batch) = 0;

  // Hands `sink` every row, ascending by key, then every counter, ascending
  // by key, all as of one consistent snapshot (one read transaction): a
  // batch committed meanwhile is in it wholly or not at all. Memory stays
  // flat (at most a page of rows is held), however large the store.
  virtual Status Dump(const DumpSink& sink) = 0;

  // Replaces every row and counter of the store with the items of `source`,
  // in one transaction: on OK the store holds exactly those items (a later
  // row of the same key replaces an earlier one, counters of the same key add
  // up); on any error, the source's included, nothing changed. Meant for a
  // store no server is writing to (a restore); writes concurrent with it are
  // ordered wholly before or after it.
  virtual Status ReplaceAll(const DumpSource& source) = 0;
  // Deletes, durably, every counter whose key starts with `prefix` (a
  // disposed tenant's counts). Not part of any batch: for counters nothing
  // adds to any more.
  virtual Status DeleteCounters(std::string_view prefix) = 0;

  // After deletions that must leave nothing behind (an erasure, a
  // disposal): removes the images of deleted rows the backend keeps in its
  // own files where it can. SQLite (secure_delete zeroes freed pages)
  // checkpoints its write-ahead log into the database and truncates it;
  // PostgreSQL vacuums its tables, which prunes dead row versions (their
  // space is reused, not zeroed); memory has nothing to do. kUnavailable
  // when readers kept the log from being truncated, to be tried again.
  virtual Status Compact() = 0;
};

struct BackendOptions {
  std::string base_dir;  // where relative sqlite paths resolve
  // Most connections a networked backend (PostgreSQL) keeps open.
  std::size_t pool_size = 16;
  // Its bounds on a slow database (storage/postgres/postgres_backend.h).
  std::chrono::milliseconds pool_wait_timeout{2000};
  std::chrono::milliseconds statement_timeout{5000};
  // The page cache of each connection of an embedded store (SQLite).
  int sqlite_cache_kib = 8192;
};

// Opens a backend from a URL: "memory:", "sqlite://PATH" (PATH relative to
// options.base_dir unless absolute), "postgresql://…" or "postgres://…" (a
// libpq connection URI). Unknown schemes give kInvalidArgument. Error
// messages never echo the URL, which may carry credentials.
// Whether the store at `url` answers over a network (PostgreSQL): each of its
// reads holds the calling thread for a round trip.
bool IsNetworkedBackend(std::string_view url);

Result<std::unique_ptr<Backend>> OpenBackend(std::string_view url,
                                             const BackendOptions& options);
inline Result<std::unique_ptr<Backend>> OpenBackend(std::string_view url,
                                                    std::string_view base_dir) {
  return OpenBackend(url, BackendOptions{.base_dir = std::string(base_dir)});
}

}  // namespace piivault::storage
