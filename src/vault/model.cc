#include "vault/model.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>

#include "base/encoding.h"
#include "base/enum_names.h"
#include "vault/stored_object.h"

namespace piivault::vault {
namespace json = boost::json;
namespace {

constexpr std::array<std::pair<Role, std::string_view>, 6> kRoles{{
    {Role::kOperatorAdmin, "operator-admin"},
    {Role::kOperatorLegal, "operator-legal"},
    {Role::kOperatorSecurity, "operator-security"},
    {Role::kAuditor, "auditor"},
    {Role::kTenantAdmin, "tenant-admin"},
    {Role::kTenantApp, "tenant-app"},
}};

constexpr std::array<std::pair<PurposeCategory, std::string_view>, 6>
    kCategories{{
        {PurposeCategory::kService, "service"},
        {PurposeCategory::kSecurity, "security"},
        {PurposeCategory::kLegal, "legal"},
        {PurposeCategory::kAnalytics, "analytics"},
        {PurposeCategory::kMarketing, "marketing"},
        {PurposeCategory::kAdvertising, "advertising"},
    }};

// Unicode general category Cc.
bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

// Bidi_Control: the marks, embeddings, overrides and isolates.
bool IsBidiControl(char32_t cp) {
  return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::optional<Role> ParseRole(std::string_view name) {
  for (auto& [role, n] : kRoles)
    if (n == name) return role;
  return std::nullopt;
}

std::string_view RoleName(Role role) {
  for (auto& [r, n] : kRoles)
    if (r == role) return n;
  return "unknown";
}

Status ValidatePrincipalId(std::string_view principal) {
  if (principal.empty() || principal.size() > 256)
    return ValidationFailed("principal", "must be 1 to 256 characters");
  for (unsigned char c : principal)
    if (c < 0x20 || c == 0x7f)
      return ValidationFailed("principal", "control characters not allowed");
  return Status::Ok();
}

Status ValidateFreeText(std::string_view field, std::string_view text,
                        std::size_t min_chars, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t at = 0; at < text.size(); ++chars) {
    char32_t cp;
    std::size_t len = DecodeUtf8Char(text.substr(at), &cp);
    if (len == 0)
      return ValidationFailed(std::string(field), "must be valid UTF-8");
    if (IsControl(cp))
      return ValidationFailed(std::string(field),
                              "control characters not allowed");
    if (IsBidiControl(cp))
      return ValidationFailed(std::string(field),
                              "bidirectional control characters not allowed");
    at += len;
  }
  if (chars < min_chars || chars > max_chars)
    return ValidationFailed(
        std::string(field),
        min_chars == 0 ? "at most " + std::to_string(max_chars) + " characters"
                       : std::to_string(min_chars) + " to " +
                             std::to_string(max_chars) + " characters");
  return Status::Ok();
}

bool IsOperatorRole(Role role) {
  return role != Role::kTenantAdmin && role != Role::kTenantApp;
}

bool Tenant::AllowsRegion(std::string_view region) const {
  return std::find(regions.begin(), regions.end(), region) != regions.end();
}

bool Tenant::AcceptsNewPrincipals(std::string_view region) const {
  return AllowsRegion(region) &&
         std::find(closing_regions.begin(), closing_regions.end(), region) ==
             closing_regions.end();
}

std::optional<PurposeCategory> ParsePurposeCategory(std::string_view name) {
  for (auto& [c, n] : kCategories)
    if (n == name) return c;
  return std::nullopt;
}

std::string_view PurposeCategoryName(PurposeCategory category) {
  for (auto& [c, n] : kCategories)
    if (c == category) return n;
  return "unknown";
}

bool RequiresConsent(PurposeCategory category) {
  return category == PurposeCategory::kMarketing ||
         category == PurposeCategory::kAdvertising;
}

std::vector<Purpose> DefaultPurposes() {
  return {
      {"service_delivery", PurposeCategory::kService,
       "Providing the service the principal asked for"},
      {"security", PurposeCategory::kSecurity,
       "Protecting the service and its users against abuse"},
      {"legal_obligation", PurposeCategory::kLegal,
       "Meeting a legal obligation of the controller"},
      {"analytics", PurposeCategory::kAnalytics,
       "Measuring and improving the service"},
      {"marketing", PurposeCategory::kMarketing,
       "Marketing to the principal (requires explicit consent)"},
      {"advertising", PurposeCategory::kAdvertising,
       "Advertising to the principal (requires explicit consent)"},
  };
}

const FieldSpec* Collection::FindField(std::string_view field) const {
  for (auto& f : fields)
    if (f.name == field) return &f;
  return nullptr;
}

Status ValidateName(std::string_view what, std::string_view name) {
  auto bad = [&] {
    return InvalidArgument(
        std::string(what) +
        " must be 1-64 characters of a-z, 0-9, '_' or '-', starting with a "
        "letter or digit");
  };
  if (name.empty() || name.size() > 64) return bad();
  auto plain = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!plain(name[0])) return bad();
  for (char c : name)
    if (!plain(c) && c != '_' && c != '-') return bad();
  return Status::Ok();
}

json::value ToJson(const Identity& i) {
  json::object o{{"id", i.id},
                 {"name", i.name},
                 {"role", RoleName(i.role)},
                 {"tenant", i.tenant},
                 {"key_digest", Base64Encode(i.key_digest)},
                 {"created_at", ToUnixMicros(i.created_at)}};
  if (i.deactivated_at) o["deactivated_at"] = ToUnixMicros(*i.deactivated_at);
  if (!i.policy.is_null()) o["policy"] = i.policy;
  return o;
}

Result<Identity> IdentityFromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "identity"));
  Identity i;
  i.id = s.Str("id");
  i.name = s.Str("name");
  auto role = ParseRole(s.Str("role"));
  i.tenant = s.OptStr("tenant");
  auto digest = Base64Decode(s.Str("key_digest"));
  i.created_at = FromUnixMicros(s.Int("created_at"));
  if (s.obj->contains("deactivated_at"))
    i.deactivated_at = FromUnixMicros(s.Int("deactivated_at"));
  if (auto* p = s.obj->if_contains("policy")) i.policy = *p;
  if (!s.ok || !role || !digest) return Err(Corrupt("identity"));
  i.role = *role;
  i.key_digest = std::move(*digest);
  return i;
}

