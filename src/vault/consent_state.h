// The current consents of one principal, and where its consent ledger
// (vault/consents.h) stood when they were written. The state is kept sealed
// under the principal's key inside its key entry
// (vault/principal_key_state.h):
//  - every read of a principal loads that entry anyway, so a purpose that
//    needs no consent never looks further, and one that does is refused
//    without a further read when the state does not allow it;
//  - a consent change is a compare-and-set on the entry that every record
//    write is already guarded by, so the two never interleave;
//  - the state moves with the key in a relocation and is destroyed with it.
//
// Rollback: an older sealed state is still valid ciphertext, so the state
// also names the ledger's length and the hash of its newest event (each
// event carries the hash of the one before it), and is checked against the
// ledger (LedgerDepth): a state put back over a newer one finds the newer
// events after it, and fails with kDataLoss. It cannot tell when the newer
// events were deleted along with it (docs/SECURITY.md, "Rollback").
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/secret.h"
#include "storage/backend.h"

namespace piivault::vault {

// Purpose -> whether its consent is active.
using Consents = std::map<std::string, bool, std::less<>>;

// What the next event and the state chain to: a digest of an event as stored
// (its sealed bytes, which a relocation copies as they are).
std::string ConsentEventHash(std::string_view stored);

// How much of the ledger a check of the state reads.
enum class LedgerDepth : uint8_t {
  // That no event follows the state: one key. Enough before a grant is used:
  // an older state put back finds the newer events after it.
  kNothingAfter,
  // Also that the ledger's newest event is the one the state names (by its
  // hash): two keys, in one read. For what shows or extends the consents.
  kNewest,
};

struct ConsentState {
  uint64_t events = 0;  // ledger length
  // ConsentEventHash of the ledger's newest event; empty when there is none,
  // and in a state sealed before the hash was kept (read as such).
  std::string head;
  Consents current;

  bool Allows(std::string_view purpose) const {
    auto it = current.find(purpose);
    return it != current.end() && it->second;
  }

  // Sealed under the principal's key, bound to tenant and pseudonym.
  std::string Seal(const crypto::SecretBytes& key, std::string_view tenant,
                   std::string_view pseudonym) const;
  // An empty `sealed` is the state before any consent was recorded.
  // kDataLoss when it does not open or decode.
  static Result<ConsentState> Open(const crypto::SecretBytes& key,
                                   std::string_view tenant,
                                   std::string_view pseudonym,
                                   std::string_view sealed);

  // Whether this state is the one the principal's ledger in `backend` ends
  // with, to `depth`; one read. Returns the hash of the ledger's newest
  // event (for kNothingAfter: `head` as it is). kDataLoss when the ledger
  // holds an event after this state's newest (an older state was put back)
  // or, for kNewest, lacks that event or holds another one in its place.
  Result<std::string> CheckLedger(storage::Backend& backend,
                                  std::string_view tenant,
                                  std::string_view pseudonym,
                                  LedgerDepth depth) const;
};

// CheckLedger for `state`, opened from the key entry `entry` of principal
// `pseudonym` (as read from `backend`; `key` is the principal key in it),
// which also sets the state's head to the hash of the ledger's newest event.
// A consent change committed between reading the entry and the ledger looks
// like an older state put back; it is told apart by reading the entry again
// (only then), and the check is redone with the state the entry holds now,
// which replaces `state`. kDataLoss: an older state was put back; kAborted:
// the entry lost its key meanwhile (an erasure, a relocation away).
Status CheckAgainstLedger(storage::Backend& backend,
                          const crypto::SecretBytes& key,
                          std::string_view tenant, std::string_view pseudonym,
                          std::string_view entry, ConsentState& state,
                          LedgerDepth depth);

// CheckAgainstLedger for many principals of one region, in one read for all
// (a MultiGet of two keys each) unless one's entry changed meanwhile.
struct LedgerCheck {
  std::string_view pseudonym;
  const crypto::SecretBytes* key;
  std::string_view entry;
  ConsentState* state;
};
Status CheckAgainstLedgers(storage::Backend& backend, std::string_view tenant,
                           std::span<const LedgerCheck> checks,
                           LedgerDepth depth);

}  // namespace piivault::vault
