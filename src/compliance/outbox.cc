#include "compliance/outbox.h"

#include <boost/json.hpp>

#include "base/encoding.h"
#include "base/enum_names.h"
#include "crypto/random.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::compliance {

namespace json = boost::json;
namespace keys = vault::keys;

namespace {

constexpr EnumNames<NotificationType, 3> kTypes{{{
    {NotificationType::kDisclosure, "disclosure"},
    {NotificationType::kSubProcessorChange, "sub_processor_change"},
    {NotificationType::kIncident, "incident"},
}}};

constexpr std::string_view kIdPrefix = "ntf_";
constexpr std::size_t kIdLength = 4 + 16 + 1 + 16;  // ntf_<time>_<random>

json::object ToJson(const Notification& n) {
  json::object o{{"id", n.id},
                 {"tenant", n.tenant},
                 {"type", NotificationTypeName(n.type)},
                 {"created_at", ToUnixMicros(n.created_at)},
                 {"payload", n.payload}};
  if (n.delivered_at) o["delivered_at"] = ToUnixMicros(*n.delivered_at);
  if (n.attempts > 0) o["attempts"] = n.attempts;
  if (!n.last_error.empty()) o["last_error"] = n.last_error;
  if (n.dead_lettered_at)
    o["dead_lettered_at"] = ToUnixMicros(*n.dead_lettered_at);
  return o;
}

Result<Notification> FromJson(const json::value& v) {
  constexpr std::string_view kWhat = "notification";
  PV_ASSIGN_OR_RETURN(auto s, vault::OpenStored(v, kWhat));
  Notification n;
  n.id = s.Str("id");
  n.tenant = s.Str("tenant");
  auto type = ParseNotificationType(s.Str("type"));
  n.created_at = FromUnixMicros(s.Int("created_at"));
  if (auto delivered = s.OptInt("delivered_at"))
    n.delivered_at = FromUnixMicros(*delivered);
  n.attempts = static_cast<int>(s.OptInt("attempts").value_or(0));
  n.last_error = s.OptStr("last_error");
  if (auto dead = s.OptInt("dead_lettered_at"))
    n.dead_lettered_at = FromUnixMicros(*dead);
  const json::value* payload = s.obj->if_contains("payload");
  if (!s.ok || !type || !payload || !payload->is_object())
    return Err(vault::Corrupt(kWhat));
  n.type = *type;
  n.payload = payload->as_object();
  return n;
}

}  // namespace

std::string_view NotificationTypeName(NotificationType type) {
  return kTypes.Name(type);
}

std::optional<NotificationType> ParseNotificationType(std::string_view name) {
  return kTypes.Parse(name);
}

bool Outbox::ValidId(std::string_view id) {
  if (id.size() != kIdLength || !id.starts_with(kIdPrefix) ||
      id[kIdPrefix.size() + 16] != '_')
    return false;
  for (std::size_t i = kIdPrefix.size(); i < id.size(); ++i) {
    const char c = id[i];
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex && i != kIdPrefix.size() + 16) return false;
  }
  return true;
}

Notification Outbox::Add(storage::WriteBatch& batch, std::string_view tenant,
                         NotificationType type, json::object payload) const {
  Notification n;
  n.created_at = clock_->Now();
  // The time first, so that the inbox lists notices in the order they were
  // made; the random part keeps ids of one microsecond apart.
  n.id = std::string(kIdPrefix) +
         keys::Hex16(static_cast<uint64_t>(ToUnixMicros(n.created_at))) + "_" +
         HexEncode(crypto::RandomBytes(8));
  n.tenant = std::string(tenant);
  n.type = type;
  n.payload = std::move(payload);
  control_->Put(batch, keys::Notification(tenant, n.id), ToJson(n));
  control_->Put(batch, keys::NotificationDue(tenant, n.id), json::object());
  return n;
}

