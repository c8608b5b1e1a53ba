#include "vault/records.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "base/bytes.h"
#include "base/encoding.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

constexpr uint8_t kEnvelopeVersion = 1;
constexpr std::string_view kPrincipalSlot = "$principal";  // not a field name
constexpr int kMaxAttempts = 8;

// One stored field: its type, sealed canonical value and blind-index hash.
struct StoredField {
  std::string name;
  FieldType type;
  std::string sealed;
  std::string blind_hash;  // hex; empty unless searchable
};

std::string SealAad(std::string_view tenant, std::string_view collection,
                    std::string_view record_id, std::string_view field) {
  std::string aad;
  aad.reserve(tenant.size() + collection.size() + record_id.size() +
              field.size() + 4);
  aad.append("f\0", 2).append(tenant).push_back('\0');
  aad.append(collection).push_back('\0');
  aad.append(record_id).push_back('\0');
  aad.append(field);
  return aad;
}

Status ValidatePrincipalId(std::string_view principal) {
  if (principal.empty() || principal.size() > 256)
    return ValidationFailed("principal", "must be 1 to 256 characters");
  for (unsigned char c : principal)
    if (c < 0x20 || c == 0x7f)
      return ValidationFailed("principal", "control characters not allowed");
  return Status::Ok();
}

bool LooksLikeRecordId(std::string_view id) {
  return id.size() == 30 && id.starts_with("rec_");
}

Status ConflictingRegion() {
  return Status(StatusCode::kAborted,
                "the principal lives in another region; relocate it first",
                "conflict");
}

}  // namespace

struct RecordService::Envelope {
  std::string collection;
  std::string pseudonym;
  int64_t created_us = 0;
  int64_t updated_us = 0;
  std::string sealed_principal;
  std::vector<StoredField> fields;

  std::string Encode() const {
    ByteWriter w;
    w.U8(kEnvelopeVersion);
    w.Bytes(collection);
    w.Bytes(pseudonym);
    w.I64(created_us);
    w.I64(updated_us);
    w.Bytes(sealed_principal);
    w.Varint(fields.size());
    for (auto& f : fields) {
      w.Bytes(f.name);
      w.U8(static_cast<uint8_t>(f.type));
      w.Bytes(f.sealed);
      w.Bytes(f.blind_hash);
    }
    return w.Take();
  }

  static Result<Envelope> Decode(std::string_view bytes) {
    ByteReader r(bytes);
    Envelope e;
    uint8_t version = 0;
    std::string_view collection, pseudonym, principal;
    uint64_t n = 0;
    bool ok = r.U8(version) && version == kEnvelopeVersion &&
              r.Bytes(collection) && r.Bytes(pseudonym) &&
              r.I64(e.created_us) && r.I64(e.updated_us) &&
              r.Bytes(principal) && r.Varint(n) && n <= 4096;
    for (uint64_t i = 0; ok && i < n; ++i) {
      std::string_view name, sealed, hash;
      uint8_t type = 0;
      ok = r.Bytes(name) && r.U8(type) &&
           type <= static_cast<uint8_t>(FieldType::kBoolean) &&
           r.Bytes(sealed) && r.Bytes(hash);
      if (ok)
        e.fields.push_back({std::string(name), static_cast<FieldType>(type),
                            std::string(sealed), std::string(hash)});
    }
    if (!ok || !r.done()) return Err(DataLoss("stored record is malformed"));
    e.collection = collection;
    e.pseudonym = pseudonym;
    e.sealed_principal = principal;
    return e;
  }

  StoredField* Find(std::string_view name) {
    for (auto& f : fields)
      if (f.name == name) return &f;
    return nullptr;
  }
};

struct RecordService::Located {
  std::string id;
  std::string region;
  storage::Backend* backend = nullptr;
  std::string raw;  // stored bytes, for compare-and-set
  Envelope envelope;
};

struct RecordService::PrincipalContext {
  std::shared_ptr<const crypto::TenantKeys> keys;
  crypto::SecretBytes key;
  std::string wrapped;  // as stored
  bool is_new = false;
};

