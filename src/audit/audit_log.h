// Append-only, tamper-evident audit logs: one per tenant and one for the
// operator, each a Merkle tree hashed as RFC 6962 §2.1, kept in the control
// store through the barrier.
//
// Layout under "audit/<log id>/" in the control store:
//   size                         tree size, 8 bytes big-endian; every append
//                                batch is guarded by it, so nodes of a
//                                deployment never interleave appends
//   e/<index: 16 hex>            the entry, sealed under the control key
//                                (AAD = the storage key)
//   n/<level: 2 hex>/<index: 16 hex>
//                                the hash of every perfect subtree, so an
//                                inclusion or consistency proof is O(log n)
//                                node reads in one round trip
//   head                         the newest signed tree head (JSON)
//
// Group commit: concurrent Append() calls queue; the first in the queue
// writes every queued event (of any log) in one batch and wakes the others.
// Append returns only once its event is durable; if it cannot be made
// durable, kUnavailable, and the caller must fail the operation (fail
// closed).
//
// Thread safety: thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
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

// Everything needed to verify a log offline (audit/verify.h). As JSON:
// {"format":"piivault-audit-export-v1","log_id","head":<signed head>,
//  "entries":[<entry text> | null, ...],"leaf_hashes":[<hex>, ...]}.
// Entries are the exact bytes the tree hashes, null where the server could
// not read a stored entry (missing, or failing its integrity check), so that
// verification, not the export, names it; leaf_hashes are the ones the
// server stored (zero where missing), which locate a modified entry when
// they match the signed head.
struct LogExport {
  std::string log_id;
  SignedHead head;
  std::vector<std::optional<std::string>> entries;
  std::vector<Hash> leaf_hashes;

  std::string ToJson() const;
  static Result<LogExport> FromJson(std::string_view json);
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

  Result<uint64_t> Size(std::string_view log);
  // Up to `limit` events from index `from`, ascending. kDataLoss for an entry
  // that fails its integrity check.
  Result<std::vector<Event>> Read(std::string_view log, uint64_t from,
                                  std::size_t limit);
  // The entries themselves (the bytes the tree hashes), for export.
  Result<std::vector<std::string>> Entries(std::string_view log, uint64_t from,
                                           std::size_t limit);

  // The log with a freshly signed head, for offline verification.
  Result<LogExport> Export(std::string_view log);

  // The newest signed head; signs a new one first if the log grew since.
  Result<SignedHead> Head(std::string_view log);
  // Signs a head for every log this process appended to since the last call.
  Status SignGrownHeads();
  // Calls SignGrownHeads() every `period` on a background thread until
  // destruction.
  void StartSigning(std::chrono::milliseconds period);

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
  struct Pending;
  struct LogState {
    uint64_t size = 0;
    CompactRange range;
  };

  void CommitGroup(const std::vector<Pending*>& group);
  Result<LogState> LoadState(std::string_view log);
  Result<std::vector<Hash>> ReadNodes(std::string_view log,
                                      const std::vector<NodeId>& ids);
  Result<std::vector<Hash>> RangeHashes(std::string_view log,
                                        const std::vector<Range>& ranges);

  storage::Backend* control_;
  const crypto::Keyring* keyring_;
  const crypto::Ed25519Key* signer_;
  const Clock* clock_;

  std::mutex queue_mu_;
  std::deque<Pending*> queue_;  // GUARDED_BY(queue_mu_)

  // Used by the group leader only (one at a time).
  std::mutex state_mu_;
  std::map<std::string, LogState, std::less<>> states_;  // cached tree edges
  std::set<std::string, std::less<>> grown_;             // since last signing

  std::jthread signing_thread_;
};

}  // namespace piivault::audit
