// The tenant's notices (compliance/outbox.h): what the processor told it
// about disclosures, sub-processor changes and breaches, in its inbox and
// through its webhook; and, for operator-admins, the notices no webhook
// would take.
#include "api/handler_support.h"

namespace piivault::api {
namespace {

using compliance::Notification;
using policy::Operation;

constexpr std::size_t kMaxPage = 1000;
constexpr std::size_t kDefaultPage = 100;

json::object NotificationJson(const Notification& n) {
  json::object o{{"id", n.id},
                 {"type", compliance::NotificationTypeName(n.type)},
                 {"created_at", TimeJson(n.created_at)},
                 {"payload", n.payload}};
  if (n.delivered_at) o["delivered_at"] = TimeJson(*n.delivered_at);
  if (n.attempts > 0) o["delivery_attempts"] = n.attempts;
  if (!n.last_error.empty()) o["last_delivery_error"] = n.last_error;
  if (n.dead_lettered_at) o["dead_lettered_at"] = TimeJson(*n.dead_lettered_at);
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

// The secret is taken, never shown.
json::value WebhookJson(const compliance::Webhook& hook) {
  return json::object{{"url", hook.url},
                      {"updated_at", TimeJson(hook.updated_at)}};
}

Result<Reply> PutWebhook(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body, ParseObject(call.request, {"url", "secret"}));
  PV_ASSIGN_OR_RETURN(auto url, RequiredString(body, "url"));
  PV_ASSIGN_OR_RETURN(auto secret, RequiredString(body, "secret"));
  PV_ASSIGN_OR_RETURN(auto hook, call.vault.webhooks.Put(
                                     call.context, call.decision.tenant().id,
                                     std::move(url), secret));
  return Reply{200, WebhookJson(hook)};
}

Result<Reply> ReadWebhook(Call& call) {
  PV_ASSIGN_OR_RETURN(auto hook,
                      call.vault.webhooks.Get(call.decision.tenant().id));
  if (!hook) return Err(NotFound("the tenant has no webhook"));
  return Reply{200, WebhookJson(*hook)};
}

Result<Reply> DeleteWebhook(Call& call) {
  PV_RETURN_IF_ERROR(
      call.vault.webhooks.Delete(call.context, call.decision.tenant().id));
  return Reply{204, nullptr};
}

// ?limit=&after=<tenant>/<notification id>: every tenant's dead letters.
Result<Reply> ListDeadLetters(Call& call) {
  PV_ASSIGN_OR_RETURN(std::size_t limit,
                      PageLimit(call, kMaxPage, kDefaultPage));
  const std::string after = QueryParam(call.request, "after");
  const auto slash = after.find('/');
  if (!after.empty() && slash == std::string::npos)
    return Err(InvalidArgument("`after` is <tenant>/<notification id>"));
  PV_ASSIGN_OR_RETURN(auto page,
                      call.vault.outbox.DeadLetters(
                          after.substr(0, slash),
                          after.empty() ? "" : after.substr(slash + 1), limit));
  json::array letters;
  for (auto& n : page.notifications) {
    json::object o = NotificationJson(n);
    o["tenant"] = n.tenant;
    letters.push_back(std::move(o));
  }
  json::value next;
  if (page.more && !page.notifications.empty())
    next =
        page.notifications.back().tenant + "/" + page.notifications.back().id;
  return Reply{200, json::object{{"dead_letters", std::move(letters)},
                                 {"next", std::move(next)}}};
}

}  // namespace

void AddNotificationRoutes(const RouteAdder& add) {
  add("GET", "/v1/tenants/{t}/notifications", "notifications.list",
      Operation::kListNotifications, ListNotifications);
  add("PUT", "/v1/tenants/{t}/webhook", "webhook.put", Operation::kPutWebhook,
      PutWebhook);
  add("GET", "/v1/tenants/{t}/webhook", "webhook.read", Operation::kReadWebhook,
      ReadWebhook);
  add("DELETE", "/v1/tenants/{t}/webhook", "webhook.delete",
      Operation::kDeleteWebhook, DeleteWebhook);
  add("GET", "/v1/webhook-dead-letters", "webhook.dead_letters",
      Operation::kListDeadLetters, ListDeadLetters);
}

}  // namespace piivault::api
