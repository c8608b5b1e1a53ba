#include "audit/event.h"

#include <boost/json.hpp>

namespace piivault::audit {

namespace json = boost::json;

namespace {
thread_local Event* current_event = nullptr;
}  // namespace

EventScope::EventScope(Event* event) : outer_(current_event) {
  current_event = event;
}
EventScope::~EventScope() { current_event = outer_; }
Event* EventScope::Current() { return current_event; }

std::string EncodeEntry(const Event& e) {
  return json::serialize(EntryObject(e));
}

json::object EntryObject(const Event& e) {
  json::array fields;
  for (auto& f : e.fields) fields.emplace_back(f);
  // boost::json keeps insertion order: this order is the format.
  json::object o{{"seq", e.seq},
                 {"at", ToUnixMicros(e.at)},
                 {"actor", e.actor},
                 {"action", e.action},
                 {"purpose", e.purpose},
                 {"collection", e.collection},
                 {"record", e.record},
                 {"principal_pseudonym", e.principal_pseudonym},
                 {"fields", std::move(fields)},
                 {"region", e.region},
                 {"outcome", e.outcome},
                 {"request_id", e.request_id}};
  return o;
}

Result<Event> DecodeEntry(std::string_view entry) {
  auto bad = [] { return Err(DataLoss("audit entry is malformed")); };
  boost::system::error_code ec;
  json::value v = json::parse(entry, ec);
  if (ec || !v.is_object()) return bad();
  const json::object& o = v.get_object();
  Event e;
  auto str = [&](const char* key, std::string& out) {
    auto* m = o.if_contains(key);
    if (!m || !m->is_string()) return false;
    out = m->get_string();
    return true;
  };
  auto* seq = o.if_contains("seq");
  auto* at = o.if_contains("at");
  auto* fields = o.if_contains("fields");
  if (!seq || !(seq->is_uint64() || seq->is_int64()) || !at ||
      !at->is_int64() || !fields || !fields->is_array())
    return bad();
  e.seq = seq->is_uint64() ? seq->get_uint64()
                           : static_cast<uint64_t>(seq->get_int64());
  e.at = FromUnixMicros(at->get_int64());
  for (auto& f : fields->get_array()) {
    if (!f.is_string()) return bad();
    e.fields.emplace_back(f.get_string());
  }
  if (!str("actor", e.actor) || !str("action", e.action) ||
      !str("purpose", e.purpose) || !str("collection", e.collection) ||
      !str("record", e.record) ||
      !str("principal_pseudonym", e.principal_pseudonym) ||
      !str("region", e.region) || !str("outcome", e.outcome) ||
      !str("request_id", e.request_id))
    return bad();
  // Only canonical bytes are entries: a re-encoding must give them back.
  if (EncodeEntry(e) != entry) return bad();
  return e;
}

}  // namespace piivault::audit
