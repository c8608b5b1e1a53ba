#include "compliance/declarations.h"

#include <algorithm>
#include <boost/json.hpp>

#include "compliance/controls.h"
#include "crypto/random.h"
#include "vault/model.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::compliance {

namespace keys = vault::keys;
namespace json = boost::json;

namespace {

constexpr std::string_view kIdPrefix = "dcl_";
constexpr std::size_t kMaxText = 4096;
// Declarations are few (one or a handful per organizational control).
constexpr std::size_t kMaxDeclarations = 10000;

json::value ToJson(const Declaration& d) {
  return json::object{{"id", d.id},
                      {"control", d.control},
                      {"text", d.text},
                      {"by", d.by},
                      {"at_us", ToUnixMicros(d.at)}};
}

Result<Declaration> FromJson(const json::value& v) {
  constexpr std::string_view kWhat = "declaration";
  PV_ASSIGN_OR_RETURN(auto s, vault::OpenStored(v, kWhat));
  Declaration d{s.Str("id"), s.Str("control"), s.Str("text"), s.Str("by"),
                FromUnixMicros(s.Int("at_us"))};
  if (!s.ok) return Err(vault::Corrupt(kWhat));
  return d;
}

}  // namespace

json::object DeclarationJson(const Declaration& d) {
  return json::object{{"id", d.id},
                      {"control", d.control},
                      {"text", d.text},
                      {"by", d.by},
                      {"at", FormatRfc3339(d.at)}};
}

Result<Declaration> DeclarationService::Record(
    const vault::RequestContext& context, std::string control, std::string text,
    std::string_view by) {
  const Control* c = FindControl(control);
  if (!c || c->kind != ControlKind::kOrganizational)
    return Err(
        ValidationFailed("control", "must name an organizational control"));
  PV_RETURN_IF_ERROR(vault::ValidateFreeText("text", text, 1, kMaxText));
  Declaration d{crypto::RandomId(kIdPrefix), std::move(control),
                std::move(text), std::string(by), clock_->Now()};
  const std::string key = keys::Declaration(d.id);
  storage::WriteBatch batch = context.Batch();
  batch.RequireValue(key, std::nullopt);
  control_->Put(batch, key, ToJson(d));
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  return d;
}

Result<std::vector<Declaration>> DeclarationService::List() {
  PV_ASSIGN_OR_RETURN(
      auto docs, control_->Scan(keys::DeclarationPrefix(), kMaxDeclarations));
  std::vector<Declaration> out;
  for (auto& [key, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto d, FromJson(doc));
    out.push_back(std::move(d));
  }
  std::ranges::stable_sort(out, {}, &Declaration::at);
  return out;
}

}  // namespace piivault::compliance
