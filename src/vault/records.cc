#include "vault/records.h"

#include <algorithm>

#include "base/encoding.h"
#include "base/retry.h"
#include "crypto/random.h"
#include "vault/barrier.h"
#include "vault/record_envelope.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

constexpr int kMaxAttempts = 8;

bool LooksLikeRecordId(std::string_view id) {
  return id.size() == 30 && id.starts_with("rec_");
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

Status RecordIdTaken() {
  return AlreadyExists("a record with this id already exists");
}

// A chosen record id must be free in every region of the tenant, not only
// where the principal lives, so that a record id names one record. (The
// create's batch checks the principal's region again atomically; two
// creates of one id racing in two regions are not excluded, which random
// ids make moot and an import, one writer per tenant, does not do.)
Status RequireFreeRecordId(storage::RegionRouter& router, const Tenant& tenant,
                           std::string_view id) {
  const std::string key = keys::Record(tenant.id, id);
  for (auto& region : tenant.regions) {
    storage::Backend* backend = router.region(region);
    if (!backend) continue;
    PV_ASSIGN_OR_RETURN(auto existing, backend->Get(key));
    if (existing) return RecordIdTaken();
  }
  return Status::Ok();
}

}  // namespace

bool IsRecordIdShape(std::string_view id) {
  return crypto::IsRandomId("rec_", id);
}

struct RecordService::Found {
  StoredRecord record;
  PrincipalContext principal;
};

Result<std::string> RecordService::Pseudonym(const Tenant& tenant,
                                             std::string_view principal) {
  return directory_.Pseudonym(tenant, principal);
}

Result<RecordService::PrincipalHome> RecordService::OpenPrincipal(
    const RequestContext& context, const Tenant& tenant,
    std::string_view principal, bool for_write) {
  PV_RETURN_IF_ERROR(ValidatePrincipalId(principal));
  PV_ASSIGN_OR_RETURN(auto pseudonym, Pseudonym(tenant, principal));
  PV_ASSIGN_OR_RETURN(auto home, directory_.HomeOf(context, tenant, pseudonym));
  if (!home) return Err(NotFound("no such principal"));
  storage::Backend* store = router_->region(home->region);
  if (!store) return Err(Unavailable("the principal's region is not served"));
  auto ctx = keys_.Load(context, tenant, home->region, *store, pseudonym,
                        for_write ? KeyUse::kWrite : KeyUse::kRead);
  if (!ctx && ctx.error().code() == StatusCode::kNotFound)
    return Err(NotFound("no such principal"));
  if (!ctx) return Err(ctx.error());
  return PrincipalHome{std::move(pseudonym), home->region, store,
                       std::move(ctx->key), std::move(ctx->raw)};
}

