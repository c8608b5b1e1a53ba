// Append-only, tamper-evident audit logs: one per tenant and one for the
// operator, each a Merkle tree hashed as RFC 6962 §2.1, kept in the control
// store through the barrier.
//
// Layout under "audit/<log id>/" in the control store (the tiles are those
// of the C2SP tlog-tiles design and Go's golang.org/x/mod/sumdb/tlog, kept as
// rows):
//   size                         tree size, 8 bytes big-endian; every append
//                                batch is guarded by it, so nodes of a
//                                deployment never interleave appends
//   e/<first index: 16 hex>      a run of consecutive entries appended in one
//                                group, sealed together under the control key
//                                (AAD = the storage key); a run never crosses
//                                a multiple of 256, so the run holding entry
//                                i is found from i rounded down to 256
//   tile/<L: 2 hex>/<N: 16 hex>  hash tile: the hashes of the level-8L nodes
//                                [256N, 256N + w), w <= 256, rewritten as it
//                                fills. Any perfect subtree's hash is folded
//                                from at most 128 hashes of one tile, so a
//                                proof is one round trip of O(log n) rows
//   head                         the newest signed tree head (JSON)
//   pruned                       the signed prune checkpoint (JSON), once
//                                expired entries were removed
// and "audit-log/<log id>" names every log, for retention.
//
// Retention: PruneExpired() removes, oldest first, the entry runs whose
// every event is older than the retention period, and records how far it
// went in a checkpoint signed with the deployment key. The hash tiles stay
// (hashes, no personal data), so the tree, its signed heads and every proof
// remain valid; an export carries the checkpoint, and verification accepts
// absent entries below it only.
//
// Group commit: Append() and AppendAsync() queue the event; one committer
// thread writes everything queued (for any log) in one batch, one or two
// rows per log and group, then completes each event. An event is complete
// only once it is durable; if it cannot be made durable, kUnavailable, and
// the caller must fail the operation (fail closed).
//
// Thread safety: thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/event.h"
#include "audit/merkle.h"
#include "base/clock.h"
#include "crypto/keyring.h"
#include "crypto/signer.h"
#include "storage/backend.h"

namespace piivault::audit {

// A tree head signed with the deployment's Ed25519 key.
struct SignedHead {
  std::string log_id;
  uint64_t tree_size = 0;
  Hash root{};
  int64_t timestamp = 0;  // unix seconds
  std::string key_id;
  std::string signature;  // 64 bytes

  // What the signature covers: a fixed prefix, the log id, the size, the
  // timestamp and the root, so a head cannot be replayed for another log.
  std::string SignedBytes() const;
  // {"log_id","tree_size","root_hash"(hex),"timestamp"(RFC 3339),
  //  "key_id","signature"(base64)}
  std::string ToJson() const;
  static Result<SignedHead> FromJson(std::string_view json);
  bool Verify(std::string_view public_key) const;
};

// A signed statement that a log's entries below `pruned_before` were removed
// on purpose, by retention.
struct PruneCheckpoint {
  std::string log_id;
  uint64_t pruned_before = 0;
  int64_t timestamp = 0;  // unix seconds
  std::string key_id;
  std::string signature;

  std::string SignedBytes() const;
  // {"log_id","pruned_before","timestamp"(RFC 3339),"key_id","signature"}
  std::string ToJson() const;
  static Result<PruneCheckpoint> FromJson(std::string_view json);
  bool Verify(std::string_view public_key) const;
};

// Everything needed to verify a log offline (audit/verify.h). As JSON:
// {"format":"piivault-audit-export-v1","log_id","head":<signed head>,
//  "entries":[<entry text> | null, ...],"leaf_hashes":[<hex>, ...],
//  "pruned":<prune checkpoint>?}.
// Entries are the exact bytes the tree hashes, null where the server could
// not read a stored entry (missing, or failing its integrity check), so that
// verification, not the export, names it; leaf_hashes are the ones the
// server stored (zero where missing), which locate a modified entry when
// they match the signed head.
//
// A page of an export (AuditLog::Export with a limit) holds the entries and
// leaf hashes from index `from` on ("from" in the JSON when not 0); only a
// whole export (from 0 to the head's size) verifies.
struct LogExport {
  std::string log_id;
  SignedHead head;
  uint64_t from = 0;
  std::vector<std::optional<std::string>> entries;
  std::vector<Hash> leaf_hashes;
  std::optional<PruneCheckpoint> pruned;

  std::string ToJson() const;
  static Result<LogExport> FromJson(std::string_view json);
};

// Writes the JSON of a whole LogExport to `out` a page at a time, so that an
// export need never be held in memory as a whole (only its leaf hashes, 32
// bytes an entry). Begin, then Add every page in order, then Finish.
class LogExportWriter {
 public:
  explicit LogExportWriter(std::ostream& out) : out_(out) {}
  // `from`: where the first page starts (not 0 for a page of its own).
  void Begin(std::string_view log_id, const SignedHead& head,
             uint64_t from = 0);
  // REQUIRES: the page holds as many leaf hashes as entries.
  void Add(const LogExport& page);
  // `pruned`: the newest checkpoint any page carried.
  void Finish(const std::optional<PruneCheckpoint>& pruned);
  // The index the next page starts at.
  uint64_t next() const { return from_ + entries_; }

