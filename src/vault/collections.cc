#include "vault/collections.h"

#include <boost/json.hpp>
#include <set>

#include "base/retry.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

constexpr std::size_t kMaxFields = 256;

Status ValidateFields(const std::vector<FieldSpec>& fields) {
  if (fields.empty())
    return ValidationFailed("fields", "at least one field is required");
  if (fields.size() > kMaxFields)
    return ValidationFailed("fields", "at most 256 fields");
  std::set<std::string_view> names;
  for (auto& f : fields) {
    Status s = ValidateName("field name", f.name);
    if (!s.ok()) return ValidationFailed("fields", s.message());
    if (!names.insert(f.name).second)
      return ValidationFailed("fields", "a field name is used twice");
  }
  return Status::Ok();
}

}  // namespace

Result<CollectionService::PutResult> CollectionService::Put(
    const RequestContext& context, std::string_view tenant, std::string name,
    std::vector<FieldSpec> fields, std::string retention) {
  PV_RETURN_IF_ERROR(ValidateName("collection name", name));
  PV_RETURN_IF_ERROR(ValidateFields(fields));
  if (!retention.empty()) {
    auto d = ParseIsoDuration(retention);
    if (!d || d->count() <= 0)
      return Err(ValidationFailed(
          "retention", "must be an ISO 8601 duration such as P365D"));
  }
  std::string key = keys::Collection(tenant, name);
  auto attempt = [&]() -> std::optional<Result<PutResult>> {
    PV_ASSIGN_OR_RETURN(auto raw, control_->GetRaw(key));
    TimePoint now = clock_->Now();
    Collection collection{.name = name,
                          .fields = fields,
                          .retention = retention,
                          .created_at = now,
                          .updated_at = now};
    storage::WriteBatch batch = context.Batch();
    if (raw) {
      PV_ASSIGN_OR_RETURN(auto doc, control_->Decode(key, *raw));
      PV_ASSIGN_OR_RETURN(auto existing, CollectionFromJson(doc));
      for (auto& old : existing.fields) {
        const FieldSpec* now_spec = collection.FindField(old.name);
        if (!now_spec)
          return Err(FailedPrecondition(
              "a field cannot be removed from an existing collection"));
        if (now_spec->type != old.type ||
            now_spec->searchable != old.searchable)
          return Err(FailedPrecondition(
              "an existing field's type and searchable flag cannot change"));
      }
      collection.created_at = existing.created_at;
      batch.RequireValue(key, *raw);
    } else {
      batch.RequireAbsent(key);
    }
    control_->Put(batch, key, ToJson(collection));
    Status written = control_->Write(context, batch);
    if (LostRace(written)) return std::nullopt;
    PV_RETURN_IF_ERROR(written);
    return PutResult{std::move(collection), !raw.has_value()};
  };
  return RetryOnConflict("the collection", attempt, 5);
}

Result<Collection> CollectionService::Get(const RequestContext& context,
                                          std::string_view tenant,
                                          std::string_view name) {
  if (!ValidateName("collection name", name).ok())
    return Err(NotFound("no such collection"));
  PV_ASSIGN_OR_RETURN(auto doc,
                      control_->Get(context, keys::Collection(tenant, name)));
  if (!doc) return Err(NotFound("no such collection"));
  return CollectionFromJson(*doc);
}

Result<std::vector<Collection>> CollectionService::List(
    std::string_view tenant) {
  PV_ASSIGN_OR_RETURN(auto docs,
                      control_->Scan(keys::CollectionPrefix(tenant), SIZE_MAX));
  std::vector<Collection> out;
  for (auto& [k, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto c, CollectionFromJson(doc));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace piivault::vault