Result<std::string> RecordService::Pseudonym(const Tenant& tenant,
                                             std::string_view principal) {
  PV_ASSIGN_OR_RETURN(auto keys, control_->keyring().GetTenantKeys(tenant.id));
  std::string input = "principal";
  input.push_back('\0');
  input.append(principal);
  return HexEncode(crypto::HmacSha256(keys->index_key, input));
}

namespace {

std::string BlindHash(const crypto::TenantKeys& keys,
                      std::string_view collection, std::string_view field,
                      FieldType type, std::string_view canonical) {
  std::string input = "bidx";
  input.push_back('\0');
  input.append(collection).push_back('\0');
  input.append(field).push_back('\0');
  input.append(SearchKey(type, canonical));
  return HexEncode(crypto::HmacSha256(keys.index_key, input));
}

// Validates one value against its spec; the error names the field.
Result<std::string> Normalize(const FieldSpec& spec, const FieldValue& value) {
  auto canonical = NormalizeFieldValue(spec.type, value);
  if (!canonical)
    return Err(ValidationFailed(spec.name, canonical.error().message()));
  return canonical;
}

}  // namespace

Result<std::string> RecordService::PlacePrincipal(
    const Tenant& tenant, const std::string& pseudonym,
    const std::optional<std::string>& region) {
  std::string key = keys::PrincipalDirectory(tenant.id, pseudonym);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    PV_ASSIGN_OR_RETURN(auto doc, control_->Get(key));
    if (doc) {
      auto* r =
          doc->is_object() ? doc->get_object().if_contains("region") : nullptr;
      if (!r || !r->is_string())
        return Err(DataLoss("principal directory entry is malformed"));
      std::string placed(r->get_string());
      if (region && *region != placed) return Err(ConflictingRegion());
      return placed;
    }
    std::string target = region.value_or(tenant.default_region);
    if (!tenant.AllowsRegion(target))
      return Err(PermissionDenied("the region is not allowed for this tenant",
                                  "region_not_allowed"));
    storage::WriteBatch batch;
    batch.RequireAbsent(key);
    control_->Put(
        batch, key,
        boost::json::object{{"region", target},
                            {"created_at", ToUnixMicros(clock_->Now())}});
    Status written = control_->Write(batch);
    if (written.code() == StatusCode::kAborted) continue;  // raced; re-read
    PV_RETURN_IF_ERROR(written);
    return target;
  }
  return Err(Aborted("the principal changed concurrently; retry"));
}

Result<RecordService::PrincipalContext> RecordService::LoadPrincipalKey(
    const Tenant& tenant, storage::Backend& backend, std::string_view pseudonym,
    bool create) {
  PrincipalContext ctx;
  PV_ASSIGN_OR_RETURN(ctx.keys, control_->keyring().GetTenantKeys(tenant.id));
  PV_ASSIGN_OR_RETURN(auto wrapped,
                      backend.Get(keys::PrincipalKey(tenant.id, pseudonym)));
  if (wrapped) {
    PV_ASSIGN_OR_RETURN(
        ctx.key, crypto::Keyring::UnwrapPrincipalKey(*ctx.keys, tenant.id,
                                                     pseudonym, *wrapped));
    ctx.wrapped = std::move(*wrapped);
    return ctx;
  }
  // No key: the principal was never written here, or was erased (its key
  // destroyed), so whatever ciphertext remains is unreadable by design.
  if (!create) return Err(NotFound("no such record"));
  ctx.key = crypto::Keyring::NewPrincipalKey();
  ctx.wrapped = crypto::Keyring::WrapPrincipalKey(*ctx.keys, tenant.id,
                                                  pseudonym, ctx.key);
  ctx.is_new = true;
  return ctx;
}

