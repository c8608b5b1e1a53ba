#include "compliance/webhook_dispatcher.h"

#include <algorithm>
#include <boost/json.hpp>

#include "base/crash_point.h"
#include "base/encoding.h"
#include "base/retry.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::compliance {

namespace json = boost::json;
namespace keys = vault::keys;

// The tenant's delivery state as stored, and its stored bytes (the
// compare-and-set guard of the next write).
struct WebhookDispatcher::Lease {
  std::string tenant;
  std::optional<std::string> raw;
  int failures = 0;      // tries failed in a row
  TimePoint retry_at{};  // no round before this
};

// The rounds one DeliverDue waits for (guarded by the dispatcher's mu_).
struct WebhookDispatcher::Round {
  std::size_t pending = 0;
  DeliveryReport report;
  Status error;
};

namespace {

constexpr std::size_t kDropPage = 256;

json::value LeaseJson(const std::string& tenant, const std::string& holder,
                      TimePoint lease_until, int failures, TimePoint retry_at) {
  return json::object{{"tenant", tenant},
                      {"holder", holder},
                      {"lease_until", ToUnixMicros(lease_until)},
                      {"failures", failures},
                      {"retry_at", ToUnixMicros(retry_at)}};
}

// What the receiver gets: the notice with its idempotency id.
std::string Body(const Notification& n) {
  return json::serialize(
      json::object{{"id", n.id},
                   {"idempotency_id", n.id},
                   {"tenant", n.tenant},
                   {"type", NotificationTypeName(n.type)},
                   {"created_at", FormatRfc3339(n.created_at)},
                   {"payload", n.payload}});
}

void Add(DeliveryReport& into, const DeliveryReport& r) {
  into.delivered += r.delivered;
  into.failed += r.failed;
  into.dead_lettered += r.dead_lettered;
  into.dropped += r.dropped;
  into.busy += r.busy;
}

}  // namespace

WebhookDispatcher::WebhookDispatcher(vault::ControlStore* control,
                                     const Clock* clock, Outbox* outbox,
                                     WebhookRegistry* registry,
                                     WebhookSender* sender,
                                     WebhookOptions options)
    : control_(control),
      clock_(clock),
      outbox_(outbox),
      registry_(registry),
      sender_(sender),
      options_(options),
      node_id_(crypto::RandomId("node_")) {
  for (int i = 0; i < std::max(1, options_.workers); ++i)
    workers_.emplace_back([this] { Work(); });
}

WebhookDispatcher::~WebhookDispatcher() { Stop(); }

void WebhookDispatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  for (auto& w : workers_)
    if (w.joinable()) w.join();
}

void WebhookDispatcher::Enqueue(const std::vector<std::string>& tenants,
                                Round* round) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    for (const std::string& tenant : tenants) {
      if (!active_.insert(tenant).second) continue;
      queue_.push_back({tenant, round});
      if (round) ++round->pending;
    }
  }
  cv_.notify_all();
}

Result<std::vector<std::string>> WebhookDispatcher::DueTenants() {
  std::vector<std::string> tenants;
  for (;;) {
    PV_ASSIGN_OR_RETURN(auto page,
                        outbox_->TenantsWithDue(
                            tenants.empty() ? "" : tenants.back(), kDropPage));
    if (page.empty()) return tenants;
    tenants.insert(tenants.end(), page.begin(), page.end());
  }
}

void WebhookDispatcher::Work() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping
    Queued next = std::move(queue_.front());
    queue_.pop_front();
    DeliveryReport report;
    Status status;
    if (!stopping_) {
      lock.unlock();
      status = DeliverTenant(next.tenant, report);
      // A lease lost to another node is its round now, not an error.
      if (LostRace(status)) status = Status::Ok();
      lock.lock();
    }
    active_.erase(next.tenant);
    if (next.round) {
      Add(next.round->report, report);
      if (!status.ok() && next.round->error.ok()) next.round->error = status;
      --next.round->pending;
    } else if (!status.ok() && on_error_) {
      on_error_(status);
    }
    cv_.notify_all();
  }
}

Result<DeliveryReport> WebhookDispatcher::DeliverDue() {
  PV_ASSIGN_OR_RETURN(auto tenants, DueTenants());
  Round round;
  Enqueue(tenants, &round);
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return round.pending == 0; });
  if (!round.error.ok()) return Err(round.error);
  return round.report;
}

void WebhookDispatcher::Start(std::chrono::milliseconds interval,
                              std::function<void(const Status&)> on_error) {
  on_error_ = std::move(on_error);
  loop_ = std::jthread([this, interval] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      auto tenants = DueTenants();
      if (tenants)
        Enqueue(*tenants, nullptr);
      else if (on_error_)
        on_error_(tenants.error());
      lock.lock();
      cv_.wait_for(lock, interval, [&] { return stopping_.load(); });
    }
  });
}

std::chrono::seconds WebhookDispatcher::Backoff(int failures) const {
  auto backoff = options_.retry_backoff;
  for (int i = 1; i < failures && backoff < options_.max_backoff; ++i)
    backoff *= 2;
  return std::min(backoff, options_.max_backoff);
}

