// The register of sub-processors (ISO/IEC 27018 A.8.1, A.11.12): who else
// processes the tenants' data, for what, and in which countries and regions,
// disclosed before use. Adding or changing an entry takes effect no earlier
// than the notice period from now, and notifies, in the batch that writes
// the entry (compliance/outbox.h), every tenant with data in its regions
// (TenantsWithDataIn); a change also those of the regions it leaves.
// Removing one notifies the same way. Tenants record objections, which
// operator-admin lists.
//
// Registry entries hold facts about the processor's contracts, never
// personal data.
//
// Thread safety: thread-safe; concurrent changes of one entry are
// serialized by compare-and-set on its document.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "compliance/outbox.h"
#include "storage/region_router.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/request_context.h"

namespace piivault::compliance {

// What a sub-processor notice says happened; shown by name in its payload
// ("added", "changed", "removed").
enum class SubProcessorChange { kAdded, kChanged, kRemoved };
std::string_view SubProcessorChangeName(SubProcessorChange change);

struct SubProcessor {
  std::string id;  // a name (vault::ValidateName), chosen by the operator
  std::string name;
  std::string service;                 // what it does for the processor
  std::string purpose;                 // why
  std::vector<std::string> countries;  // ISO 3166-1 alpha-2, upper case
  std::vector<std::string> regions;    // configured region ids
  std::string contract_reference;      // may be empty
  TimePoint effective_at;  // from when it may process (the latest change)
  TimePoint created_at;
  TimePoint updated_at;
  std::optional<TimePoint> removed_at;  // removed entries stay listed
};

struct Objection {
  std::string id;  // "obj_…"
  std::string sub_processor;
  std::string tenant;
  std::string reason;
  std::string by;  // the tenant-admin identity's id
  TimePoint created_at;
};

// The tenants "with data in" any of `regions`: those whose configured
// regions include one of them and which are not disposed of. The tenant's
// configuration, not its current counts: a tenant may place a principal in
// any of its regions at any time, so it must know before a sub-processor
// touches one. Ascending by tenant id.
Result<std::vector<vault::Tenant>> TenantsWithDataIn(
    vault::ControlStore& control, const std::vector<std::string>& regions);

class SubProcessorService {
 public:
  // REQUIRES: all pointers outlive this.
  SubProcessorService(vault::ControlStore* control,
                      storage::RegionRouter* router, Outbox* outbox,
                      const Clock* clock)
      : control_(control), router_(router), outbox_(outbox), clock_(clock) {}

  // The config's [compliance] sub_processor_notice_period. REQUIRES: before
  // the first Put.
  void set_notice_period(std::chrono::seconds period) {
    notice_period_ = period;
  }
  std::chrono::seconds notice_period() const { return notice_period_; }

  // Adds `entry` (an id not in the register, or one removed earlier) or
  // changes the entry of that id, with the notices of the change in the
  // same batch. The stored times (created, updated, removed) are set here.
  // validation_failed naming the member for: an id that is no name; name,
  // service, purpose or contract_reference that are not free text
  // (ValidateFreeText; 1..200 characters, the reference 0..200); countries
  // that are not 1..250 distinct ISO 3166 alpha-2 codes; regions that are
  // not 1..64 distinct configured region ids; an effective_at earlier than
  // the notice period from now (nothing is written then).
  struct PutResult {
    SubProcessor entry;
    SubProcessorChange change;
    std::vector<std::string> notified;  // tenant ids
  };
  Result<PutResult> Put(const vault::RequestContext& context,
                        SubProcessor entry);

  // Marks the entry removed (effective now) and notifies the tenants of its
  // regions. kNotFound for an unknown id; kFailedPrecondition when removed
  // already (nothing is written).
  Result<PutResult> Remove(const vault::RequestContext& context,
                           std::string_view id);

  Result<SubProcessor> Get(std::string_view id);
  // Every entry, removed ones too, ascending by id.
  Result<std::vector<SubProcessor>> List();
  // The entries not removed that touch any of `regions`.
  Result<std::vector<SubProcessor>> Touching(
      const std::vector<std::string>& regions);

  // Records `tenant`'s objection to the (not removed) entry `id`: kNotFound
  // otherwise; validation_failed "reason" unless free text of 1..1024
  // characters.
  Result<Objection> Object(const vault::RequestContext& context,
                           std::string_view tenant, std::string_view id,
                           std::string reason, std::string_view by);
  // The objections to entry `id` (kNotFound for an unknown id), oldest
  // first.
  Result<std::vector<Objection>> Objections(std::string_view id);

 private:
  Status Validate(const SubProcessor& entry) const;
  // The entry `id` as stored (both empty when there is none).
  struct Stored {
    std::optional<std::string> raw;  // for compare-and-set
    std::optional<SubProcessor> entry;
  };
  Result<Stored> Load(std::string_view id);
  // Reads entry `id`, lets `decide` make the entry to store and name the
  // change, and writes it, under compare-and-set, with a notice to every
  // tenant with data in its regions and, when the entry was in force, in
  // the regions it had.
  Result<PutResult> Apply(const vault::RequestContext& context,
                          std::string_view id,
                          const std::function<Result<PutResult>(
                              const std::optional<SubProcessor>&)>& decide);

  vault::ControlStore* control_;
  storage::RegionRouter* router_;
  Outbox* outbox_;
  const Clock* clock_;
  std::chrono::seconds notice_period_ = std::chrono::days(30);
};

}  // namespace piivault::compliance