namespace {
constexpr EnumNames<TenantState, 3> kTenantStates{{{
    {TenantState::kActive, "active"},
    {TenantState::kTerminating, "terminating"},
    {TenantState::kDisposed, "disposed"},
}}};
}  // namespace

std::string_view TenantStateName(TenantState state) {
  return kTenantStates.Name(state);
}

std::optional<TenantState> ParseTenantState(std::string_view name) {
  return kTenantStates.Parse(name);
}

json::value ToJson(const Tenant& t) {
  json::object o{{"id", t.id},
                 {"name", t.name},
                 {"regions", ToArray(t.regions)},
                 {"default_region", t.default_region},
                 {"state", TenantStateName(t.state)},
                 {"created_at", ToUnixMicros(t.created_at)},
                 {"closing_regions", ToArray(t.closing_regions)}};
  if (t.disposal_due_at)
    o["disposal_due_at"] = ToUnixMicros(*t.disposal_due_at);
  return o;
}

Result<Tenant> TenantFromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "tenant"));
  Tenant t;
  t.id = s.Str("id");
  t.name = s.Str("name");
  t.regions = s.StrList("regions");
  t.default_region = s.Str("default_region");
  auto state = ParseTenantState(s.Str("state"));
  t.created_at = FromUnixMicros(s.Int("created_at"));
  if (s.obj->contains("closing_regions"))
    t.closing_regions = s.StrList("closing_regions");
  if (auto due = s.OptInt("disposal_due_at"))
    t.disposal_due_at = FromUnixMicros(*due);
  if (!s.ok || !state) return Err(Corrupt("tenant"));
  t.state = *state;
  return t;
}

json::value ToJson(const Placement& p) {
  json::object o{{"region", p.region},
                 {"created_at", ToUnixMicros(p.created_at)}};
  if (p.erasing) o["erasing"] = true;
  return o;
}

Result<Placement> PlacementFromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "principal directory entry"));
  Placement p;
  p.region = s.Str("region");
  p.created_at = FromUnixMicros(s.Int("created_at"));
  p.erasing = s.OptBool("erasing");
  if (!s.ok || p.region.empty())
    return Err(Corrupt("principal directory entry"));
  return p;
}

json::value ToJson(const RelocationRecord& r) {
  return json::object{{"tenant", r.tenant},
                      {"pseudonym", r.pseudonym},
                      {"from", r.from},
                      {"to", r.to},
                      {"started_at", ToUnixMicros(r.started_at)}};
}

Result<RelocationRecord> RelocationFromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "relocation"));
  RelocationRecord r;
  r.tenant = s.Str("tenant");
  r.pseudonym = s.Str("pseudonym");
  r.from = s.Str("from");
  r.to = s.Str("to");
  r.started_at = FromUnixMicros(s.Int("started_at"));
  if (!s.ok) return Err(Corrupt("relocation"));
  return r;
}

json::value ToJson(const Purpose& p) {
  return json::object{{"id", p.id},
                      {"category", PurposeCategoryName(p.category)},
                      {"description", p.description}};
}

Result<Purpose> PurposeFromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "purpose"));
  Purpose p;
  p.id = s.Str("id");
  auto category = ParsePurposeCategory(s.Str("category"));
  p.description = s.OptStr("description");
  if (!s.ok || !category) return Err(Corrupt("purpose"));
  p.category = *category;
  return p;
}

json::value ToJson(const Collection& c) {
  json::array fields;
  for (auto& f : c.fields)
    fields.emplace_back(json::object{{"name", f.name},
                                     {"type", FieldTypeName(f.type)},
                                     {"required", f.required},
                                     {"searchable", f.searchable}});
  json::object o{{"name", c.name},
                 {"fields", std::move(fields)},
                 {"created_at", ToUnixMicros(c.created_at)},
                 {"updated_at", ToUnixMicros(c.updated_at)}};
  if (!c.retention.empty()) o["retention"] = c.retention;
  return o;
}

Result<Collection> CollectionFromJson(const json::value& v) {
  PV_ASSIGN_OR_RETURN(auto s, OpenStored(v, "collection"));
  Collection c;
  c.name = s.Str("name");
  c.retention = s.OptStr("retention");
  c.created_at = FromUnixMicros(s.Int("created_at"));
  c.updated_at = FromUnixMicros(s.Int("updated_at"));
  auto* fields = s.obj->if_contains("fields");
  if (!s.ok || !fields || !fields->is_array())
    return Err(Corrupt("collection"));
  for (auto& fv : fields->get_array()) {
    PV_ASSIGN_OR_RETURN(auto fs, OpenStored(fv, "collection"));
    FieldSpec f;
    f.name = fs.Str("name");
    auto type = ParseFieldType(fs.Str("type"));
    f.required = fs.OptBool("required");
    f.searchable = fs.OptBool("searchable");
    if (!fs.ok || !type) return Err(Corrupt("collection"));
    f.type = *type;
    c.fields.push_back(std::move(f));
  }
  return c;
}

}  // namespace piivault::vault
