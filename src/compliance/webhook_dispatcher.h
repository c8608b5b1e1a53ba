// Delivers the outbox's notices (compliance/outbox.h) to each tenant's
// webhook (compliance/webhook_registry.h): at least once, oldest first.
//
// A delivery is a POST of
//   {"id","idempotency_id","tenant","type","created_at","payload"}
// (idempotency_id = id: a receiver that sees it twice drops the second)
// with `X-Piivault-Signature: sha256=<hex HMAC-SHA256 of the body under the
// tenant's secret>`. A 2xx answer delivers it; anything else, or no answer
// within the timeout, is a failed try: the tenant's receiver is tried again
// after a backoff doubling from retry_backoff up to max_backoff, and a
// notice whose max_attempts-th try fails is dead-lettered (kept, listed to
// operator-admins, no longer tried). Notices made while the tenant has no
// webhook stay in its inbox only.
//
// One node delivers a tenant's notices at a time: a round begins by taking
// the tenant's delivery lease (a control document written by
// compare-and-set, like the scheduler's job leases), renews it with every
// batch of results it records, and releases it at the end. A node killed
// mid-round leaves a lease that lapses; the next node to look after that
// delivers again what was not recorded as delivered (the receiver may see
// a notice twice, never miss one). A stale holder's next write fails, so it
// stops.
//
// Each tenant's round runs on a worker of its own: a receiver that is slow
// or down holds up only its own tenant's notices.
//
// Crash point: webhook.posted (a notice was acknowledged by the receiver
// and is not yet recorded as delivered).
//
// Thread safety: thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "compliance/outbox.h"
#include "compliance/webhook_registry.h"
#include "compliance/webhook_sender.h"
#include "vault/control_store.h"

namespace piivault::compliance {

struct WebhookOptions {
  int max_attempts = 10;  // tries of one notice before it is dead-lettered
  std::chrono::seconds retry_backoff{5};
  std::chrono::seconds max_backoff{3600};
  std::chrono::seconds lease{60};
  int workers = 4;  // tenants delivered to at once by this node
  // Results recorded (and the lease renewed) after at most this many
  // deliveries; a node killed in between delivers them again.
  std::size_t record_every = 64;
};

// What one DeliverDue did, over all tenants.
struct DeliveryReport {
  int delivered = 0;
  int failed = 0;         // tries that failed (each retried later)
  int dead_lettered = 0;  // given up on
  int dropped = 0;        // no webhook: left in the inbox only
  int busy = 0;           // tenants leased by another node or backing off
};

class WebhookDispatcher {
 public:
  // REQUIRES: all outlive this.
  WebhookDispatcher(vault::ControlStore* control, const Clock* clock,
                    Outbox* outbox, WebhookRegistry* registry,
                    WebhookSender* sender, WebhookOptions options = {});
  // Stop()s first.
  ~WebhookDispatcher();
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // Runs a round for every tenant with notices due that is not already
  // being delivered to by this node, and waits for them: what they did,
  // or the first store error.
  Result<DeliveryReport> DeliverDue();

  // Looks for due notices every `interval` on a background thread and
  // hands each tenant's round to a worker, without waiting, until Stop().
  // `on_error` gets store errors, for the operator's log.
  void Start(std::chrono::milliseconds interval,
             std::function<void(const Status&)> on_error);
  // Stops looking; rounds in progress stop after the delivery in flight
  // and record what they did. Waits for the threads. Idempotent.
  void Stop();

  const std::string& node_id() const { return node_id_; }

 private:
  struct Lease;
  struct Round;

  // Every tenant with notices due.
  Result<std::vector<std::string>> DueTenants();
  // Queues a round for each of `tenants` not queued or running already
  // (counted in `round`, if any).
  void Enqueue(const std::vector<std::string>& tenants, Round* round);
  void Work();
  Status DeliverTenant(const std::string& tenant, DeliveryReport& report);
  Result<std::optional<Lease>> TakeLease(const std::string& tenant);
  // Writes `batch` with the lease renewed (or, `release`, given back).
  // kAborted when the lease passed to another node.
  Status Record(Lease& lease, storage::WriteBatch& batch, bool release);
  std::chrono::seconds Backoff(int failures) const;

  vault::ControlStore* control_;
  const Clock* clock_;
  Outbox* outbox_;
  WebhookRegistry* registry_;
  WebhookSender* sender_;
  const WebhookOptions options_;
  const std::string node_id_;

  std::mutex mu_;
  std::condition_variable cv_;
  struct Queued {
    std::string tenant;
    Round* round;  // nullptr: the background loop's, nobody waits
  };
  std::deque<Queued> queue_;
  std::set<std::string> active_;  // queued or running here
  std::atomic<bool> stopping_{false};
  std::function<void(const Status&)> on_error_;  // set by Start
  std::vector<std::jthread> workers_;
  std::jthread loop_;
};

}  // namespace piivault::compliance