Result<Record> RecordService::Create(const Tenant& tenant,
                                     const Collection& collection,
                                     std::string_view principal,
                                     std::optional<std::string> region,
                                     const Fields& fields) {
  PV_RETURN_IF_ERROR(ValidatePrincipalId(principal));
  if (region && !router_->region_config(*region))
    return Err(PermissionDenied("the region is not allowed for this tenant",
                                "region_not_allowed"));
  // Validate everything before touching storage: bad input changes nothing.
  std::vector<std::pair<const FieldSpec*, std::string>> canonical;
  for (auto& [name, value] : fields) {
    const FieldSpec* spec = collection.FindField(name);
    if (!spec)
      return Err(ValidationFailed(name, "not a field of this collection"));
    for (auto& [seen, c] : canonical)
      if (seen == spec)
        return Err(ValidationFailed(name, "field given more than once"));
    PV_ASSIGN_OR_RETURN(auto text, Normalize(*spec, value));
    canonical.emplace_back(spec, std::move(text));
  }
  for (auto& spec : collection.fields) {
    if (!spec.required) continue;
    bool present = std::any_of(canonical.begin(), canonical.end(),
                               [&](auto& p) { return p.first == &spec; });
    if (!present) return Err(ValidationFailed(spec.name, "field is required"));
  }
  // Keep schema order so records read back predictably.
  std::sort(canonical.begin(), canonical.end(), [](auto& a, auto& b) {
    return a.first < b.first;  // FieldSpecs are contiguous in schema order
  });

  PV_ASSIGN_OR_RETURN(std::string pseudonym, Pseudonym(tenant, principal));
  PV_ASSIGN_OR_RETURN(std::string placed,
                      PlacePrincipal(tenant, pseudonym, region));
  storage::Backend* backend = router_->region(placed);
  if (!backend)
    return Err(Unavailable("the principal's region is not configured"));

  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    PV_ASSIGN_OR_RETURN(auto ctx,
                        LoadPrincipalKey(tenant, *backend, pseudonym, true));
    TimePoint now = clock_->Now();
    Envelope e;
    std::string id = crypto::RandomId("rec_");
    e.collection = collection.name;
    e.pseudonym = pseudonym;
    e.created_us = e.updated_us = ToUnixMicros(now);
    e.sealed_principal = crypto::AeadSeal(
        ctx.key, 1, principal,
        SealAad(tenant.id, collection.name, id, kPrincipalSlot));
    storage::WriteBatch batch;
    for (auto& [spec, text] : canonical) {
      StoredField f{
          spec->name,
          spec->type,
          crypto::AeadSeal(ctx.key, 1, text,
                           SealAad(tenant.id, collection.name, id, spec->name)),
          {}};
      if (spec->searchable) {
        f.blind_hash =
            BlindHash(*ctx.keys, collection.name, spec->name, spec->type, text);
        batch.Put(keys::BlindIndex(tenant.id, collection.name, spec->name,
                                   f.blind_hash, id),
                  "");
      }
      e.fields.push_back(std::move(f));
    }
    std::string pkey = keys::PrincipalKey(tenant.id, pseudonym);
    if (ctx.is_new) {
      batch.RequireAbsent(pkey);
      batch.Put(pkey, ctx.wrapped);
    } else {
      // Guards against the principal being erased while we write.
      batch.RequireValue(pkey, ctx.wrapped);
    }
    batch.Put(keys::Record(tenant.id, id), e.Encode());
    batch.Put(keys::PrincipalRecord(tenant.id, pseudonym, id), "");
    Status written = backend->Write(batch);
    if (written.code() == StatusCode::kAborted) continue;  // key raced
    PV_RETURN_IF_ERROR(written);
    return Record{.id = std::move(id),
                  .collection = collection.name,
                  .principal = std::string(principal),
                  .region = placed,
                  .fields = {},
                  .created_at = now,
                  .updated_at = now};
  }
  return Err(Aborted("the principal changed concurrently; retry"));
}

Result<RecordService::Located> RecordService::Find(const Tenant& tenant,
                                                   std::string_view collection,
                                                   std::string_view id) {
  if (!LooksLikeRecordId(id)) return Err(NotFound("no such record"));
  std::string key = keys::Record(tenant.id, id);
  // Records live in their principal's region; look in the default first.
  std::vector<std::string_view> order{tenant.default_region};
  for (auto& r : tenant.regions)
    if (r != tenant.default_region) order.push_back(r);
  for (auto region : order) {
    storage::Backend* backend = router_->region(region);
    if (!backend) continue;
    PV_ASSIGN_OR_RETURN(auto raw, backend->Get(key));
    if (!raw) continue;
    PV_ASSIGN_OR_RETURN(auto envelope, Envelope::Decode(*raw));
    if (envelope.collection != collection) break;
    return Located{std::string(id), std::string(region), backend,
                   std::move(*raw), std::move(envelope)};
  }
  return Err(NotFound("no such record"));
}