 private:
  std::ostream& out_;
  uint64_t from_ = 0;
  uint64_t entries_ = 0;
  std::vector<Hash> leaf_hashes_;
};

class AuditLog {
 public:
  // REQUIRES: all pointers outlive this.
  AuditLog(storage::Backend* control, const crypto::Keyring* keyring,
           const crypto::Ed25519Key* signer, const Clock* clock);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  static std::string TenantLog(std::string_view tenant);
  static constexpr std::string_view kOperatorLog = "operator";

  // Appends `event` (its seq is assigned here) and returns its index once it
  // is durable. kUnavailable when it cannot be written.
  Result<uint64_t> Append(std::string_view log, Event event);

  // Like Append(), without blocking: `done` gets the index or the error, on
  // the committer thread, so it must be quick and must not wait for this log.
  using Done = std::function<void(Result<uint64_t>)>;
  void AppendAsync(std::string_view log, Event event, Done done);

  Result<uint64_t> Size(std::string_view log);
  // Up to `limit` events from index `from`, ascending. kDataLoss for an entry
  // that fails its integrity check.
  Result<std::vector<Event>> Read(std::string_view log, uint64_t from,
                                  std::size_t limit);
  // The entries themselves (the bytes the tree hashes). kDataLoss for one
  // that is missing or fails its integrity check.
  Result<std::vector<std::string>> Entries(std::string_view log, uint64_t from,
                                           std::size_t limit);

  // The log with a freshly signed head, for offline verification: the
  // entries and leaf hashes [from, from + limit) below the head's size
  // (kInvalidArgument when `from` is beyond it), so a caller can bound what
  // one call reads and holds.
  Result<LogExport> Export(
      std::string_view log, uint64_t from = 0,
      uint64_t limit = std::numeric_limits<uint64_t>::max());

  // The newest signed head; signs a new one first if the log grew since.
  Result<SignedHead> Head(std::string_view log);
  // Signs a head for every log this process appended to since the last call.
  Status SignGrownHeads();

  // Removes `log`'s oldest entries older than `cutoff`, a whole run (one
  // group commit) at a time, behind a signed checkpoint, and returns the
  // index below which entries are gone. An entry that is missing, out of
  // place or fails its integrity check stops pruning there: tampering is
  // never pruned away.
  Result<uint64_t> Prune(std::string_view log, TimePoint cutoff);
  // Prune() of every log with cutoff = now - retention.
  Status PruneExpired(std::chrono::seconds retention);
  // 0, or the pruned_before of the log's checkpoint.
  Result<uint64_t> PrunedBefore(std::string_view log);

  struct Upkeep {
    std::chrono::milliseconds sign_every{1000};
    std::optional<std::chrono::seconds> retention;  // none: keep whole
    std::chrono::milliseconds prune_every = std::chrono::hours(1);
    std::function<void(const Status&)> on_prune_error;  // for the operator
  };
  // On a background thread until destruction: SignGrownHeads() every
  // sign_every, and with a retention, PruneExpired() every prune_every.
  void StartUpkeep(Upkeep upkeep);

  struct InclusionProof {
    Hash leaf_hash;
    std::vector<Hash> path;
  };
  // kInvalidArgument unless index < size <= the log's size.
  Result<InclusionProof> ProveInclusion(std::string_view log, uint64_t index,
                                        uint64_t size);
  // kInvalidArgument unless 0 < first <= second <= the log's size.
  Result<std::vector<Hash>> ProveConsistency(std::string_view log,
                                             uint64_t first, uint64_t second);

  const crypto::Ed25519Key& signer() const { return *signer_; }

 private:
  struct Pending {
    std::string log;
    Event event;
    Done done;
  };
  struct LogState {
    uint64_t size = 0;
    CompactRange range;
    // Per tile level L, the hashes of its newest, unfilled tile (< 256).
    std::vector<std::string> tile_tails;
  };
  class GroupBatch;
  struct Run {
    std::string key;
    uint64_t first;
    std::optional<std::vector<std::string>> entries;  // nullopt: unreadable
  };

  void CommitLoop(std::stop_token stop);
  // Writes the group and completes its events.
  void CommitGroup(std::vector<Pending>& group);
  Result<LogState> LoadState(std::string_view log);
  // The stored runs that may hold entries [from, from + count), in order.
  Result<std::vector<Run>> ScanRuns(std::string_view log, uint64_t from,
                                    uint64_t count);
  Result<std::optional<PruneCheckpoint>> LoadCheckpoint(std::string_view log);
  // Entries [from, from + count), nullopt where none is stored or it fails
  // its integrity check.
  Result<std::vector<std::optional<std::string>>> EntrySlots(
      std::string_view log, uint64_t from, uint64_t count);
  Result<std::vector<Hash>> ReadNodes(std::string_view log,
                                      const std::vector<NodeId>& ids);
  Result<std::vector<Hash>> RangeHashes(std::string_view log,
                                        const std::vector<Range>& ranges);

  storage::Backend* control_;
  const crypto::Keyring* keyring_;
  const crypto::Ed25519Key* signer_;
  const Clock* clock_;

  std::mutex queue_mu_;
  std::condition_variable_any queue_cv_;
  std::vector<Pending> queue_;  // GUARDED_BY(queue_mu_)
  bool stopped_ = false;        // GUARDED_BY(queue_mu_)

  // The committer's own: cached tree edges of the logs it appended to.
  std::map<std::string, LogState, std::less<>> states_;

  std::mutex grown_mu_;
  std::set<std::string, std::less<>> grown_;  // GUARDED_BY(grown_mu_)

  std::jthread committer_;  // last but one: stops before the state it uses
  std::jthread upkeep_thread_;
};

}  // namespace piivault::audit
