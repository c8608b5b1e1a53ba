// The durable outbox of notices to tenants (ISO/IEC 27018 A.6.1, A.8.1,
// A.10.1: disclosures, sub-processor changes, breaches): a notice is a
// control document written in the same batch as the state change that
// causes it, so there is never a change without its notice nor a notice
// without its change. Every notice is in the tenant's inbox
// (GET /v1/tenants/{t}/notifications), oldest first; webhook delivery reads
// the same documents.
//
// Notices carry ids and facts about the processor's operations (which
// sub-processor, which incident, which instrument), never personal data.
//
// Thread safety: thread-safe (stateless over the control store).
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "vault/control_store.h"

namespace piivault::compliance {

// What a notice is about; stored and shown by name.
enum class NotificationType {
  kDisclosure,          // "disclosure": a legal disclosure of its data
  kSubProcessorChange,  // "sub_processor_change"
  kIncident,            // "incident": a breach involving its data
};
std::string_view NotificationTypeName(NotificationType type);
std::optional<NotificationType> ParseNotificationType(std::string_view name);

struct Notification {
  // "ntf_<16 hex digits of microseconds>_<random>": ids sort by creation.
  std::string id;
  std::string tenant;
  NotificationType type = NotificationType::kIncident;
  TimePoint created_at;
  boost::json::object payload;
  std::optional<TimePoint> delivered_at;  // by the webhook, once it is
};

class Outbox {
 public:
  // REQUIRES: both outlive this.
  Outbox(vault::ControlStore* control, const Clock* clock)
      : control_(control), clock_(clock) {}

  // Adds a notice to `batch`, which the caller writes together with the
  // change the notice is about: the notice as it will be stored.
  Notification Add(storage::WriteBatch& batch, std::string_view tenant,
                   NotificationType type, boost::json::object payload) const;

  // The tenant's notices, oldest first, at most `limit` after the id
  // `after` (empty: from the first); `next` is the last id returned while
  // more follow. kInvalidArgument for an `after` that is no notice id.
  struct Page {
    std::vector<Notification> notifications;
    std::optional<std::string> next;
  };
  Result<Page> List(std::string_view tenant, std::string_view after,
                    std::size_t limit);

  static bool ValidId(std::string_view id);

 private:
  vault::ControlStore* control_;
  const Clock* clock_;
};

}  // namespace piivault::compliance