Result<Record> RecordService::Open(const Tenant& tenant, const Located& loc,
                                   const PrincipalContext& principal,
                                   const FieldFilter& filter) {
  const Envelope& e = loc.envelope;
  Record out;
  out.id = loc.id;
  out.collection = e.collection;
  out.region = loc.region;
  out.created_at = FromUnixMicros(e.created_us);
  out.updated_at = FromUnixMicros(e.updated_us);
  auto integrity = [] {
    return DataLoss("a stored value failed its integrity check");
  };
  auto who = crypto::AeadOpen(
      principal.key, e.sealed_principal,
      SealAad(tenant.id, e.collection, loc.id, kPrincipalSlot));
  if (!who) return Err(integrity());
  out.principal = std::move(*who);
  for (auto& f : e.fields) {
    if (filter &&
        std::find(filter->begin(), filter->end(), f.name) == filter->end())
      continue;
    auto text =
        crypto::AeadOpen(principal.key, f.sealed,
                         SealAad(tenant.id, e.collection, loc.id, f.name));
    if (!text) return Err(integrity());
    out.fields.emplace_back(f.name, CanonicalToFieldValue(f.type, *text));
  }
  return out;
}

Result<Record> RecordService::Get(const Tenant& tenant,
                                  std::string_view collection,
                                  std::string_view id,
                                  const FieldFilter& filter) {
  PV_ASSIGN_OR_RETURN(auto loc, Find(tenant, collection, id));
  PV_ASSIGN_OR_RETURN(
      auto principal,
      LoadPrincipalKey(tenant, *loc.backend, loc.envelope.pseudonym, false));
  return Open(tenant, loc, principal, filter);
}

Result<Record> RecordService::Update(const Tenant& tenant,
                                     const Collection& collection,
                                     std::string_view id,
                                     const FieldChanges& changes) {
  std::vector<std::pair<const FieldSpec*, std::optional<std::string>>>
      canonical;
  for (auto& [name, value] : changes) {
    const FieldSpec* spec = collection.FindField(name);
    if (!spec)
      return Err(ValidationFailed(name, "not a field of this collection"));
    if (!value) {
      if (spec->required)
        return Err(
            ValidationFailed(name, "a required field cannot be removed"));
      canonical.emplace_back(spec, std::nullopt);
      continue;
    }
    PV_ASSIGN_OR_RETURN(auto text, Normalize(*spec, *value));
    canonical.emplace_back(spec, std::move(text));
  }

  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    PV_ASSIGN_OR_RETURN(auto loc, Find(tenant, collection.name, id));
    PV_ASSIGN_OR_RETURN(
        auto principal,
        LoadPrincipalKey(tenant, *loc.backend, loc.envelope.pseudonym, false));
    Envelope e = loc.envelope;
    storage::WriteBatch batch;
    batch.RequireValue(keys::Record(tenant.id, id), loc.raw);
    auto drop_index = [&](const StoredField& f) {
      if (!f.blind_hash.empty())
        batch.Delete(keys::BlindIndex(tenant.id, collection.name, f.name,
                                      f.blind_hash, id));
    };
    for (auto& [spec, text] : canonical) {
      StoredField* existing = e.Find(spec->name);
      if (existing) drop_index(*existing);
      if (!text) {
        if (existing)
          e.fields.erase(e.fields.begin() + (existing - e.fields.data()));
        continue;
      }
      StoredField f{
          spec->name,
          spec->type,
          crypto::AeadSeal(principal.key, 1, *text,
                           SealAad(tenant.id, collection.name, id, spec->name)),
          {}};
      if (spec->searchable) {
        f.blind_hash = BlindHash(*principal.keys, collection.name, spec->name,
                                 spec->type, *text);
        batch.Put(keys::BlindIndex(tenant.id, collection.name, spec->name,
                                   f.blind_hash, id),
                  "");
      }
      if (existing)
        *existing = std::move(f);
      else
        e.fields.push_back(std::move(f));
    }
    e.updated_us = ToUnixMicros(clock_->Now());
    std::string encoded = e.Encode();
    batch.Put(keys::Record(tenant.id, id), encoded);
    Status written = loc.backend->Write(batch);
    if (written.code() == StatusCode::kAborted) continue;
    PV_RETURN_IF_ERROR(written);
    loc.raw = std::move(encoded);
    loc.envelope = std::move(e);
    return Open(tenant, loc, principal, std::nullopt);
  }
  return Err(Aborted("the record changed concurrently; retry"));
}