Result<std::optional<WebhookDispatcher::Lease>> WebhookDispatcher::TakeLease(
    const std::string& tenant) {
  const std::string key = keys::WebhookDelivery(tenant);
  PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
  Lease lease{.tenant = tenant, .raw = raw};
  const TimePoint now = clock_->Now();
  if (raw) {
    PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(key, *raw));
    PV_ASSIGN_OR_RETURN(auto s, vault::OpenStored(doc, "webhook delivery"));
    const std::string holder = s.Str("holder");
    const TimePoint until = FromUnixMicros(s.Int("lease_until"));
    lease.failures = static_cast<int>(s.Int("failures"));
    lease.retry_at = FromUnixMicros(s.Int("retry_at"));
    if (!s.ok) return Err(vault::Corrupt("webhook delivery"));
    const bool held = !holder.empty() && until > now;
    if (held || lease.retry_at > now) return std::optional<Lease>();
  }
  storage::WriteBatch batch;
  Status taken = Record(lease, batch, false);
  if (LostRace(taken)) return std::optional<Lease>();
  PV_RETURN_IF_ERROR(taken);
  return std::optional<Lease>(std::move(lease));
}

Status WebhookDispatcher::Record(Lease& lease, storage::WriteBatch& batch,
                                 bool release) {
  const std::string key = keys::WebhookDelivery(lease.tenant);
  const json::value state = release ? LeaseJson(lease.tenant, "", TimePoint{},
                                                lease.failures, lease.retry_at)
                                    : LeaseJson(lease.tenant, node_id_,
                                                clock_->Now() + options_.lease,
                                                lease.failures, lease.retry_at);
  batch.RequireValue(key, lease.raw);
  control_->Put(batch, key, state);
  // The sealed bytes just put (Put adds the document last): the guard of
  // this node's next write.
  std::string sealed = batch.ops().back().value;
  PV_RETURN_IF_ERROR(control_->Write(vault::RequestContext(), batch));
  lease.raw = std::move(sealed);
  batch = storage::WriteBatch();
  return Status::Ok();
}

Status WebhookDispatcher::DeliverTenant(const std::string& tenant,
                                        DeliveryReport& report) {
  PV_ASSIGN_OR_RETURN(auto lease, TakeLease(tenant));
  if (!lease) {
    ++report.busy;
    return Status::Ok();
  }
  storage::WriteBatch batch;
  // Whatever happens, what was done is recorded and the lease given back
  // (a failure to do so leaves a lease that lapses).
  auto finish = [&](Status status) {
    Status recorded = Record(*lease, batch, true);
    return status.ok() ? recorded : status;
  };
  auto hook = registry_->Get(tenant);
  if (!hook) return finish(hook.error());
  if (!*hook) {
    // The inbox is the tenant's only channel.
    for (;;) {
      auto ids = outbox_->DueIds(tenant, "", kDropPage);
      if (!ids) return finish(ids.error());
      if (ids->empty()) break;
      for (auto& id : *ids) outbox_->DropDue(batch, tenant, id);
      report.dropped += static_cast<int>(ids->size());
      PV_RETURN_IF_ERROR(Record(*lease, batch, false));
    }
    return finish(Status::Ok());
  }
  const Webhook& webhook = **hook;
  auto connection = sender_->Connect(webhook.endpoint);
  std::string after;
  bool backing_off = false;
  while (!backing_off && !stopping_) {
    auto ids = outbox_->DueIds(tenant, after, options_.record_every);
    if (!ids) return finish(ids.error());
    if (ids->empty()) break;
    after = ids->back();
    for (const std::string& id : *ids) {
      if (stopping_) break;
      auto n = outbox_->Get(tenant, id);
      if (!n && n.error().code() != StatusCode::kNotFound)
        return finish(n.error());
      if (!n || n->delivered_at || n->dead_lettered_at) {
        outbox_->DropDue(batch, tenant, id);  // a stale entry
        continue;
      }
      const std::string body = Body(*n);
      const std::string signature =
          "sha256=" + HexEncode(crypto::HmacSha256(webhook.secret, body));
      auto status =
          connection->Post(body, {{"X-Piivault-Signature", signature},
                                  {"X-Piivault-Notification", n->id}});
      const TimePoint now = clock_->Now();
      if (status && *status >= 200 && *status < 300) {
        CrashPoint("webhook.posted");
        n->delivered_at = now;
        lease->failures = 0;
        lease->retry_at = TimePoint{};
        ++report.delivered;
      } else {
        ++n->attempts;
        n->last_error = status ? "HTTP " + std::to_string(*status)
                               : status.error().message();
        ++report.failed;
        if (n->attempts >= options_.max_attempts) {
          n->dead_lettered_at = now;
          ++report.dead_lettered;
        } else {
          ++lease->failures;
          lease->retry_at = now + Backoff(lease->failures);
          backing_off = true;
        }
      }
      outbox_->SaveDelivery(batch, *n);
      if (backing_off) break;
    }
    PV_RETURN_IF_ERROR(Record(*lease, batch, false));
  }
  return finish(Status::Ok());
}

}  // namespace piivault::compliance
