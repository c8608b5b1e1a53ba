#include "vault/consent_state.h"

#include <vector>

#include "base/bytes.h"
#include "base/retry.h"
#include "crypto/hash.h"
#include "vault/barrier.h"
#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

Status Malformed() { return DataLoss("the consent state is malformed"); }
Status RolledBack() {
  return DataLoss("the consent state does not match its ledger");
}

// The rows CheckLedger reads: for kNewest the state's newest event, if
// any; then the slot after it.
std::size_t LedgerKeyCount(const ConsentState& state, LedgerDepth depth) {
  return depth == LedgerDepth::kNewest && state.events > 0 ? 2 : 1;
}
void AddLedgerKeys(const ConsentState& state, LedgerDepth depth,
                   std::string_view tenant, std::string_view pseudonym,
                   std::vector<std::string>& out) {
  if (LedgerKeyCount(state, depth) == 2)
    out.push_back(keys::ConsentEvent(tenant, pseudonym, state.events - 1));
  out.push_back(keys::ConsentEvent(tenant, pseudonym, state.events));
}

// `rows` as read for AddLedgerKeys.
Result<std::string> MatchRows(
    const ConsentState& state,
    std::span<const std::optional<std::string>> rows) {
  if (rows.back()) return Err(RolledBack());  // a newer event exists
  if (rows.size() == 1) return state.head;
  if (!rows.front()) return Err(RolledBack());  // the newest event is gone
  std::string head = ConsentEventHash(*rows.front());
  // A state sealed before the head was kept names none.
  if (!state.head.empty() && !crypto::ConstantTimeEquals(head, state.head))
    return Err(RolledBack());
  return head;
}

}  // namespace

std::string ConsentEventHash(std::string_view stored) {
  return crypto::Sha256(stored);
}

std::string ConsentState::Seal(const crypto::SecretBytes& key,
                               std::string_view tenant,
                               std::string_view pseudonym) const {
  ByteWriter w;
  w.Varint(events);
  w.Bytes(head);
  w.Varint(current.size());
  for (auto& [purpose, granted] : current) {
    w.Bytes(purpose);
    w.U8(granted ? 1 : 0);
  }
  return PrincipalBarrier(key, tenant).SealConsentState(pseudonym, w.Take());
}

Result<ConsentState> ConsentState::Open(const crypto::SecretBytes& key,
                                        std::string_view tenant,
                                        std::string_view pseudonym,
                                        std::string_view sealed) {
  ConsentState out;
  if (sealed.empty()) return out;
  auto opened =
      PrincipalBarrier(key, tenant).OpenConsentState(pseudonym, sealed);
  if (!opened) return Err(Malformed());
  // A legacy state was sealed before the ledger head was kept; it is
  // replaced at the next change.
  const bool v2 = !opened->legacy;
  ByteReader r(opened->state);
  uint64_t count = 0;
  std::string_view head;
  if (!r.Varint(out.events) || (v2 && !r.Bytes(head)) || !r.Varint(count))
    return Err(Malformed());
  out.head = head;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view purpose;
    uint8_t granted = 0;
    if (!r.Bytes(purpose) || !r.U8(granted) || granted > 1)
      return Err(Malformed());
    out.current.emplace(purpose, granted == 1);
  }
  if (!r.done()) return Err(Malformed());
  return out;
}

Result<std::string> ConsentState::CheckLedger(storage::Backend& backend,
                                              std::string_view tenant,
                                              std::string_view pseudonym,
                                              LedgerDepth depth) const {
  std::vector<std::string> keys;
  AddLedgerKeys(*this, depth, tenant, pseudonym, keys);
  PV_ASSIGN_OR_RETURN(auto rows, backend.MultiGet(keys));
  return MatchRows(*this, rows);
}

Status CheckAgainstLedger(storage::Backend& backend,
                          const crypto::SecretBytes& key,
                          std::string_view tenant, std::string_view pseudonym,
                          std::string_view entry, ConsentState& state,
                          LedgerDepth depth) {
  constexpr int kMaxAttempts = 8;
  std::optional<PrincipalKeyState> read;  // `entry`, once a check failed
  std::string seen;                       // the entry `state` came from
  // Runs again on the newer state while the entry moved on since `state`
  // was read (a consent change, not an older state put back).
  auto attempt = [&]() -> std::optional<Status> {
    auto head = state.CheckLedger(backend, tenant, pseudonym, depth);
    if (head) {
      state.head = std::move(*head);
      return Status::Ok();
    }
    if (head.error().code() != StatusCode::kDataLoss) return head.error();
    // Only the entry can tell a consent change since it was read from an
    // older state put back: it moved on, or it did not.
    if (!read) {
      PV_ASSIGN_OR_RETURN(read, PrincipalKeyState::Decode(entry));
      seen = entry;
    }
    PV_ASSIGN_OR_RETURN(auto now,
                        backend.Get(keys::PrincipalKey(tenant, pseudonym)));
    if (now && *now == seen) return head.error();
    std::optional<PrincipalKeyState> moved;
    if (now) {
      PV_ASSIGN_OR_RETURN(moved, PrincipalKeyState::Decode(*now));
    }
    if (!moved || moved->wrapped != read->wrapped)  // no longer its key
      return Aborted("the principal changed concurrently; retry");
    PV_ASSIGN_OR_RETURN(
        state, ConsentState::Open(key, tenant, pseudonym, moved->consents));
    seen = std::move(*now);
    return std::nullopt;
  };
  return RetryOnConflict("the principal", attempt, kMaxAttempts);
}

Status CheckAgainstLedgers(storage::Backend& backend, std::string_view tenant,
                           std::span<const LedgerCheck> checks,
                           LedgerDepth depth) {
  if (checks.empty()) return Status::Ok();
  std::vector<std::string> keys;
  for (auto& c : checks)
    AddLedgerKeys(*c.state, depth, tenant, c.pseudonym, keys);
  PV_ASSIGN_OR_RETURN(auto rows, backend.MultiGet(keys));
  std::span<const std::optional<std::string>> rest(rows);
  for (auto& c : checks) {
    const std::size_t n = LedgerKeyCount(*c.state, depth);
    auto head = MatchRows(*c.state, rest.first(n));
    rest = rest.subspan(n);
    if (head) {
      c.state->head = std::move(*head);
      continue;
    }
    PV_RETURN_IF_ERROR(CheckAgainstLedger(backend, *c.key, tenant, c.pseudonym,
                                          c.entry, *c.state, depth));
  }
  return Status::Ok();
}

}  // namespace piivault::vault
