#include "vault/consents.h"

#include <boost/json.hpp>

#include "base/encoding.h"
#include "base/retry.h"
#include "vault/barrier.h"
#include "vault/principal_key_state.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::vault {
namespace {

namespace json = boost::json;

constexpr int kMaxAttempts = 16;
constexpr std::size_t kMaxMethod = 64, kMaxEvidence = 1024;

// `prev`: ConsentEventHash of the event before, hex (empty for the first).
std::string EncodeEvent(const ConsentEvent& e, std::string_view prev) {
  return json::serialize(json::object{{"seq", e.seq},
                                      {"purpose", e.purpose},
                                      {"granted", e.granted},
                                      {"at", ToUnixMicros(e.at)},
                                      {"method", e.method},
                                      {"evidence", e.evidence},
                                      {"prev", prev}});
}

// A decoded event and the hash (hex) of the event before it that it names;
// empty for the first, and for events written before events named one.
struct ChainedEvent {
  ConsentEvent event;
  std::string prev;
};

Result<ChainedEvent> DecodeEvent(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Err(Corrupt("consent event"));
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "consent event"));
  ConsentEvent e;
  e.seq = static_cast<uint64_t>(s.Int("seq"));
  e.purpose = s.Str("purpose");
  e.granted = s.Bool("granted");
  e.at = FromUnixMicros(s.Int("at"));
  e.method = s.Str("method");
  e.evidence = s.Str("evidence");
  std::string prev = s.OptStr("prev");
  if (!s.ok) return Err(Corrupt("consent event"));
  return ChainedEvent{std::move(e), std::move(prev)};
}

// The principal's key entry and the consent state sealed in it, checked
// against the ledger (its head is the hash of the ledger's newest event).
struct StoredState {
  PrincipalKeyState entry;
  ConsentState state;
};

Result<StoredState> ReadState(const Tenant& tenant,
                              const RecordService::PrincipalHome& home) {
  StoredState out;
  PV_ASSIGN_OR_RETURN(out.entry, PrincipalKeyState::Decode(home.key_entry));
  PV_ASSIGN_OR_RETURN(out.state,
                      ConsentState::Open(home.key, tenant.id, home.pseudonym,
                                         out.entry.consents));
  PV_RETURN_IF_ERROR(CheckAgainstLedger(*home.store, home.key, tenant.id,
                                        home.pseudonym, home.key_entry,
                                        out.state, LedgerDepth::kNewest));
  return out;
}

}  // namespace

Result<ConsentEvent> ConsentService::Record(const RequestContext& context,
                                            const Tenant& tenant,
                                            std::string_view principal,
                                            const Purpose& purpose,
                                            bool granted, std::string method,
                                            std::string evidence) {
  PV_RETURN_IF_ERROR(ValidateFreeText("method", method, 0, kMaxMethod));
  PV_RETURN_IF_ERROR(ValidateFreeText("evidence", evidence, 0, kMaxEvidence));
  // A concurrent consent change, or a relocation, aborts the write: re-read.
  return RetryOnConflict(
      "the consents",
      [&]() -> Result<ConsentEvent> {
        PV_ASSIGN_OR_RETURN(auto home, records_->OpenPrincipal(
                                           context, tenant, principal, true));
        PV_ASSIGN_OR_RETURN(auto stored, ReadState(tenant, home));
        ConsentEvent event{stored.state.events, purpose.id, granted,
                           clock_->Now(),       method,     evidence};
        std::string event_key =
            keys::ConsentEvent(tenant.id, home.pseudonym, event.seq);
        std::string sealed_event =
            PrincipalBarrier(home.key, tenant.id)
                .SealConsentEvent(
                    event_key,
                    EncodeEvent(event, HexEncode(stored.state.head)));
        ConsentState next = stored.state;
        next.events += 1;
        next.head = ConsentEventHash(sealed_event);
        next.current[purpose.id] = granted;
        stored.entry.consents = next.Seal(home.key, tenant.id, home.pseudonym);

        std::string pkey = keys::PrincipalKey(tenant.id, home.pseudonym);
        storage::WriteBatch batch = context.Batch();
        // The active key entry as read: a concurrent consent change or a
        // relocation (which freezes it) aborts us.
        batch.RequireValue(pkey, home.key_entry);
        batch.RequireAbsent(event_key);
        batch.Put(event_key, sealed_event);
        batch.Put(pkey, stored.entry.Encode());
        PV_RETURN_IF_ERROR(home.store->Write(batch));
        return event;
      },
      kMaxAttempts);
}

