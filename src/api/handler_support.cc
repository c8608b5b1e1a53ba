#include "api/handler_support.h"

#include <algorithm>
#include <charconv>

#include "base/encoding.h"
#include "policy/masks.h"

namespace piivault::api {

Result<json::object> ParseObject(
    const HttpRequest& request,
    std::initializer_list<std::string_view> allowed) {
  boost::system::error_code ec;
  json::value doc = json::parse(request.body, ec);
  if (ec)
    return Err(
        InvalidArgument("the request body is not valid JSON", "invalid_json"));
  if (!doc.is_object())
    return Err(InvalidArgument("the request body must be a JSON object"));
  PV_RETURN_IF_ERROR(RejectUnknownMembers(doc.get_object(), allowed));
  return std::move(doc.get_object());
}

Status RejectUnknownMembers(const json::object& o,
                            std::initializer_list<std::string_view> allowed) {
  for (auto& [key, value] : o)
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return InvalidArgument("unknown member '" +
                             std::string(key.substr(0, 64)) + "'");
  return Status::Ok();
}

Result<std::string> RequiredString(const json::object& o,
                                   std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string())
    return Err(InvalidArgument("'" + std::string(key) +
                               "' is required and must be a string"));
  return std::string(v->get_string());
}

Result<std::optional<std::string>> OptionalString(const json::object& o,
                                                  std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string())
    return Err(InvalidArgument("'" + std::string(key) + "' must be a string"));
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::optional<bool>> OptionalBool(const json::object& o,
                                         std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<bool>();
  if (!v->is_bool())
    return Err(InvalidArgument("'" + std::string(key) + "' must be a boolean"));
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<std::vector<std::string>>> OptionalStringList(
    const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::vector<std::string>>();
  auto bad = [&] {
    return InvalidArgument("'" + std::string(key) +
                           "' must be an array of strings");
  };
  if (!v->is_array()) return Err(bad());
  std::vector<std::string> out;
  for (auto& e : v->get_array()) {
    if (!e.is_string()) return Err(bad());
    out.emplace_back(e.get_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<TimePoint> RequiredTime(const json::object& o, std::string_view key) {
  PV_ASSIGN_OR_RETURN(auto text, RequiredString(o, key));
  auto t = ParseRfc3339(text);
  if (!t) return Err(ValidationFailed(std::string(key), "must be RFC 3339"));
  return *t;
}

void Call::NoteCollection(std::string_view name) const {
  if (event) event->collection = name;
}

void Call::NotePrincipal(std::string_view pseudonym) const {
  if (event) event->NotePrincipal(pseudonym);
}

void Call::NoteRecord(std::string_view id) const {
  if (event && id.starts_with("rec_") && id.size() <= 64) event->NoteRecord(id);
}

Status RequireConsent(Call& call, std::string_view principal) {
  std::string_view purpose = call.decision.consent_purpose();
  if (purpose.empty()) return Status::Ok();
  auto current = call.vault.consents.Current(call.context,
                                             call.decision.tenant(), principal);
  if (!current && current.error().code() != StatusCode::kNotFound)
    return current.error();
  if (current) {
    auto it = current->find(purpose);
    if (it != current->end() && it->second) return Status::Ok();
  }
  return vault::ConsentRequired();
}

json::object PrincipalRecordJson(const vault::Record& r,
                                 const vault::Collection& collection,
                                 const FieldGrant& grant) {
  return json::object{{"collection", r.collection},
                      {"id", r.id},
                      {"fields", VisibleFields(r.fields, collection, grant)},
                      {"created_at", TimeJson(r.created_at)},
                      {"updated_at", TimeJson(r.updated_at)}};
}

json::object VisibleFields(const vault::Fields& fields,
                           const vault::Collection& collection,
                           const FieldGrant& grant) {
  json::object out;
  for (auto& [name, value] : fields) {
    if (policy::PlainAllowed(grant, name)) {
      out[name] = FieldValueJson(value);
    } else if (policy::Granted(grant, name)) {
      // Masks read the canonical text; integers and booleans reveal nothing.
      const vault::FieldSpec* spec = collection.FindField(name);
      const std::string* text = std::get_if<std::string>(&value);
      out[name] = spec && text ? policy::MaskFieldValue(spec->type, *text)
                               : std::string("***");
    }
  }
  return out;
}

std::string_view PathParam(const Call& call, std::size_t i) {
  return i < call.params.size() ? std::string_view(call.params[i])
                                : std::string_view();
}

std::string PercentDecode(std::string_view text, bool* ok) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    int hi = i + 2 < text.size() ? hex(text[i + 1]) : -1;
    int lo = i + 2 < text.size() ? hex(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      *ok = false;
      return {};
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string QueryParam(const HttpRequest& request, std::string_view name) {
  std::string_view q = request.query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      bool ok = true;
      std::string value = eq == std::string_view::npos
                              ? std::string()
                              : PercentDecode(pair.substr(eq + 1), &ok);
      return ok ? value : std::string();
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return {};
}

Result<uint64_t> UintParam(const Call& call, std::string_view name,
                           std::optional<uint64_t> fallback) {
  std::string text = QueryParam(call.request, name);
  if (text.empty()) {
    if (fallback) return *fallback;
    return Err(InvalidArgument("the query parameter " + std::string(name) +
                               " is required"));
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    return Err(InvalidArgument("the query parameter " + std::string(name) +
                               " must be a non-negative integer"));
  return v;
}

Result<std::size_t> PageLimit(const Call& call, std::size_t max,
                              std::optional<std::size_t> fallback) {
  PV_ASSIGN_OR_RETURN(uint64_t limit,
                      UintParam(call, "limit", fallback.value_or(max)));
  if (limit == 0 || limit > max)
    return Err(InvalidArgument("limit must be 1.." + std::to_string(max)));
  return static_cast<std::size_t>(limit);
}

json::value TimeJson(TimePoint t) { return json::string(FormatRfc3339(t)); }

json::value FieldValueJson(const vault::FieldValue& v) {
  return std::visit([](auto& x) -> json::value { return json::value(x); }, v);
}

json::value TenantJson(const vault::Tenant& t) {
  json::array regions;
  for (auto& r : t.regions) regions.emplace_back(r);
  json::object o{{"id", t.id},
                 {"name", t.name},
                 {"regions", std::move(regions)},
                 {"default_region", t.default_region},
                 {"state", vault::TenantStateName(t.state)},
                 {"created_at", TimeJson(t.created_at)}};
  if (t.disposal_due_at) o["disposal_due_at"] = TimeJson(*t.disposal_due_at);
  return o;
}

json::value CertificateJson(const lifecycle::ErasureCertificate& c) {
  return json::object{{"id", c.id},
                      {"kind", c.kind},
                      {"tenant", c.tenant},
                      {"principal_pseudonym", c.principal_pseudonym},
                      {"records", c.records},
                      {"completed_at", TimeJson(c.completed_at)},
                      {"signature", Base64Encode(c.signature)},
                      {"key_id", c.key_id}};
}

json::value CertificateJson(const lifecycle::DisposalCertificate& c) {
  json::object regions;
  for (auto& r : c.regions)
    regions[r.region] =
        json::object{{"principals", r.principals}, {"records", r.records}};
  json::array keys;
  for (auto& k : c.keys_destroyed) keys.emplace_back(k);
  return json::object{{"id", c.id},
                      {"kind", lifecycle::DisposalCertificate::kKind},
                      {"tenant", c.tenant},
                      {"method", lifecycle::DisposalCertificate::kMethod},
                      {"regions", std::move(regions)},
                      {"keys_destroyed", std::move(keys)},
                      {"started_at", TimeJson(c.started_at)},
                      {"completed_at", TimeJson(c.completed_at)},
                      {"signature", Base64Encode(c.signature)},
                      {"key_id", c.key_id}};
}

json::value IdentityJson(const vault::Identity& i) {
  json::object o{{"id", i.id},
                 {"name", i.name},
                 {"role", vault::RoleName(i.role)},
                 {"created_at", TimeJson(i.created_at)}};
  if (!i.tenant.empty()) o["tenant"] = i.tenant;
  if (i.deactivated_at) o["deactivated_at"] = TimeJson(*i.deactivated_at);
  if (!i.policy.is_null()) o["policy"] = i.policy;
  return o;
}

json::value CollectionJson(const vault::Collection& c) {
  json::array fields;
  for (auto& f : c.fields)
    fields.emplace_back(json::object{{"name", f.name},
                                     {"type", vault::FieldTypeName(f.type)},
                                     {"required", f.required},
                                     {"searchable", f.searchable}});
  json::object o{{"name", c.name},
                 {"fields", std::move(fields)},
                 {"created_at", TimeJson(c.created_at)},
                 {"updated_at", TimeJson(c.updated_at)}};
  if (!c.retention.empty()) o["retention"] = c.retention;
  return o;
}

json::value PurposeJson(const vault::Purpose& p) {
  return json::object{{"id", p.id},
                      {"category", vault::PurposeCategoryName(p.category)},
                      {"description", p.description},
                      {"requires_consent", vault::RequiresConsent(p.category)}};
}

}  // namespace piivault::api
