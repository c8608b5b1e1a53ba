#include "vault/record_search.h"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>

#include "base/encoding.h"
#include "crypto/hash.h"
#include "vault/consent_state.h"
#include "vault/storage_keys.h"

namespace piivault::vault {

std::string RecordSearch::BlindHash(const crypto::TenantKeys& keys,
                                    std::string_view collection,
                                    std::string_view field, FieldType type,
                                    std::string_view canonical) {
  std::string input = "bidx";
  input.push_back('\0');
  input.append(collection).push_back('\0');
  input.append(field).push_back('\0');
  input.append(SearchKey(type, canonical));
  return HexEncode(crypto::HmacSha256(keys.index_key, input));
}

Result<std::vector<StoredRecord>> RecordSearch::ReadIndexed(
    const Tenant& tenant, const std::string& region, storage::Backend& backend,
    const std::string& prefix, const std::vector<storage::KeyValue>& entries) {
  std::vector<std::string> ids, record_keys;
  for (auto& entry : entries) {
    ids.emplace_back(std::string_view(entry.key).substr(prefix.size()));
    record_keys.push_back(keys::Record(tenant.id, ids.back()));
  }
  PV_ASSIGN_OR_RETURN(auto raws, backend.MultiGet(record_keys));
  std::vector<StoredRecord> out;
  for (std::size_t i = 0; i < raws.size(); ++i) {
    if (!raws[i]) continue;  // deleted since the scan
    StoredRecord loc{std::move(ids[i]),   region, &backend,
                     std::move(*raws[i]), {},     std::nullopt};
    PV_ASSIGN_OR_RETURN(loc.envelope, RecordEnvelope::Decode(loc.raw));
    out.push_back(std::move(loc));
  }
  return out;
}

void RecordSearch::LeaveOutOfScope(std::vector<StoredRecord>& found,
                                   const RecordScope& scope) {
  if (!scope) return;
  std::erase_if(found, [&](const StoredRecord& loc) {
    return !scope(loc.envelope.collection, loc.envelope.pseudonym);
  });
}

Result<std::vector<Record>> RecordSearch::Search(
    const RequestContext& context, const Tenant& tenant,
    const Collection& collection, std::string_view field,
    const FieldValue& value, std::size_t limit,
    std::string_view consent_purpose, const RecordScope& scope) {
  const FieldSpec* spec = collection.FindField(field);
  if (!spec)
    return Err(
        ValidationFailed(std::string(field), "not a field of this collection"));
  if (!spec->searchable) return Err(InvalidArgument("field is not searchable"));
  PV_ASSIGN_OR_RETURN(auto text, NormalizeField(*spec, value));
  context.NoteFields({spec->name});
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
        auto ctx = keys_->FromEntry(context, tenant, region, fresh[i],
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
            auto record, loc.Open(context, tenant, *principal, std::nullopt));
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

}  // namespace piivault::vault
