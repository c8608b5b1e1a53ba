// The consent ledger: per principal, an append-only list of grant and
// withdraw events for the tenant's purposes, and the current state they lead
// to (vault/consent_state.h). It lives in the principal's region next to its
// records, sealed under the principal's key, so it moves with a relocation
// and is destroyed with the key. Every append is a compare-and-set on the
// principal's key entry, which holds the state. Every call here checks the
// state against the ledger's newest event (LedgerDepth::kNewest): kDataLoss
// when an older state was put back or the ledger was cut short.
//
// Storage (region store; keys/storage_keys.h):
//   consent/<t>/<pseudonym>/<seq: 16 hex>  one event (sealed JSON)
//   pkey/<t>/<pseudonym>                   the key entry, with the state
//
// Thread safety: thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "vault/consent_state.h"
#include "vault/model.h"
#include "vault/records.h"
#include "vault/request_context.h"

namespace piivault::vault {

struct ConsentEvent {
  uint64_t seq = 0;
  std::string purpose;
  bool granted = false;
  TimePoint at;
  std::string method;    // how it was given or withdrawn ("web_form", ...)
  std::string evidence;  // a reference to the customer's proof of it
};

struct ConsentLedger {
  static constexpr std::size_t kMaxPage = 1000;  // events in one read
  Consents current;
  std::vector<ConsentEvent> history;  // oldest first, one page
  // The seq the next page starts at; none after the last page.
  std::optional<uint64_t> next;
};

class ConsentService {
 public:
  // REQUIRES: both outlive this.
  ConsentService(RecordService* records, const Clock* clock)
      : records_(records), clock_(clock) {}

  // Appends a grant (granted) or a withdrawal of `purpose` for an existing
  // principal; effective for the very next request. Errors: kNotFound for an
  // unknown principal, validation_failed for a method or evidence that is
  // not free text (ValidateFreeText) of at most 64 and 1024 characters,
  // kAborted while the principal is being relocated.
  Result<ConsentEvent> Record(const RequestContext& context,
                              const Tenant& tenant, std::string_view principal,
                              const Purpose& purpose, bool granted,
                              std::string method, std::string evidence);

  // The current consents and the events from seq `from` on, at most
  // `limit` (clamped to 1..ConsentLedger::kMaxPage).
  Result<ConsentLedger> Ledger(const RequestContext& context,
                               const Tenant& tenant, std::string_view principal,
                               uint64_t from = 0,
                               std::size_t limit = ConsentLedger::kMaxPage);

  // For tenant-wide reads (an export): the first principal whose data
  // lives in `region` with consent events, after the one with pseudonym
  // `after` (empty: from the first) in pseudonym order, with its whole
  // ledger, checked as Ledger checks it; nullopt after the last. `store` is
  // the region's store. The principal id is there when one of its records
  // names it (RecordService::OpenPrincipalIn).
  struct PrincipalLedger {
    std::string pseudonym;
    std::optional<std::string> principal;
    std::vector<ConsentEvent> history;  // oldest first
  };
  Result<std::optional<PrincipalLedger>> NextLedgerIn(
      const RequestContext& context, const Tenant& tenant,
      std::string_view region, storage::Backend& store, std::string_view after);

  // The principal's current consents. kNotFound for an unknown principal.
  // (Record reads check a consent themselves: RecordService's
  // consent_purpose.)
  Result<Consents> Current(const RequestContext& context, const Tenant& tenant,
                           std::string_view principal);

 private:
  // Ledger's page, of the principal at `home`.
  Result<ConsentLedger> LedgerAt(const Tenant& tenant,
                                 const RecordService::PrincipalHome& home,
                                 uint64_t from, std::size_t limit);

  RecordService* records_;
  const Clock* clock_;
};

}  // namespace piivault::vault
