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
  // Webhook delivery (compliance/webhook_dispatcher.h): when the receiver
  // acknowledged it; the tries that failed and why (a safe message); when
  // it was given up on after the last try (a dead letter).
  std::optional<TimePoint> delivered_at;
  int attempts = 0;
  std::string last_error;
  std::optional<TimePoint> dead_lettered_at;
};

class Outbox {
 public:
  // REQUIRES: both outlive this.
  Outbox(vault::ControlStore* control, const Clock* clock)
      : control_(control), clock_(clock) {}

  // Adds a notice to `batch`, which the caller writes together with the
  // change the notice is about: the notice as it will be stored. It is due
  // for webhook delivery from then on.
  Notification Add(storage::WriteBatch& batch, std::string_view tenant,
                   NotificationType type, boost::json::object payload) const;

  // kNotFound for no such notice.
  Result<Notification> Get(std::string_view tenant, std::string_view id);
  // Stores `n` as changed by delivery; once delivered or dead-lettered it is
  // no longer due, and a dead letter is listed by DeadLetters.
  void SaveDelivery(storage::WriteBatch& batch, const Notification& n) const;
  // Takes the notice off the delivery queue without delivering it (the
  // tenant has no webhook: its inbox is its channel).
  void DropDue(storage::WriteBatch& batch, std::string_view tenant,
               std::string_view id) const;

  // The tenants with notices due for delivery, ascending, at most `limit`
  // after `after` (empty: from the first).
  Result<std::vector<std::string>> TenantsWithDue(std::string_view after,
                                                  std::size_t limit);
  // Ids of the tenant's notices due for delivery, oldest first, at most
  // `limit` after the id `after` (empty: from the first).
  Result<std::vector<std::string>> DueIds(std::string_view tenant,
                                          std::string_view after,
                                          std::size_t limit);
  // Notices given up on, of every tenant (by tenant, then id), at most
  // `limit` after (tenant, id) `after` (empty tenant: from the first).
  struct DeadLetterPage {
    std::vector<Notification> notifications;
    bool more = false;
  };
  Result<DeadLetterPage> DeadLetters(std::string_view after_tenant,
                                     std::string_view after_id,
                                     std::size_t limit);

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
