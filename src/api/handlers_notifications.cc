// The tenant's inbox of notices (compliance/outbox.h): what the processor
// told it about disclosures, sub-processor changes and breaches.
#include "api/handler_support.h"

namespace piivault::api {
namespace {

using compliance::Notification;
using policy::Operation;

constexpr std::size_t kMaxPage = 1000;
constexpr std::size_t kDefaultPage = 100;

json::value NotificationJson(const Notification& n) {
  json::object o{{"id", n.id},
                 {"type", compliance::NotificationTypeName(n.type)},
                 {"created_at", TimeJson(n.created_at)},
                 {"payload", n.payload}};
  if (n.delivered_at) o["delivered_at"] = TimeJson(*n.delivered_at);
  return o;
}

// ?limit=&after=: a page of notices, oldest first; "next" is the `after` of
// the following page, null on the last.
Result<Reply> ListNotifications(Call& call) {
  PV_ASSIGN_OR_RETURN(std::size_t limit,
                      PageLimit(call, kMaxPage, kDefaultPage));
  PV_ASSIGN_OR_RETURN(auto page, call.vault.outbox.List(
                                     call.decision.tenant().id,
                                     QueryParam(call.request, "after"), limit));
  json::array notifications;
  for (auto& n : page.notifications)
    notifications.push_back(NotificationJson(n));
  return Reply{200, json::object{{"notifications", std::move(notifications)},
                                 {"next", page.next ? json::value(*page.next)
                                                    : json::value()}}};
}

}  // namespace

void AddNotificationRoutes(const RouteAdder& add) {
  add("GET", "/v1/tenants/{t}/notifications", "notifications.list",
      Operation::kListNotifications, ListNotifications);
}

}  // namespace piivault::api
