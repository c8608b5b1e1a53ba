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
  return n;
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
