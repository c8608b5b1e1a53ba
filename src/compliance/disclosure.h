// Legal disclosure requests (ISO/IEC 27018 A.6.1, A.6.2): an authority asks
// the processor for a tenant's data. Only a legally binding instrument is
// honoured, only after a second operator-legal identity approved it, and
// every disclosure is recorded (which fields of which principals, as
// pseudonyms, to whom, when, under which instrument).
//
// States: received -> approved | rejected; approved -> fulfilled (once).
// The request, its independent decision and its scope are the same shape
// as a lockbox request's (compliance/access_request.h).
//
// The tenant is told through the outbox: in the approval's batch, unless a
// nondisclosure_until (a gag order) is set; then a job, written in the same
// batch and due exactly at nondisclosure_until, writes the one notice
// (NotifyTenant, idempotent: the request records that the tenant was told,
// under compare-and-set, in the notice's batch). Until then the tenant's
// list of disclosures does not show the request either.
//
// Requests are control documents `disclosure/<id>` (deployment-wide: the
// routes name no tenant), read uncached.
//
// Thread safety: thread-safe; concurrent decisions are serialized by
// compare-and-set on the stored request.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "compliance/access_request.h"
#include "compliance/outbox.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/request_context.h"

namespace piivault::compliance {

enum class DisclosureState { kReceived, kApproved, kRejected, kFulfilled };
std::string_view DisclosureStateName(DisclosureState state);
std::optional<DisclosureState> ParseDisclosureState(std::string_view name);

enum class InstrumentType { kSubpoena, kWarrant, kCourtOrder, kOther };
std::string_view InstrumentTypeName(InstrumentType type);
std::optional<InstrumentType> ParseInstrumentType(std::string_view name);

// Who asked: a name and, optionally, the raw 32-byte X25519 public key the
// package is encrypted to (crypto/transfer_stream.h).
struct Authority {
  std::string name;
  std::string public_key;  // raw bytes; empty: the package is plain JSON
};

struct Instrument {
  InstrumentType type = InstrumentType::kOther;
  std::string reference;
  std::string jurisdiction;
  bool legally_binding = false;
};

// What one fulfilment disclosed of one principal: names and pseudonyms
// only, never a value or a principal id.
struct DisclosedPrincipal {
  std::string pseudonym;
  std::vector<std::string> records;
  std::vector<std::string> fields;  // "collection.field", each once
};

struct DisclosureRecord {
  TimePoint fulfilled_at;
  std::string fulfilled_by;
  bool encrypted = false;  // to the authority's public key
  std::vector<DisclosedPrincipal> principals;
};

struct DisclosureRequest {
  std::string id;
  std::string tenant;
  std::string requested_by;  // operator-legal identity id
  Authority authority;
  Instrument instrument;
  // Principals are named, never "*"; collections default to ["*"].
  RequestScope scope;
  std::optional<TimePoint> nondisclosure_until;
  DisclosureState state = DisclosureState::kReceived;
  TimePoint created_at;
  std::string decided_by;  // approver or rejecter
  std::optional<TimePoint> decided_at;
  std::string rejection_reason;
  std::optional<TimePoint> tenant_notified_at;
  std::optional<DisclosureRecord> record;  // once fulfilled

  // Whether the tenant may see the request at `now`: approved or fulfilled,
  // and no non-disclosure period, or one that has passed.
  bool VisibleToTenantAt(TimePoint now) const;
};

class DisclosureService {
 public:
  // Adds to the approval's batch the job that notifies the tenant of
  // `request` at its nondisclosure_until (the scheduler lives in a higher
  // layer; services::Vault provides this).
  using NoticeScheduler = std::function<Status(
      storage::WriteBatch& batch, const DisclosureRequest& request)>;

  // REQUIRES: all outlive this.
  DisclosureService(vault::ControlStore* control, const Outbox* outbox,
                    const Clock* clock)
      : control_(control), outbox_(outbox), clock_(clock) {}
  // REQUIRES: once, before the first Approve.
  void SetNoticeScheduler(NoticeScheduler schedule) {
    schedule_notice_ = std::move(schedule);
  }

  struct NewRequest {
    Authority authority;
    Instrument instrument;
    RequestScope scope;
    std::optional<TimePoint> nondisclosure_until;
  };
  // validation_failed (with the field) for an authority name, instrument
  // reference or jurisdiction that is not free text of 1 to 256 characters,
  // an authority key that is not a usable X25519 public key, a scope with
  // no principals, "*" for principals, more than 100 entries, an unknown
  // collection or a malformed principal id, or a nondisclosure_until that
  // is not in the future.
  Result<DisclosureRequest> Create(const vault::RequestContext& context,
                                   const vault::Tenant& tenant,
                                   const vault::Identity& requester,
                                   NewRequest request);

  // Approval by a second operator-legal identity: permission_denied for the
  // requester itself; failed_precondition unless received, or when the
  // instrument is not legally binding. Notifies the tenant now, or
  // schedules the notice for nondisclosure_until, in the same batch.
  Result<DisclosureRequest> Approve(const vault::RequestContext& context,
                                    std::string_view id,
                                    const vault::Identity& approver);
  // failed_precondition unless received; validation_failed for a reason
  // that is not free text of 1 to 1024 characters.
  Result<DisclosureRequest> Reject(const vault::RequestContext& context,
                                   std::string_view id,
                                   const vault::Identity& rejecter,
                                   std::string reason);
  // failed_precondition unless `request` is approved (fulfilment happens
  // once): checked before anything is read for the package.
  static Status RequireFulfillable(const DisclosureRequest& request);
  // Records the fulfilment: approved -> fulfilled with `record`, under
  // compare-and-set (failed_precondition when no longer approved).
  Result<DisclosureRequest> Fulfil(const vault::RequestContext& context,
                                   std::string_view id,
                                   DisclosureRecord record);

  // The one notice of a request approved under a non-disclosure period
  // (the job's handler): failed_precondition before nondisclosure_until
  // (the job is retried later); nothing when the tenant was told already.
  Status NotifyTenant(const vault::RequestContext& context,
                      std::string_view id);

  Result<DisclosureRequest> Get(std::string_view id);
  // Every request, oldest first; of one tenant when `tenant` is not empty.
  Result<std::vector<DisclosureRequest>> List(std::string_view tenant = {});

  static bool ValidId(std::string_view id);

 private:
  Result<DisclosureRequest> Change(
      const vault::RequestContext& context, std::string_view id,
      const std::function<Status(DisclosureRequest&, storage::WriteBatch&)>&
          change);
  // Adds the tenant's notice of `request` to `batch` and marks it told.
  void AddNotice(storage::WriteBatch& batch, DisclosureRequest& request) const;

  vault::ControlStore* control_;
  const Outbox* outbox_;
  const Clock* clock_;
  NoticeScheduler schedule_notice_;
};

}  // namespace piivault::compliance