Result<Consents> ConsentService::Current(const RequestContext& context,
                                         const Tenant& tenant,
                                         std::string_view principal) {
  PV_ASSIGN_OR_RETURN(
      auto home, records_->OpenPrincipal(context, tenant, principal, false));
  PV_ASSIGN_OR_RETURN(auto stored, ReadState(tenant, home));
  return stored.state.current;
}

Result<ConsentLedger> ConsentService::Ledger(const RequestContext& context,
                                             const Tenant& tenant,
                                             std::string_view principal,
                                             uint64_t from, std::size_t limit) {
  PV_ASSIGN_OR_RETURN(
      auto home, records_->OpenPrincipal(context, tenant, principal, false));
  return LedgerAt(tenant, home, from, limit);
}

Result<ConsentLedger> ConsentService::LedgerAt(
    const Tenant& tenant, const RecordService::PrincipalHome& home,
    uint64_t from, std::size_t limit) {
  PV_ASSIGN_OR_RETURN(auto stored, ReadState(tenant, home));
  std::string prefix = keys::ConsentEventPrefix(tenant.id, home.pseudonym);
  // A page: the events [from, from + count) the state says exist.
  const uint64_t events = stored.state.events;
  const uint64_t count =
      from >= events
          ? 0
          : std::min<uint64_t>(
                events - from,
                std::clamp<std::size_t>(limit, 1, ConsentLedger::kMaxPage));
  // On the last page, one more row shows an event beyond the state.
  const bool last = from + count >= events;
  PV_ASSIGN_OR_RETURN(
      auto rows,
      home.store->Scan(prefix,
                       keys::ConsentEvent(tenant.id, home.pseudonym, from),
                       count + (last ? 1 : 0)));
  ConsentLedger ledger{stored.state.current, {}, {}};
  std::string prev;  // the hash of the event before (unknown before `from`)
  PrincipalBarrier barrier(home.key, tenant.id);
  for (auto& row : rows) {
    PV_ASSIGN_OR_RETURN(auto plain,
                        barrier.OpenConsentEvent(row.key, row.value));
    PV_ASSIGN_OR_RETURN(auto chained, DecodeEvent(plain));
    auto& event = chained.event;
    // Every event in its place, none missing, each naming the one before
    // (events written before they named one name none): the ledger is
    // append-only.
    const bool chain_known = !ledger.history.empty() || from == 0;
    if (event.seq != from + ledger.history.size() ||
        row.key != keys::ConsentEvent(tenant.id, home.pseudonym, event.seq) ||
        (chain_known && !chained.prev.empty() &&
         chained.prev != HexEncode(prev)))
      return Err(DataLoss("the consent ledger has a gap"));
    prev = ConsentEventHash(row.value);
    ledger.history.push_back(std::move(event));
  }
  // ReadState matched the state with the newest event; this, with the
  // page (and on the last page, the newest event with the state's head).
  if (ledger.history.size() != count ||
      (last && count > 0 && prev != stored.state.head))
    return Err(DataLoss("the consent ledger does not match its state"));
  if (!last) ledger.next = from + count;
  return ledger;
}

Result<std::optional<ConsentService::PrincipalLedger>>
ConsentService::NextLedgerIn(const RequestContext& context,
                             const Tenant& tenant, std::string_view region,
                             storage::Backend& store, std::string_view after) {
  const std::string prefix = keys::ConsentEventTenantPrefix(tenant.id);
  // Past every event of `after` (seqs are hex digits, below 0xff).
  std::string start = after.empty()
                          ? std::string()
                          : keys::ConsentEventPrefix(tenant.id, after) + '\xff';
  for (;;) {
    PV_ASSIGN_OR_RETURN(auto first, store.Scan(prefix, start, 1));
    if (first.empty()) return std::optional<PrincipalLedger>();
    std::string_view rest =
        std::string_view(first.front().key).substr(prefix.size());
    std::string pseudonym(rest.substr(0, rest.find('/')));
    start = keys::ConsentEventPrefix(tenant.id, pseudonym) + '\xff';
    auto opened = records_->OpenPrincipalIn(context, tenant, region, pseudonym);
    // Another region's copy mid-relocation, or erased: not its data here.
    if (!opened && opened.error().code() == StatusCode::kNotFound) continue;
    if (!opened) return Err(opened.error());
    PrincipalLedger out{pseudonym, std::move(opened->principal), {}};
    for (std::optional<uint64_t> from = 0; from;) {
      PV_ASSIGN_OR_RETURN(auto page, LedgerAt(tenant, opened->home, *from,
                                              ConsentLedger::kMaxPage));
      for (auto& event : page.history) out.history.push_back(std::move(event));
      from = page.next;
    }
    return std::optional<PrincipalLedger>(std::move(out));
  }
}

}  // namespace piivault::vault
