#include "vault/records.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <unordered_map>

#include "base/bytes.h"
#include "base/encoding.h"
#include "base/retry.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "vault/barrier.h"
#include "vault/principal_key_state.h"
#include "vault/record_envelope.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

constexpr int kMaxAttempts = 8;

bool LooksLikeRecordId(std::string_view id) {
  return id.size() == 30 && id.starts_with("rec_");
}

Status ConflictingRegion() {
  return Status(StatusCode::kAborted,
                "the principal lives in another region; relocate it first",
                "conflict");
}

// Tells the request's audit event what it touched: names, ids and the
// principal's pseudonym only, never a value.
void NoteForAudit(const RequestContext& context, std::string_view record,
                  std::string_view pseudonym, std::string_view region,
                  const std::vector<std::string>& fields = {}) {
  context.NoteRecord(record);
  context.NotePrincipal(pseudonym);
  context.NoteRegion(region);
  context.NoteFields(fields);
}

Status BeingErased() { return Aborted("the principal is being erased"); }

Status BeingRelocated() {
  return Status(StatusCode::kAborted,
                "the principal is being relocated; retry shortly", "conflict");
}

}  // namespace

struct RecordService::Located {
  std::string id;
  std::string region;
  storage::Backend* backend = nullptr;
  std::string raw;  // stored bytes, for compare-and-set
  RecordEnvelope envelope;
  // The principal's id, once the envelope passed its integrity check.
  std::optional<std::string> principal;
};

struct RecordService::PrincipalContext {
  std::shared_ptr<const crypto::TenantKeys> keys;
  crypto::SecretBytes key;
  std::string raw;       // the key entry as stored (for compare-and-set)
  std::string consents;  // the sealed consent state in it
  storage::Backend* store = nullptr;  // where it was read (with its ledger)
  bool is_new = false;
  std::string replaces;  // for a new key: the tombstone it replaces, if any
};

