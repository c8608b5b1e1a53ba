// The incident register (ISO/IEC 27018 A.10.1, 16.1): what happened, when
// it was detected, whether it is a breach involving PII, which tenants it
// affects (named, or every tenant with data in the affected regions,
// resolved once at creation and stored), and for each of them a
// notification due by a deadline (detected_at + the configured
// [compliance] incident_notice_deadline). `Notify` sends every pending
// notice through the outbox (compliance/outbox.h) in the batch that marks
// it sent, so each tenant is told once however often it is called.
// Incidents carry a timeline of updates; closed ones stay listed.
//
// Titles, descriptions and notes are the operator's account of an event
// and reach the tenants in the notice: they must not hold personal data.
//
// Thread safety: thread-safe; changes of one incident are serialized by
// compare-and-set on its document.
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
#include "vault/request_context.h"

namespace piivault::compliance {

// Stored and shown by name: "open", "closed".
enum class IncidentState { kOpen, kClosed };
std::string_view IncidentStateName(IncidentState state);
std::optional<IncidentState> ParseIncidentState(std::string_view name);

// One affected tenant's notification: "pending" until sent, then
// "notified"; overdue while pending past its deadline.
struct TenantNotice {
  std::string tenant;
  TimePoint deadline;
  std::optional<TimePoint> notified_at;
  std::string notification;  // the outbox notice's id, once sent

  bool OverdueAt(TimePoint now) const { return !notified_at && now > deadline; }
};

struct IncidentUpdate {
  TimePoint at;
  std::string by;                      // operator identity id
  std::string note;                    // may be empty (a state change alone)
  std::optional<IncidentState> state;  // set when it changed the state
};

struct Incident {
  std::string id;  // "inc_…"
  std::string title;
  std::string description;
  TimePoint detected_at;
  bool pii_breach = false;
  // As asked: the tenants named and the regions named.
  std::vector<std::string> affected_tenants;
  std::vector<std::string> affected_regions;
  std::vector<TenantNotice> notices;  // resolved at creation, by tenant id
  IncidentState state = IncidentState::kOpen;
  std::vector<IncidentUpdate> updates;  // oldest first
  std::string created_by;
  TimePoint created_at;
  std::optional<TimePoint> closed_at;

  TimePoint Deadline() const;  // of every notice: detected_at + deadline
};

class IncidentService {
 public:
  // REQUIRES: all pointers outlive this.
  IncidentService(vault::ControlStore* control, storage::RegionRouter* router,
                  Outbox* outbox, const Clock* clock)
      : control_(control), router_(router), outbox_(outbox), clock_(clock) {}

  // The config's [compliance] incident_notice_deadline. REQUIRES: before
  // the first Create.
  void set_notice_deadline(std::chrono::seconds deadline) {
    notice_deadline_ = deadline;
  }
  std::chrono::seconds notice_deadline() const { return notice_deadline_; }

  struct NewIncident {
    std::string title;
    std::string description;
    TimePoint detected_at;
    bool pii_breach = false;
    std::vector<std::string> tenants;
    std::vector<std::string> regions;
  };
  // Registers an incident; its tenants are the named ones and those with
  // data in the named regions (TenantsWithDataIn), each once. Nobody is
  // notified yet. validation_failed naming the member for: a title (1..200
  // characters) or description (1..4096) that is not free text; a
  // detected_at in the future; "affected" naming neither tenants nor
  // regions, more than 1000 of either, a tenant that does not exist or a
  // region that is not configured.
  Result<Incident> Create(const vault::RequestContext& context,
                          NewIncident incident, std::string_view by);

  // Sends each pending notice (kIncident) and marks it notified, with a
  // timeline entry, in one batch; a no-op when none is pending. kNotFound
  // for an unknown id.
  Result<Incident> Notify(const vault::RequestContext& context,
                          std::string_view id, std::string_view by);

  // Adds `note` (free text of 0..4096 characters) to the timeline and, with
  // `close`, closes the incident. validation_failed "note" when neither is
  // given or the note is not free text; kFailedPrecondition when closing a
  // closed incident; kNotFound for an unknown id.
  Result<Incident> Update(const vault::RequestContext& context,
                          std::string_view id, std::string note, bool close,
                          std::string_view by);

  Result<Incident> Get(std::string_view id);
  // A page of incidents, open and closed, ascending by id, at most `limit`
  // after the id `after` (empty: from the first).
  struct Page {
    std::vector<Incident> incidents;
    std::optional<std::string> next;
  };
  Result<Page> List(std::string_view after, std::size_t limit);

 private:
  // Reads incident `id`, applies `change` (false: nothing to write) and
  // writes it with what `change` added to the batch, under compare-and-set.
  Result<Incident> Change(
      const vault::RequestContext& context, std::string_view id,
      const std::function<Result<bool>(Incident&, storage::WriteBatch&)>&
          change);

  vault::ControlStore* control_;
  storage::RegionRouter* router_;
  Outbox* outbox_;
  const Clock* clock_;
  std::chrono::seconds notice_deadline_ = std::chrono::hours(72);
};

}  // namespace piivault::compliance