Result<Notification> Outbox::Get(std::string_view tenant, std::string_view id) {
  PV_ASSIGN_OR_RETURN(auto doc, control_->Get(vault::RequestContext(),
                                              keys::Notification(tenant, id)));
  if (!doc) return Err(NotFound("no such notification"));
  return FromJson(*doc);
}

void Outbox::SaveDelivery(storage::WriteBatch& batch,
                          const Notification& n) const {
  control_->Put(batch, keys::Notification(n.tenant, n.id), ToJson(n));
  if (n.delivered_at || n.dead_lettered_at)
    batch.Delete(keys::NotificationDue(n.tenant, n.id));
  if (n.dead_lettered_at)
    control_->Put(batch, keys::NotificationDead(n.tenant, n.id),
                  json::object());
}

void Outbox::DropDue(storage::WriteBatch& batch, std::string_view tenant,
                     std::string_view id) const {
  batch.Delete(keys::NotificationDue(tenant, id));
}

Result<std::vector<std::string>> Outbox::TenantsWithDue(std::string_view after,
                                                        std::size_t limit) {
  // One entry per tenant is read: the scan resumes past the last tenant's
  // entries ('~' sorts after every character of a notice id).
  const std::string root = keys::NotificationDueRoot();
  std::vector<std::string> tenants;
  std::string resume =
      after.empty() ? "" : keys::NotificationDuePrefix(after) + "~";
  while (tenants.size() < limit) {
    PV_ASSIGN_OR_RETURN(auto page, control_->ScanPage(root, resume, 1));
    if (page.docs.empty()) break;
    std::string_view key = page.docs.front().first;
    key.remove_prefix(root.size());
    std::string tenant(key.substr(0, key.find('/')));
    resume = keys::NotificationDuePrefix(tenant) + "~";
    tenants.push_back(std::move(tenant));
  }
  return tenants;
}

Result<std::vector<std::string>> Outbox::DueIds(std::string_view tenant,
                                                std::string_view after,
                                                std::size_t limit) {
  const std::string prefix = keys::NotificationDuePrefix(tenant);
  PV_ASSIGN_OR_RETURN(
      auto page,
      control_->ScanPage(
          prefix, after.empty() ? "" : keys::NotificationDue(tenant, after),
          limit));
  std::vector<std::string> ids;
  for (auto& [key, doc] : page.docs) ids.push_back(key.substr(prefix.size()));
  return ids;
}

Result<Outbox::DeadLetterPage> Outbox::DeadLetters(
    std::string_view after_tenant, std::string_view after_id,
    std::size_t limit) {
  PV_ASSIGN_OR_RETURN(
      auto page,
      control_->ScanPage(keys::NotificationDeadRoot(),
                         after_tenant.empty()
                             ? ""
                             : keys::NotificationDead(after_tenant, after_id),
                         limit));
  DeadLetterPage out;
  out.more = page.more;
  const std::string root = keys::NotificationDeadRoot();
  for (auto& [key, doc] : page.docs) {
    std::string_view rest = std::string_view(key).substr(root.size());
    auto slash = rest.find('/');
    PV_ASSIGN_OR_RETURN(auto n,
                        Get(rest.substr(0, slash), rest.substr(slash + 1)));
    out.notifications.push_back(std::move(n));
  }
  return out;
}

Result<Outbox::Page> Outbox::List(std::string_view tenant,
                                  std::string_view after, std::size_t limit) {
  if (!after.empty() && !ValidId(after))
    return Err(InvalidArgument("`after` is not a notification id"));
  PV_ASSIGN_OR_RETURN(
      auto stored,
      control_->ScanPage(keys::NotificationPrefix(tenant),
                         after.empty() ? "" : keys::Notification(tenant, after),
                         limit));
  Page page;
  for (auto& [key, doc] : stored.docs) {
    PV_ASSIGN_OR_RETURN(auto n, FromJson(doc));
    page.notifications.push_back(std::move(n));
  }
  if (stored.more && !page.notifications.empty())
    page.next = page.notifications.back().id;
  return page;
}

}  // namespace piivault::compliance