struct RecordService::Found {
  Located record;
  PrincipalContext principal;
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

Result<RecordService::PrincipalHome> RecordService::OpenPrincipal(
    const RequestContext& context, const Tenant& tenant,
    std::string_view principal, bool for_write) {
  PV_RETURN_IF_ERROR(ValidatePrincipalId(principal));
  PV_ASSIGN_OR_RETURN(auto pseudonym, Pseudonym(tenant, principal));
  PV_ASSIGN_OR_RETURN(auto home, HomeOf(context, tenant, pseudonym));
  if (!home) return Err(NotFound("no such principal"));
  storage::Backend* store = router_->region(home->region);
  if (!store) return Err(Unavailable("the principal's region is not served"));
  auto ctx = LoadPrincipalKey(context, tenant, home->region, *store, pseudonym,
                              for_write ? KeyUse::kWrite : KeyUse::kRead);
  if (!ctx && ctx.error().code() == StatusCode::kNotFound)
    return Err(NotFound("no such principal"));
  if (!ctx) return Err(ctx.error());
  return PrincipalHome{std::move(pseudonym), home->region, store,
                       std::move(ctx->key), std::move(ctx->raw)};
}

Result<std::optional<Placement>> RecordService::HomeOf(
    const RequestContext& context, const Tenant& tenant,
    std::string_view pseudonym) {
  PV_ASSIGN_OR_RETURN(
      auto doc,
      control_->Get(context, keys::PrincipalDirectory(tenant.id, pseudonym)));
  if (!doc) return std::optional<Placement>();
  PV_ASSIGN_OR_RETURN(auto placement, PlacementFromJson(*doc));
  return std::optional<Placement>(std::move(placement));
}

Result<std::string> RecordService::PlacePrincipal(
    const RequestContext& context, const Tenant& tenant,
    const std::string& pseudonym, const std::optional<std::string>& region) {
  std::string key = keys::PrincipalDirectory(tenant.id, pseudonym);
  std::string tenant_key = keys::Tenant(tenant.id);
  auto attempt = [&]() -> std::optional<Result<std::string>> {
    PV_ASSIGN_OR_RETURN(auto home, HomeOf(context, tenant, pseudonym));
    if (home) {
      if (home->erasing) return Err(BeingErased());
      if (region && *region != home->region) return Err(ConflictingRegion());
      return home->region;
    }
    // Placing is checked against the stored tenant, and guarded by it, so a
    // concurrent PATCH closing the region cannot strand the new principal.
    PV_ASSIGN_OR_RETURN(auto tenant_raw, control_->GetRaw(tenant_key));
    if (!tenant_raw) return Err(NotFound("no such tenant"));
    PV_ASSIGN_OR_RETURN(auto tenant_doc,
                        control_->Decode(tenant_key, *tenant_raw));
    PV_ASSIGN_OR_RETURN(Tenant current, TenantFromJson(tenant_doc));
    std::string target = region.value_or(current.default_region);
    if (!current.AcceptsNewPrincipals(target)) return Err(RegionNotAllowed());
    storage::Backend* backend = router_->region(target);
    if (!backend) return Err(RegionNotAllowed());
    // Fail before placing anything when the region cannot be reached.
    PV_RETURN_IF_ERROR(backend->Get(keys::PrincipalKey(tenant.id, pseudonym)));
    storage::WriteBatch batch = context.Batch();
    batch.RequireAbsent(key);
    batch.RequireValue(tenant_key, *tenant_raw);
    NoteForAudit(context, "", pseudonym, target);
    control_->Put(batch, key, ToJson(Placement{target, clock_->Now()}));
    batch.Add(keys::PrincipalCount(tenant.id, target), 1);
    Status written = control_->Write(context, batch);
    if (LostRace(written)) return std::nullopt;  // raced; re-read
    PV_RETURN_IF_ERROR(written);
    return target;
  };
  return RetryOnConflict("the principal", attempt, kMaxAttempts);
}

Result<RecordService::PrincipalContext> RecordService::LoadPrincipalKey(
    const RequestContext& context, const Tenant& tenant,
    std::string_view region, storage::Backend& backend,
    std::string_view pseudonym, KeyUse use) {
  PV_ASSIGN_OR_RETURN(auto raw,
                      backend.Get(keys::PrincipalKey(tenant.id, pseudonym)));
  PV_ASSIGN_OR_RETURN(auto ctx,
                      PrincipalFromEntry(context, tenant, region, pseudonym,
                                         std::move(raw), use));
  ctx.store = &backend;
  return ctx;
}

Result<RecordService::PrincipalContext> RecordService::PrincipalFromEntry(
    const RequestContext& context, const Tenant& tenant,
    std::string_view region, std::string_view pseudonym,
    std::optional<std::string> raw, KeyUse use) {
  PrincipalContext ctx;
  PV_ASSIGN_OR_RETURN(ctx.keys, control_->keyring().GetTenantKeys(tenant.id));
  auto new_key = [&]() -> Result<PrincipalContext> {
    ctx.key = crypto::Keyring::NewPrincipalKey();
    ctx.raw = crypto::Keyring::WrapPrincipalKey(*ctx.keys, tenant.id, pseudonym,
                                                ctx.key);
    ctx.is_new = true;
    return std::move(ctx);
  };
  if (!raw) {
    // No key: the principal was never written here, or was relocated away.
    if (use != KeyUse::kCreate) return Err(NotFound("no such record"));
    return new_key();
  }
  PV_ASSIGN_OR_RETURN(auto state, PrincipalKeyState::Decode(*raw));
  if (state.phase == PrincipalKeyState::Phase::kErasing) {
    if (use == KeyUse::kWrite) return Err(BeingErased());
    // A tombstone (an erasure or a relocation away left it): a create
    // gives the principal a new key here only if the directory places it
    // here now, so a create that read the directory before the erasure or
    // the switch can neither bring erased data back nor write where the
    // principal no longer lives.
    if (use == KeyUse::kCreate) {
      if (!state.wrapped.empty()) return Err(BeingErased());
      PV_ASSIGN_OR_RETURN(auto home, HomeOf(context, tenant, pseudonym));
      if (home && home->erasing) return Err(BeingErased());
      if (!home || home->region != region)
        return Err(Aborted("the principal changed concurrently; retry"));
      ctx.replaces = std::move(*raw);
      return new_key();
    }
  }
  if (!state.active()) {
    if (use != KeyUse::kRead) return Err(BeingRelocated());
    // Mid-relocation both regions hold a copy; only the one the directory
    // names is the principal's data.
    PV_ASSIGN_OR_RETURN(auto home, HomeOf(context, tenant, pseudonym));
    if (!home || home->region != region) return Err(NotFound("no such record"));
  }
  if (state.wrapped.empty()) return Err(NotFound("no such record"));
  PV_ASSIGN_OR_RETURN(
      ctx.key, crypto::Keyring::UnwrapPrincipalKey(*ctx.keys, tenant.id,
                                                   pseudonym, state.wrapped));
  ctx.raw = std::move(*raw);
  ctx.consents = std::move(state.consents);
  return ctx;
}

Status RecordService::CheckConsent(const Tenant& tenant,
                                   std::string_view pseudonym,
                                   const PrincipalContext& principal,
                                   std::string_view consent_purpose) {
  if (consent_purpose.empty()) return Status::Ok();
  PV_ASSIGN_OR_RETURN(auto state,
                      ConsentState::Open(principal.key, tenant.id, pseudonym,
                                         principal.consents));
  if (!state.Allows(consent_purpose)) return ConsentRequired();
  // Only a grant is worth putting an older state back for: check that no
  // event follows it (one point read), and decide again if the consents
  // moved on meanwhile.
  PV_RETURN_IF_ERROR(CheckAgainstLedger(*principal.store, principal.key,
                                        tenant.id, pseudonym, principal.raw,
                                        state, LedgerDepth::kNothingAfter));
  return state.Allows(consent_purpose) ? Status::Ok() : ConsentRequired();
}

Result<Record> RecordService::Create(const RequestContext& context,
                                     const Tenant& tenant,
                                     const Collection& collection,
                                     std::string_view principal,
                                     std::optional<std::string> region,
                                     const Fields& fields) {
  PV_RETURN_IF_ERROR(ValidatePrincipalId(principal));
  if (region && !router_->region_config(*region))
    return Err(RegionNotAllowed());
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
  // The id is chosen first so that the audit event, written before the
  // first change (which may be the placement), names the record.
  std::string id = crypto::RandomId("rec_");
  std::vector<std::string> names;
  for (auto& [spec, text] : canonical) names.push_back(spec->name);
  NoteForAudit(context, id, pseudonym, "", names);
  PV_ASSIGN_OR_RETURN(std::string placed,
                      PlacePrincipal(context, tenant, pseudonym, region));
  NoteForAudit(context, id, pseudonym, placed);
  storage::Backend* backend = router_->region(placed);
  if (!backend)
    return Err(Unavailable("the principal's region is not configured"));

  auto attempt = [&]() -> std::optional<Result<Record>> {
    PV_ASSIGN_OR_RETURN(
        auto ctx, LoadPrincipalKey(context, tenant, placed, *backend, pseudonym,
                                   KeyUse::kCreate));
    TimePoint now = clock_->Now();
    RecordEnvelope e;
    e.collection = collection.name;
    e.pseudonym = pseudonym;
    e.created_us = e.updated_us = ToUnixMicros(now);
    storage::WriteBatch batch = context.Batch();
    PrincipalBarrier barrier(ctx.key, tenant.id);
    for (auto& [spec, text] : canonical) {
      StoredField f{spec->name,
                    spec->type,
                    barrier.SealField(collection.name, id, spec->name, text),
                    {}};
      if (spec->searchable)
        f.blind_hash =
            BlindHash(*ctx.keys, collection.name, spec->name, spec->type, text);
      e.fields.push_back(std::move(f));
    }
    e.SealPrincipal(ctx.key, tenant.id, id, principal);
    // Index entries name their record's principal, so that a search can
    // check a consent before reading the record.
    for (auto& index_key : e.IndexKeys(tenant.id, id))
      batch.Put(index_key, pseudonym);
    std::string pkey = keys::PrincipalKey(tenant.id, pseudonym);
    if (ctx.is_new) {
      if (ctx.replaces.empty()) {
        batch.RequireAbsent(pkey);
      } else {
        batch.RequireValue(pkey, ctx.replaces);
      }
      batch.Put(pkey, ctx.raw);
    } else {
      // Guards against the principal being erased or relocated meanwhile.
      batch.RequireValue(pkey, ctx.raw);
    }
    batch.Put(keys::Record(tenant.id, id), e.Encode());
    batch.Put(keys::PrincipalRecord(tenant.id, pseudonym, id), "");
    batch.Add(keys::RecordCount(tenant.id), 1);
    Status written = backend->Write(batch);
    if (LostRace(written)) return std::nullopt;  // key raced
    PV_RETURN_IF_ERROR(written);
    return Record{.id = std::move(id),
                  .collection = collection.name,
                  .principal = std::string(principal),
                  .region = placed,
                  .fields = {},
                  .created_at = now,
                  .updated_at = now};
  };
  return RetryOnConflict("the principal", attempt, kMaxAttempts);
}

Result<RecordService::Found> RecordService::Find(const RequestContext& context,
                                                 const Tenant& tenant,
                                                 std::string_view collection,
                                                 std::string_view id,
                                                 KeyUse use) {
  if (!LooksLikeRecordId(id)) return Err(NotFound("no such record"));
  std::string key = keys::Record(tenant.id, id);
  // Records live in their principal's region; look in the default first.
  std::vector<std::string_view> order{tenant.default_region};
  for (auto& r : tenant.regions)
    if (r != tenant.default_region) order.push_back(r);
  std::optional<Status> unreachable;
  for (auto region : order) {
    storage::Backend* backend = router_->region(region);
    if (!backend) continue;
    auto raw = backend->Get(key);
    if (!raw && raw.error().code() == StatusCode::kUnavailable) {
      // Another region may hold the record; say so only if none does.
      unreachable = raw.error();
      continue;
    }
    if (!raw) return Err(raw.error());
    if (!*raw) continue;
    PV_ASSIGN_OR_RETURN(auto envelope, RecordEnvelope::Decode(**raw));
    if (envelope.collection != collection) break;
    auto principal = LoadPrincipalKey(context, tenant, region, *backend,
                                      envelope.pseudonym, use);
    // A relocation's other copy: keep looking for the principal's home.
    if (!principal && principal.error().code() == StatusCode::kNotFound)
      continue;
    if (!principal) return Err(principal.error());
    // Whatever the caller does with the record (even a delete, which
    // removes the index entries the envelope names) it does with the
    // envelope as written.
    PV_ASSIGN_OR_RETURN(auto principal_id,
                        envelope.OpenPrincipal(principal->key, tenant.id, id));
    return Found{
        Located{std::string(id), std::string(region), backend, std::move(**raw),
                std::move(envelope), std::move(principal_id)},
        std::move(*principal)};
  }
  if (unreachable)
    return Err(Unavailable("a region of the tenant is unavailable"));
  return Err(NotFound("no such record"));
}

Result<Record> RecordService::Open(const RequestContext& context,
                                   const Tenant& tenant, const Located& loc,
                                   const PrincipalContext& principal,
                                   const FieldFilter& filter) {
  const RecordEnvelope& e = loc.envelope;
  Record out;
  out.id = loc.id;
  out.collection = e.collection;
  out.region = loc.region;
  out.created_at = FromUnixMicros(e.created_us);
  out.updated_at = FromUnixMicros(e.updated_us);
  auto integrity = [] {
    return DataLoss("a stored value failed its integrity check");
  };
  if (loc.principal) {
    out.principal = *loc.principal;  // Find checked the envelope
  } else {
    PV_ASSIGN_OR_RETURN(out.principal,
                        e.OpenPrincipal(principal.key, tenant.id, loc.id));
  }
  NoteForAudit(context, loc.id, e.pseudonym, loc.region);
  PrincipalBarrier barrier(principal.key, tenant.id);
  for (auto& f : e.fields) {
    if (filter &&
        std::find(filter->begin(), filter->end(), f.name) == filter->end())
      continue;
    auto text = barrier.OpenField(e.collection, loc.id, f.name, f.sealed);
    if (!text) return Err(integrity());
    out.fields.emplace_back(f.name, CanonicalToFieldValue(f.type, *text));
  }
  return out;
}

Result<Record> RecordService::Get(const RequestContext& context,
                                  const Tenant& tenant,
                                  std::string_view collection,
                                  std::string_view id,
                                  const FieldFilter& filter,
                                  std::string_view consent_purpose) {
  PV_ASSIGN_OR_RETURN(auto found,
                      Find(context, tenant, collection, id, KeyUse::kRead));
  PV_RETURN_IF_ERROR(CheckConsent(tenant, found.record.envelope.pseudonym,
                                  found.principal, consent_purpose));
  PV_ASSIGN_OR_RETURN(auto record, Open(context, tenant, found.record,
                                        found.principal, filter));
  std::vector<std::string> names;
  for (auto& [name, value] : record.fields) names.push_back(name);
  NoteForAudit(context, id, found.record.envelope.pseudonym, record.region,
               names);
  return record;
}

Result<Record> RecordService::Update(const RequestContext& context,
                                     const Tenant& tenant,
                                     const Collection& collection,
                                     std::string_view id,
                                     const FieldChanges& changes,
                                     std::string_view consent_purpose) {
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

  auto attempt = [&]() -> std::optional<Result<Record>> {
    PV_ASSIGN_OR_RETURN(
        auto found, Find(context, tenant, collection.name, id, KeyUse::kWrite));
    auto& [loc, principal] = found;
    PV_RETURN_IF_ERROR(CheckConsent(tenant, loc.envelope.pseudonym, principal,
                                    consent_purpose));
    std::vector<std::string> names;
    for (auto& [spec, text] : canonical) names.push_back(spec->name);
    NoteForAudit(context, id, loc.envelope.pseudonym, loc.region, names);
    RecordEnvelope e = loc.envelope;
    storage::WriteBatch batch = context.Batch();
    batch.RequireValue(keys::Record(tenant.id, id), loc.raw);
    batch.RequireValue(keys::PrincipalKey(tenant.id, e.pseudonym),
                       principal.raw);
    for (auto& index_key : e.IndexKeys(tenant.id, id)) batch.Delete(index_key);
    for (auto& [spec, text] : canonical) {
      StoredField* existing = e.Find(spec->name);
      if (!text) {
        if (existing)
          e.fields.erase(e.fields.begin() + (existing - e.fields.data()));
        continue;
      }
      StoredField f{spec->name,
                    spec->type,
                    PrincipalBarrier(principal.key, tenant.id)
                        .SealField(collection.name, id, spec->name, *text),
                    {}};
      if (spec->searchable)
        f.blind_hash = BlindHash(*principal.keys, collection.name, spec->name,
                                 spec->type, *text);
      if (existing)
        *existing = std::move(f);
      else
        e.fields.push_back(std::move(f));
    }
    // Deletes above and puts here: the later op wins for unchanged entries.
    for (auto& index_key : e.IndexKeys(tenant.id, id))
      batch.Put(index_key, e.pseudonym);
    e.updated_us = ToUnixMicros(clock_->Now());
    // Also turns a version 1 envelope into a checked version 2 one.
    e.SealPrincipal(principal.key, tenant.id, id, *loc.principal);
    std::string encoded = e.Encode();
    batch.Put(keys::Record(tenant.id, id), encoded);
    Status written = loc.backend->Write(batch);
    if (LostRace(written)) return std::nullopt;
    PV_RETURN_IF_ERROR(written);
    loc.raw = std::move(encoded);
    loc.envelope = std::move(e);
    return Open(context, tenant, loc, principal, std::nullopt);
  };
  return RetryOnConflict("the record", attempt, kMaxAttempts);
}

Status RecordService::Delete(const RequestContext& context,
                             const Tenant& tenant, std::string_view collection,
                             std::string_view id,
                             std::string_view consent_purpose) {
  auto attempt = [&]() -> std::optional<Status> {
    PV_ASSIGN_OR_RETURN(auto found,
                        Find(context, tenant, collection, id, KeyUse::kWrite));
    auto& [loc, principal] = found;
    PV_RETURN_IF_ERROR(CheckConsent(tenant, loc.envelope.pseudonym, principal,
                                    consent_purpose));
    NoteForAudit(context, id, loc.envelope.pseudonym, loc.region);
    storage::WriteBatch batch = context.Batch();
    std::string key = keys::Record(tenant.id, id);
    batch.RequireValue(key, loc.raw);
    batch.RequireValue(keys::PrincipalKey(tenant.id, loc.envelope.pseudonym),
                       principal.raw);
    batch.Delete(key);
    batch.Delete(keys::PrincipalRecord(tenant.id, loc.envelope.pseudonym, id));
    for (auto& index_key : loc.envelope.IndexKeys(tenant.id, id))
      batch.Delete(index_key);
    batch.Add(keys::RecordCount(tenant.id), -1);
    Status written = loc.backend->Write(batch);
    if (LostRace(written)) return std::nullopt;
    return written;
  };
  return RetryOnConflict("the record", attempt, kMaxAttempts);
}

Result<std::vector<RecordService::Located>> RecordService::ReadIndexed(
    const Tenant& tenant, const std::string& region, storage::Backend& backend,
    const std::string& prefix, const std::vector<storage::KeyValue>& entries) {
  std::vector<std::string> ids, record_keys;
  for (auto& entry : entries) {
    ids.emplace_back(std::string_view(entry.key).substr(prefix.size()));
    record_keys.push_back(keys::Record(tenant.id, ids.back()));
  }
  PV_ASSIGN_OR_RETURN(auto raws, backend.MultiGet(record_keys));
  std::vector<Located> out;
  for (std::size_t i = 0; i < raws.size(); ++i) {
    if (!raws[i]) continue;  // deleted since the scan
    Located loc{std::move(ids[i]),   region, &backend,
                std::move(*raws[i]), {},     std::nullopt};
    PV_ASSIGN_OR_RETURN(loc.envelope, RecordEnvelope::Decode(loc.raw));
    out.push_back(std::move(loc));
  }
  return out;
}

void RecordService::LeaveOutOfScope(std::vector<Located>& found,
                                    const RecordScope& scope) {
  if (!scope) return;
  std::erase_if(found, [&](const Located& loc) {
    return !scope(loc.envelope.collection, loc.envelope.pseudonym);
  });
}

Result<std::vector<Record>> RecordService::Search(
    const RequestContext& context, const Tenant& tenant,
    const Collection& collection, std::string_view field,
    const FieldValue& value, std::size_t limit,
    std::string_view consent_purpose, const RecordScope& scope) {
  const FieldSpec* spec = collection.FindField(field);
  if (!spec)
    return Err(
        ValidationFailed(std::string(field), "not a field of this collection"));
  if (!spec->searchable) return Err(InvalidArgument("field is not searchable"));
  PV_ASSIGN_OR_RETURN(auto text, Normalize(*spec, value));
  NoteForAudit(context, "", "", "", {spec->name});
  PV_ASSIGN_OR_RETURN(auto keys, control_->keyring().GetTenantKeys(tenant.id));
  std::string hash =
      BlindHash(*keys, collection.name, spec->name, spec->type, text);
  std::string prefix =
      keys::BlindIndexPrefix(tenant.id, collection.name, spec->name, hash);
  // Index entries are read a page at a time; under a consent purpose, where
  // some candidates are left out, the next page is sized by how many the
  // last one needed per record found.
  const std::size_t max_page = std::max<std::size_t>(limit, 16'384);

  // A region that cannot be searched fails the search (503) rather than
  // silently returning part of the answer.
  std::vector<Record> out;
  for (auto& region : tenant.regions) {
    storage::Backend* backend = router_->region(region);
    if (!backend) continue;
    // The principals seen so far; nullopt for those not served (no usable
    // key in this region, or no consent).
    std::unordered_map<std::string, std::optional<PrincipalContext>> principals;
    // Adds the principals of `pseudonyms` not seen yet, read in one go.
    auto load = [&](std::vector<std::string> pseudonyms) -> Status {
      std::vector<std::string> fresh, key_names;
      for (auto& p : pseudonyms) {
        if (!principals.try_emplace(p).second) continue;
        key_names.push_back(keys::PrincipalKey(tenant.id, p));
        fresh.push_back(std::move(p));
      }
      PV_ASSIGN_OR_RETURN(auto entries, backend->MultiGet(key_names));
      // Under a consent purpose: the principals whose state allows it, to
      // check against their ledgers all in one read.
      std::vector<std::pair<std::string*, ConsentState>> allowing;
      for (std::size_t i = 0; i < fresh.size(); ++i) {
        auto ctx = PrincipalFromEntry(context, tenant, region, fresh[i],
                                      std::move(entries[i]), KeyUse::kRead);
        if (!ctx && ctx.error().code() == StatusCode::kNotFound) continue;
        if (!ctx) return ctx.error();
        ctx->store = backend;
        if (!consent_purpose.empty()) {
          PV_ASSIGN_OR_RETURN(
              auto state,
              ConsentState::Open(ctx->key, tenant.id, fresh[i], ctx->consents));
          if (!state.Allows(consent_purpose)) continue;
          allowing.emplace_back(&fresh[i], std::move(state));
        }
        principals[fresh[i]] = std::move(*ctx);
      }
      std::vector<LedgerCheck> checks;
      for (auto& [pseudonym, state] : allowing) {
        const PrincipalContext& ctx = *principals.at(*pseudonym);
        checks.push_back({*pseudonym, &ctx.key, ctx.raw, &state});
      }
      PV_RETURN_IF_ERROR(CheckAgainstLedgers(*backend, tenant.id, checks,
                                             LedgerDepth::kNothingAfter));
      // The consents of one that moved on meanwhile may no longer allow it.
      for (auto& [pseudonym, state] : allowing)
        if (!state.Allows(consent_purpose)) principals[*pseudonym].reset();
      return Status::Ok();
    };
    auto served = [&](const std::string& pseudonym) {
      auto it = principals.find(pseudonym);
      return it != principals.end() && it->second;
    };

    std::string start;
    std::size_t page = limit;
    for (bool more = true; more && out.size() < limit;) {
      PV_ASSIGN_OR_RETURN(auto entries, backend->Scan(prefix, start, page));
      more = entries.size() == page;
      if (more) start = entries.back().key + '\0';  // the next key after it
      const std::size_t candidates = entries.size();
      if (!consent_purpose.empty()) {
        // An entry's value names the record's principal (a hint: the
        // record's own envelope decides), so principals without consent
        // are left out before their records are read.
        std::vector<std::string> named;
        for (auto& e : entries)
          if (!e.value.empty()) named.push_back(e.value);
        PV_RETURN_IF_ERROR(load(std::move(named)));
        std::erase_if(entries, [&](const storage::KeyValue& e) {
          return !e.value.empty() && !served(e.value);
        });
      }
      PV_ASSIGN_OR_RETURN(
          auto found, ReadIndexed(tenant, region, *backend, prefix, entries));
      LeaveOutOfScope(found, scope);
      std::vector<std::string> owners;
      for (auto& loc : found) owners.push_back(loc.envelope.pseudonym);
      PV_RETURN_IF_ERROR(load(std::move(owners)));
      const std::size_t before = out.size();
      for (auto& loc : found) {
        if (out.size() >= limit) break;
        auto& principal = principals.at(loc.envelope.pseudonym);
        if (!principal) continue;
        PV_ASSIGN_OR_RETURN(
            auto record, Open(context, tenant, loc, *principal, std::nullopt));
        out.push_back(std::move(record));
      }
      const std::size_t yielded = out.size() - before;
      const std::size_t per_record =
          yielded == 0 ? 4 : (candidates + yielded - 1) / yielded;
      const std::size_t want = limit - out.size();
      page = want > max_page / per_record ? max_page : want * per_record;
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> RecordService::Tokenize(
    const RequestContext& context, const Tenant& tenant,
    const Collection& collection, std::string_view record_id,
    const std::vector<std::string>& fields, std::string_view consent_purpose) {
  if (fields.empty())
    return Err(ValidationFailed("fields", "at least one field is required"));
  for (auto& f : fields)
    if (!collection.FindField(f))
      return Err(ValidationFailed(f, "not a field of this collection"));
  PV_ASSIGN_OR_RETURN(auto found, Find(context, tenant, collection.name,
                                       record_id, KeyUse::kRead));
  const RecordEnvelope& envelope = found.record.envelope;
  PV_RETURN_IF_ERROR(CheckConsent(tenant, envelope.pseudonym, found.principal,
                                  consent_purpose));
  NoteForAudit(context, record_id, envelope.pseudonym, found.record.region,
               fields);
  PV_ASSIGN_OR_RETURN(auto keys, control_->keyring().GetTenantKeys(tenant.id));
  std::map<std::string, std::string> out;
  for (auto& f : fields) {
    if (!envelope.Find(f))
      return Err(ValidationFailed(f, "the record has no value for this field"));
    std::string pointer =
        collection.name + '\0' + std::string(record_id) + '\0' + f;
    out[f] = "tok_" + Base64UrlEncode(SealToken(*keys, tenant.id, pointer));
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
  auto pointer = OpenToken(*keys, tenant.id, *sealed);
  if (!pointer) return Err(invalid());
  auto first = pointer->find('\0');
  auto second = pointer->find('\0', first + 1);
  if (first == std::string::npos || second == std::string::npos)
    return Err(invalid());
  return TokenTarget{pointer->substr(0, first),
                     pointer->substr(first + 1, second - first - 1),
                     pointer->substr(second + 1)};
}

Result<PrincipalView> RecordService::GetPrincipal(
    const RequestContext& context, const Tenant& tenant,
    std::string_view principal, std::string_view consent_purpose,
    const RecordPage& page, const RecordScope& scope) {
  PV_RETURN_IF_ERROR(ValidatePrincipalId(principal));
  // A principal that does not exist has consented to nothing.
  auto absent = [&] {
    return consent_purpose.empty() ? NotFound("no such principal")
                                   : ConsentRequired();
  };
  PV_ASSIGN_OR_RETURN(std::string pseudonym, Pseudonym(tenant, principal));
  PV_ASSIGN_OR_RETURN(auto home, HomeOf(context, tenant, pseudonym));
  if (!home) return Err(absent());
  PrincipalView view{std::string(principal), home->region, {}, {}, {}};
  NoteForAudit(context, "", pseudonym, view.region);
  storage::Backend* backend = router_->region(view.region);
  if (!backend)
    return Err(Unavailable("the principal's region is not configured"));
  auto ctx = LoadPrincipalKey(context, tenant, view.region, *backend, pseudonym,
                              KeyUse::kRead);
  if (!ctx && ctx.error().code() == StatusCode::kNotFound) {
    if (!consent_purpose.empty()) return Err(ConsentRequired());
    return view;  // placed, but nothing written yet
  }
  if (!ctx) return Err(ctx.error());
  PV_ASSIGN_OR_RETURN(
      auto consents,
      ConsentState::Open(ctx->key, tenant.id, pseudonym, ctx->consents));
  if (!consent_purpose.empty() && !consents.Allows(consent_purpose))
    return Err(ConsentRequired());
  // The view shows the consents, so they are the newest whatever the purpose.
  PV_RETURN_IF_ERROR(CheckAgainstLedger(*backend, ctx->key, tenant.id,
                                        pseudonym, ctx->raw, consents,
                                        LedgerDepth::kNewest));
  if (!consent_purpose.empty() && !consents.Allows(consent_purpose))
    return Err(ConsentRequired());
  view.consents = std::move(consents.current);

  std::string prefix = keys::PrincipalRecordPrefix(tenant.id, pseudonym);
  const std::size_t limit =
      std::clamp<std::size_t>(page.limit, 1, RecordPage::kMaxLimit);
  const std::string start =
      page.after.empty()
          ? std::string()
          : keys::PrincipalRecord(tenant.id, pseudonym, page.after) + '\0';
  // One more than the page, to know whether another follows.
  PV_ASSIGN_OR_RETURN(auto entries, backend->Scan(prefix, start, limit + 1));
  if (entries.size() > limit) {
    entries.resize(limit);
    view.next = entries.back().key.substr(prefix.size());
  }
  PV_ASSIGN_OR_RETURN(
      auto found, ReadIndexed(tenant, view.region, *backend, prefix, entries));
  LeaveOutOfScope(found, scope);
  for (auto& loc : found) {
    PV_ASSIGN_OR_RETURN(auto record,
                        Open(context, tenant, loc, *ctx, std::nullopt));
    view.records.push_back(std::move(record));
  }
  return view;
}

}  // namespace piivault::vault