Status RecordService::Delete(const Tenant& tenant, std::string_view collection,
                             std::string_view id) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    PV_ASSIGN_OR_RETURN(auto loc, Find(tenant, collection, id));
    storage::WriteBatch batch;
    std::string key = keys::Record(tenant.id, id);
    batch.RequireValue(key, loc.raw);
    batch.Delete(key);
    batch.Delete(keys::PrincipalRecord(tenant.id, loc.envelope.pseudonym, id));
    for (auto& f : loc.envelope.fields)
      if (!f.blind_hash.empty())
        batch.Delete(
            keys::BlindIndex(tenant.id, collection, f.name, f.blind_hash, id));
    Status written = loc.backend->Write(batch);
    if (written.code() == StatusCode::kAborted) continue;
    return written;
  }
  return Aborted("the record changed concurrently; retry");
}

Result<std::vector<RecordService::Located>> RecordService::LoadIndexed(
    const Tenant& tenant, const std::string& region, storage::Backend& backend,
    const std::string& prefix, std::size_t limit) {
  PV_ASSIGN_OR_RETURN(auto hits, backend.Scan(prefix, "", limit));
  std::vector<std::string> ids, record_keys;
  for (auto& hit : hits) {
    ids.emplace_back(std::string_view(hit.key).substr(prefix.size()));
    record_keys.push_back(keys::Record(tenant.id, ids.back()));
  }
  PV_ASSIGN_OR_RETURN(auto raws, backend.MultiGet(record_keys));
  std::vector<Located> out;
  for (std::size_t i = 0; i < raws.size(); ++i) {
    if (!raws[i]) continue;  // deleted since the scan
    Located loc{std::move(ids[i]), region, &backend, std::move(*raws[i]), {}};
    PV_ASSIGN_OR_RETURN(loc.envelope, Envelope::Decode(loc.raw));
    out.push_back(std::move(loc));
  }
  return out;
}

Result<std::vector<Record>> RecordService::Search(const Tenant& tenant,
                                                  const Collection& collection,
                                                  std::string_view field,
                                                  const FieldValue& value,
                                                  std::size_t limit) {
  const FieldSpec* spec = collection.FindField(field);
  if (!spec)
    return Err(
        ValidationFailed(std::string(field), "not a field of this collection"));
  if (!spec->searchable) return Err(InvalidArgument("field is not searchable"));
  PV_ASSIGN_OR_RETURN(auto text, Normalize(*spec, value));
  PV_ASSIGN_OR_RETURN(auto keys, control_->keyring().GetTenantKeys(tenant.id));
  std::string hash =
      BlindHash(*keys, collection.name, spec->name, spec->type, text);
  std::string prefix =
      keys::BlindIndexPrefix(tenant.id, collection.name, spec->name, hash);

  std::vector<Record> out;
  for (auto& region : tenant.regions) {
    storage::Backend* backend = router_->region(region);
    if (!backend || out.size() >= limit) continue;
    PV_ASSIGN_OR_RETURN(auto found, LoadIndexed(tenant, region, *backend,
                                                prefix, limit - out.size()));
    std::map<std::string, PrincipalContext> principals;
    for (auto& loc : found) {
      auto it = principals.find(loc.envelope.pseudonym);
      if (it == principals.end()) {
        auto ctx =
            LoadPrincipalKey(tenant, *backend, loc.envelope.pseudonym, false);
        if (!ctx && ctx.error().code() == StatusCode::kNotFound) continue;
        if (!ctx) return Err(ctx.error());
        it = principals.emplace(loc.envelope.pseudonym, std::move(*ctx)).first;
      }
      PV_ASSIGN_OR_RETURN(auto record,
                          Open(tenant, loc, it->second, std::nullopt));
      out.push_back(std::move(record));
    }
  }
  return out;
}