Result<Record> RecordService::Create(const RequestContext& context,
                                     const Tenant& tenant,
                                     const Collection& collection,
                                     std::string_view principal,
                                     std::optional<std::string> region,
                                     const Fields& fields,
                                     std::optional<std::string> requested_id) {
  PV_RETURN_IF_ERROR(ValidatePrincipalId(principal));
  if (requested_id && !IsRecordIdShape(*requested_id))
    return Err(ValidationFailed("id", "not a record id of this vault's shape"));
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
    PV_ASSIGN_OR_RETURN(auto text, NormalizeField(*spec, value));
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
  const bool chosen_id = requested_id.has_value();
  std::string id =
      chosen_id ? *std::move(requested_id) : crypto::RandomId("rec_");
  if (chosen_id) PV_RETURN_IF_ERROR(RequireFreeRecordId(*router_, tenant, id));
  std::vector<std::string> names;
  for (auto& [spec, text] : canonical) names.push_back(spec->name);
  NoteForAudit(context, id, pseudonym, "", names);
  PV_ASSIGN_OR_RETURN(std::string placed,
                      directory_.Place(context, tenant, pseudonym, region));
  NoteForAudit(context, id, pseudonym, placed);
  storage::Backend* backend = router_->region(placed);
  if (!backend)
    return Err(Unavailable("the principal's region is not configured"));

  auto attempt = [&]() -> std::optional<Result<Record>> {
    PV_ASSIGN_OR_RETURN(auto ctx, keys_.Load(context, tenant, placed, *backend,
                                             pseudonym, KeyUse::kCreate));
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
        f.blind_hash = RecordSearch::BlindHash(*ctx.keys, collection.name,
                                               spec->name, spec->type, text);
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
    // A chosen id may race another create of the same id in this region.
    if (chosen_id) batch.RequireAbsent(keys::Record(tenant.id, id));
    batch.Put(keys::Record(tenant.id, id), e.Encode());
    batch.Put(keys::PrincipalRecord(tenant.id, pseudonym, id), "");
    batch.Add(keys::RecordCount(tenant.id), 1);
    Status written = backend->Write(batch);
    if (chosen_id && LostRace(written)) {
      auto taken = backend->Get(keys::Record(tenant.id, id));
      if (taken && *taken) return Err(RecordIdTaken());
    }
    if (LostRace(written)) return std::nullopt;  // key raced
    PV_RETURN_IF_ERROR(written);
    pseudonyms_.Remember(tenant.id, id, pseudonym);
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
  // With the record's principal known from an earlier read, its key entry
  // comes in the same read as the record.
  const std::optional<std::string> hint = pseudonyms_.Find(tenant.id, id);
  std::vector<std::string> wanted{key};
  if (hint) wanted.push_back(keys::PrincipalKey(tenant.id, *hint));
  for (auto region : order) {
    storage::Backend* backend = router_->region(region);
    if (!backend) continue;
    auto rows = backend->MultiGet(wanted);
    if (!rows && rows.error().code() == StatusCode::kUnavailable) {
      // Another region may hold the record; say so only if none does.
      unreachable = rows.error();
      continue;
    }
    if (!rows) return Err(rows.error());
    std::optional<std::string>& raw = (*rows)[0];
    if (!raw) continue;
    PV_ASSIGN_OR_RETURN(auto envelope, RecordEnvelope::Decode(*raw));
    if (envelope.collection != collection) break;
    const bool hinted = hint && *hint == envelope.pseudonym;
    Result<PrincipalContext> principal =
        hinted ? keys_.FromEntry(context, tenant, region, envelope.pseudonym,
                                 std::move((*rows)[1]), use)
               : keys_.Load(context, tenant, region, *backend,
                            envelope.pseudonym, use);
    if (principal) principal->store = backend;
    if (principal && !hinted)
      pseudonyms_.Remember(tenant.id, id, envelope.pseudonym);
    // A relocation's other copy: keep looking for the principal's home.
    if (!principal && principal.error().code() == StatusCode::kNotFound)
      continue;
    if (!principal) return Err(principal.error());
    // Whatever the caller does with the record (even a delete, which
    // removes the index entries the envelope names) it does with the
    // envelope as written.
    PV_ASSIGN_OR_RETURN(auto principal_id,
                        envelope.OpenPrincipal(principal->key, tenant.id, id));
    return Found{StoredRecord{std::string(id), std::string(region), backend,
                              std::move(*raw), std::move(envelope),
                              std::move(principal_id)},
                 std::move(*principal)};
  }
  if (unreachable)
    return Err(Unavailable("a region of the tenant is unavailable"));
  return Err(NotFound("no such record"));
}

Result<Record> RecordService::Get(const RequestContext& context,
                                  const Tenant& tenant,
                                  std::string_view collection,
                                  std::string_view id,
                                  const FieldFilter& filter,
                                  std::string_view consent_purpose) {
  PV_ASSIGN_OR_RETURN(auto found,
                      Find(context, tenant, collection, id, KeyUse::kRead));
  PV_RETURN_IF_ERROR(
      PrincipalKeys::CheckConsent(tenant, found.record.envelope.pseudonym,
                                  found.principal, consent_purpose));
  PV_ASSIGN_OR_RETURN(
      auto record, found.record.Open(context, tenant, found.principal, filter));
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
    PV_ASSIGN_OR_RETURN(auto text, NormalizeField(*spec, *value));
    canonical.emplace_back(spec, std::move(text));
  }

  auto attempt = [&]() -> std::optional<Result<Record>> {
    PV_ASSIGN_OR_RETURN(
        auto found, Find(context, tenant, collection.name, id, KeyUse::kWrite));
    auto& [loc, principal] = found;
    PV_RETURN_IF_ERROR(PrincipalKeys::CheckConsent(
        tenant, loc.envelope.pseudonym, principal, consent_purpose));
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
        f.blind_hash = RecordSearch::BlindHash(*principal.keys, collection.name,
                                               spec->name, spec->type, *text);
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
    return loc.Open(context, tenant, principal, std::nullopt);
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
    PV_RETURN_IF_ERROR(PrincipalKeys::CheckConsent(
        tenant, loc.envelope.pseudonym, principal, consent_purpose));
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

Result<std::vector<Record>> RecordService::Search(
    const RequestContext& context, const Tenant& tenant,
    const Collection& collection, std::string_view field,
    const FieldValue& value, std::size_t limit,
    std::string_view consent_purpose, const RecordScope& scope) {
  return search_.Search(context, tenant, collection, field, value, limit,
                        consent_purpose, scope);
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
  PV_RETURN_IF_ERROR(PrincipalKeys::CheckConsent(
      tenant, envelope.pseudonym, found.principal, consent_purpose));
  NoteForAudit(context, record_id, envelope.pseudonym, found.record.region,
               fields);
  std::map<std::string, std::string> out;
  for (auto& f : fields) {
    if (!envelope.Find(f))
      return Err(ValidationFailed(f, "the record has no value for this field"));
    PV_ASSIGN_OR_RETURN(out[f], Token(tenant, collection.name, record_id, f));
  }
  return out;
}

Result<std::string> RecordService::Token(const Tenant& tenant,
                                         std::string_view collection,
                                         std::string_view record_id,
                                         std::string_view field) {
  // The tenant's keys are cached by the keyring.
  PV_ASSIGN_OR_RETURN(auto keys, control_->keyring().GetTenantKeys(tenant.id));
  std::string pointer = std::string(collection) + '\0' +
                        std::string(record_id) + '\0' + std::string(field);
  return "tok_" + Base64UrlEncode(SealToken(*keys, tenant.id, pointer));
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
  PV_ASSIGN_OR_RETURN(auto home, directory_.HomeOf(context, tenant, pseudonym));
  if (!home) return Err(absent());
  PrincipalView view{std::string(principal), home->region, {}, {}, {}};
  NoteForAudit(context, "", pseudonym, view.region);
  storage::Backend* backend = router_->region(view.region);
  if (!backend)
    return Err(Unavailable("the principal's region is not configured"));
  auto ctx = keys_.Load(context, tenant, view.region, *backend, pseudonym,
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
  PV_ASSIGN_OR_RETURN(auto found,
                      RecordSearch::ReadIndexed(tenant, view.region, *backend,
                                                prefix, entries));
  RecordSearch::LeaveOutOfScope(found, scope);
  for (auto& loc : found) {
    PV_ASSIGN_OR_RETURN(auto record,
                        loc.Open(context, tenant, *ctx, std::nullopt));
    view.records.push_back(std::move(record));
  }
  return view;
}

Result<RecordService::RegionPage> RecordService::ScanRegion(
    const RequestContext& context, const Tenant& tenant,
    std::string_view region, std::string_view after, std::size_t limit) {
  storage::Backend* backend = router_->region(region);
  if (!backend) return Err(Unavailable("a region of the tenant is not served"));
  const std::string prefix = keys::RecordPrefix(tenant.id);
  const std::string start =
      after.empty() ? std::string() : prefix + std::string(after) + '\0';
  PV_ASSIGN_OR_RETURN(auto rows, backend->Scan(prefix, start, limit));
  RegionPage page;
  page.more = rows.size() == limit;
  if (!rows.empty()) page.last = rows.back().key.substr(prefix.size());
  std::vector<StoredRecord> found;
  found.reserve(rows.size());
  // Each principal's key once per page, all in one read.
  std::map<std::string, std::optional<PrincipalContext>> principals;
  for (auto& row : rows) {
    StoredRecord loc{row.key.substr(prefix.size()),
                     std::string(region),
                     backend,
                     std::move(row.value),
                     {},
                     std::nullopt};
    PV_ASSIGN_OR_RETURN(loc.envelope, RecordEnvelope::Decode(loc.raw));
    principals.emplace(loc.envelope.pseudonym, std::nullopt);
    found.push_back(std::move(loc));
  }
  std::vector<std::string> key_entries;
  for (auto& [pseudonym, ctx] : principals)
    key_entries.push_back(keys::PrincipalKey(tenant.id, pseudonym));
  PV_ASSIGN_OR_RETURN(auto entries, backend->MultiGet(key_entries));
  std::size_t i = 0;
  for (auto& [pseudonym, ctx] : principals) {
    auto loaded = keys_.FromEntry(context, tenant, region, pseudonym,
                                  std::move(entries[i++]), KeyUse::kRead);
    if (!loaded && loaded.error().code() == StatusCode::kNotFound) continue;
    if (!loaded) return Err(loaded.error());
    loaded->store = backend;
    ctx = std::move(*loaded);
  }
  for (auto& loc : found) {
    const auto& ctx = principals.at(loc.envelope.pseudonym);
    if (!ctx) continue;
    PV_ASSIGN_OR_RETURN(auto record,
                        loc.Open(context, tenant, *ctx, std::nullopt));
    page.records.push_back(std::move(record));
  }
  return page;
}

Result<RecordService::RegionPrincipal> RecordService::OpenPrincipalIn(
    const RequestContext& context, const Tenant& tenant,
    std::string_view region, std::string_view pseudonym) {
  storage::Backend* store = router_->region(region);
  if (!store) return Err(Unavailable("a region of the tenant is not served"));
  PV_ASSIGN_OR_RETURN(auto ctx, keys_.Load(context, tenant, region, *store,
                                           pseudonym, KeyUse::kRead));
  RegionPrincipal out{
      PrincipalHome{std::string(pseudonym), std::string(region), store,
                    std::move(ctx.key), std::move(ctx.raw)},
      std::nullopt};
  // Any one of its records names it.
  const std::string prefix = keys::PrincipalRecordPrefix(tenant.id, pseudonym);
  PV_ASSIGN_OR_RETURN(auto first, store->Scan(prefix, "", 1));
  if (first.empty()) return out;
  const std::string id = first.front().key.substr(prefix.size());
  PV_ASSIGN_OR_RETURN(auto raw, store->Get(keys::Record(tenant.id, id)));
  if (!raw) return out;  // deleted meanwhile
  PV_ASSIGN_OR_RETURN(auto envelope, RecordEnvelope::Decode(*raw));
  PV_ASSIGN_OR_RETURN(out.principal,
                      envelope.OpenPrincipal(out.home.key, tenant.id, id));
  return out;
}

}  // namespace piivault::vault
