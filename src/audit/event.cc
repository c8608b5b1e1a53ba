#include "audit/event.h"

#include <algorithm>
#include <boost/json.hpp>

#include "base/enum_names.h"

namespace piivault::audit {

namespace json = boost::json;

namespace {
constexpr EnumNames<Outcome, 3> kOutcomes{{{
    {Outcome::kOk, "ok"},
    {Outcome::kDenied, "denied"},
    {Outcome::kError, "error"},
}}};
}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  return kOutcomes.Name(outcome);
}

std::optional<Outcome> ParseOutcome(std::string_view name) {
  return kOutcomes.Parse(name);
}

namespace {

// Appends `value` unless it repeats the last one (a record is often noted
// twice in a row: when opened, and by the read that opened it).
void Append(std::vector<std::string>& list, std::string_view value) {
  if (!value.empty() && (list.empty() || list.back() != value))
    list.emplace_back(value);
}

// Sorts `list`, drops repeats; `single` names its only member, if one.
void Settle(std::vector<std::string>& list, std::string& single) {
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
  single = list.size() == 1 ? list.front() : std::string();
}

}  // namespace

void Event::NoteRecord(std::string_view id) { Append(records, id); }

void Event::NotePrincipal(std::string_view pseudonym) {
  Append(principal_pseudonyms, pseudonym);
}

void Event::SettleSubjects() {
  Settle(records, record);
  Settle(principal_pseudonyms, principal_pseudonym);
}

void Event::NoteFields(const std::vector<std::string>& names) {
  for (auto& n : names)
    if (std::find(fields.begin(), fields.end(), n) == fields.end())
      fields.push_back(n);
}

namespace {

// A JSON string exactly as boost::json::serialize writes it (the entry
// format must not change with the encoder): `"` and `\` escaped, control
// characters as \b \f \n \r \t or \u00xx, everything else verbatim.
void AppendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && c != '"' && c != '\\') {
      out.push_back(c);
      continue;
    }
    out.push_back('\\');
    switch (c) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '\b':
        out.push_back('b');
        break;
      case '\f':
        out.push_back('f');
        break;
      case '\n':
        out.push_back('n');
        break;
      case '\r':
        out.push_back('r');
        break;
      case '\t':
        out.push_back('t');
        break;
      default:
        out.append("u00").push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 0xf]);
    }
  }
  out.push_back('"');
}

}  // namespace

// Written directly rather than through EntryObject(): appends are the hot
// path of every audited request, and the object costs a dozen allocations.
// EventEncodingTest checks the two give the same bytes.
std::string EncodeEntry(const Event& e) {
  std::string out;
  out.reserve(256 + e.actor.size() + e.action.size() + e.record.size() +
              e.principal_pseudonym.size() + e.request_id.size() +
              16 * e.fields.size());
  auto member = [&](std::string_view name, std::string_view value) {
    out.append(",\"").append(name).append("\":");
    AppendString(out, value);
  };
  out.append("{\"seq\":").append(std::to_string(e.seq));
  out.append(",\"at\":").append(std::to_string(ToUnixMicros(e.at)));
  member("actor", e.actor);
  member("action", e.action);
  member("purpose", e.purpose);
  member("collection", e.collection);
  member("record", e.record);
  member("principal_pseudonym", e.principal_pseudonym);
  auto list = [&](std::string_view name, const std::vector<std::string>& v) {
    out.append(",\"").append(name).append("\":[");
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendString(out, v[i]);
    }
    out.push_back(']');
  };
  list("fields", e.fields);
  member("region", e.region);
  member("outcome", OutcomeName(e.outcome));
  member("request_id", e.request_id);
  member("lockbox", e.lockbox);
  // Members added later are written only when set, so that entries written
  // before them keep their exact bytes.
  if (!e.records.empty()) list("records", e.records);
  if (!e.principal_pseudonyms.empty())
    list("principal_pseudonyms", e.principal_pseudonyms);
  if (e.intent) out.append(",\"intent\":").append(std::to_string(*e.intent));
  if (!e.reason.empty()) member("reason", e.reason);
  if (!e.backup.empty()) member("backup", e.backup);
  out.push_back('}');
  return out;
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
                 {"outcome", OutcomeName(e.outcome)},
                 {"request_id", e.request_id},
                 {"lockbox", e.lockbox}};
  auto list = [](const std::vector<std::string>& v) {
    json::array a;
    for (auto& s : v) a.emplace_back(s);
    return a;
  };
  if (!e.records.empty()) o["records"] = list(e.records);
  if (!e.principal_pseudonyms.empty())
    o["principal_pseudonyms"] = list(e.principal_pseudonyms);
  if (e.intent) o["intent"] = *e.intent;
  if (!e.reason.empty()) o["reason"] = e.reason;
  if (!e.backup.empty()) o["backup"] = e.backup;
  return o;
}

Result<Event> DecodeEntry(std::string_view entry) {
  auto bad = [] { return Err(DataLoss("audit entry is malformed")); };
  boost::system::error_code ec;
  json::value v = json::parse(entry, ec);
  if (ec || !v.is_object()) return bad();
  const json::object& o = v.get_object();
  Event e;
  std::string outcome;
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
  auto strings = [&](const json::value& a, std::vector<std::string>& out) {
    if (!a.is_array()) return false;
    for (auto& s : a.get_array()) {
      if (!s.is_string()) return false;
      out.emplace_back(s.get_string());
    }
    return true;
  };
  if (!strings(*fields, e.fields)) return bad();
  if (auto* r = o.if_contains("records"); r && !strings(*r, e.records))
    return bad();
  if (auto* p = o.if_contains("principal_pseudonyms");
      p && !strings(*p, e.principal_pseudonyms))
    return bad();
  if (auto* i = o.if_contains("intent")) {
    if (!i->is_uint64() && !i->is_int64()) return bad();
    e.intent = i->is_uint64() ? i->get_uint64()
                              : static_cast<uint64_t>(i->get_int64());
  }
  if (!str("actor", e.actor) || !str("action", e.action) ||
      !str("purpose", e.purpose) || !str("collection", e.collection) ||
      !str("record", e.record) ||
      !str("principal_pseudonym", e.principal_pseudonym) ||
      !str("region", e.region) || !str("outcome", outcome) ||
      !str("request_id", e.request_id) || !str("lockbox", e.lockbox))
    return bad();
  for (auto [key, out] :
       {std::pair{"reason", &e.reason}, std::pair{"backup", &e.backup}}) {
    if (o.contains(key) && !str(key, *out)) return bad();
  }
  auto parsed = ParseOutcome(outcome);
  if (!parsed) return bad();
  e.outcome = *parsed;
  // Only canonical bytes are entries: a re-encoding must give them back.
  if (EncodeEntry(e) != entry) return bad();
  return e;
}

}  // namespace piivault::audit