namespace {

std::string TokenAad(const Tenant& tenant) {
  return std::string("token\0", 6) + tenant.id;
}

}  // namespace

Result<std::map<std::string, std::string>> RecordService::Tokenize(
    const Tenant& tenant, const Collection& collection,
    std::string_view record_id, const std::vector<std::string>& fields) {
  if (fields.empty())
    return Err(ValidationFailed("fields", "at least one field is required"));
  for (auto& f : fields)
    if (!collection.FindField(f))
      return Err(ValidationFailed(f, "not a field of this collection"));
  PV_ASSIGN_OR_RETURN(auto loc, Find(tenant, collection.name, record_id));
  PV_ASSIGN_OR_RETURN(auto keys, control_->keyring().GetTenantKeys(tenant.id));
  std::map<std::string, std::string> out;
  for (auto& f : fields) {
    if (!loc.envelope.Find(f))
      return Err(ValidationFailed(f, "the record has no value for this field"));
    std::string pointer =
        collection.name + '\0' + std::string(record_id) + '\0' + f;
    out[f] = "tok_" + Base64UrlEncode(crypto::SivSeal(keys->token_key, pointer,
                                                      TokenAad(tenant)));
  }
  return out;
}

Result<RecordService::TokenTarget> RecordService::ResolveToken(
    const Tenant& tenant, std::string_view token) {
  auto invalid = [] {
    return InvalidArgument("a token is not valid for this tenant");
  };
  if (!token.starts_with("tok_") || token.size() > 512) return Err(invalid());
  auto sealed = Base64UrlDecode(token.substr(4));
  if (!sealed) return Err(invalid());
  PV_ASSIGN_OR_RETURN(auto keys, control_->keyring().GetTenantKeys(tenant.id));
  auto pointer = crypto::SivOpen(keys->token_key, *sealed, TokenAad(tenant));
  if (!pointer) return Err(invalid());
  auto first = pointer->find('\0');
  auto second = pointer->find('\0', first + 1);
  if (first == std::string::npos || second == std::string::npos)
    return Err(invalid());
  return TokenTarget{pointer->substr(0, first),
                     pointer->substr(first + 1, second - first - 1),
                     pointer->substr(second + 1)};
}

Result<PrincipalView> RecordService::GetPrincipal(const Tenant& tenant,
                                                  std::string_view principal) {
  PV_RETURN_IF_ERROR(ValidatePrincipalId(principal));
  PV_ASSIGN_OR_RETURN(std::string pseudonym, Pseudonym(tenant, principal));
  PV_ASSIGN_OR_RETURN(
      auto doc, control_->Get(keys::PrincipalDirectory(tenant.id, pseudonym)));
  if (!doc) return Err(NotFound("no such principal"));
  auto* r =
      doc->is_object() ? doc->get_object().if_contains("region") : nullptr;
  if (!r || !r->is_string())
    return Err(DataLoss("principal directory entry is malformed"));
  PrincipalView view{std::string(principal), std::string(r->get_string()), {}};
  storage::Backend* backend = router_->region(view.region);
  if (!backend)
    return Err(Unavailable("the principal's region is not configured"));
  auto ctx = LoadPrincipalKey(tenant, *backend, pseudonym, false);
  if (!ctx && ctx.error().code() == StatusCode::kNotFound) return view;
  if (!ctx) return Err(ctx.error());

  PV_ASSIGN_OR_RETURN(
      auto found,
      LoadIndexed(tenant, view.region, *backend,
                  keys::PrincipalRecordPrefix(tenant.id, pseudonym), SIZE_MAX));
  for (auto& loc : found) {
    PV_ASSIGN_OR_RETURN(auto record, Open(tenant, loc, *ctx, std::nullopt));
    view.records.push_back(std::move(record));
  }
  return view;
}

}  // namespace piivault::vault
