#include "lifecycle/principal_rows.h"

#include <algorithm>

#include "base/retry.h"
#include "vault/record_envelope.h"
#include "vault/storage_keys.h"

namespace piivault::lifecycle {

using vault::ControlStore;
using vault::PlacementFromJson;
using vault::RecordEnvelope;
using vault::RequestContext;
namespace keys = vault::keys;

Result<std::optional<StoredPlacement>> ReadPlacement(ControlStore& control,
                                                     std::string_view tenant,
                                                     std::string_view pseudo) {
  std::string key = keys::PrincipalDirectory(tenant, pseudo);
  PV_ASSIGN_OR_RETURN(auto raw, control.GetRaw(key));
  if (!raw) return std::optional<StoredPlacement>();
  PV_ASSIGN_OR_RETURN(auto doc, control.Decode(key, *raw));
  PV_ASSIGN_OR_RETURN(auto placement, PlacementFromJson(doc));
  return std::optional<StoredPlacement>(
      StoredPlacement{std::move(placement), std::move(*raw)});
}

Result<PrincipalRows> CollectPrincipalRows(storage::Backend& backend,
                                           std::string_view tenant,
                                           std::string_view pseudonym) {
  PrincipalRows held;
  PV_ASSIGN_OR_RETURN(held.key_raw,
                      backend.Get(keys::PrincipalKey(tenant, pseudonym)));
  std::string prefix = keys::PrincipalRecordPrefix(tenant, pseudonym);
  PV_ASSIGN_OR_RETURN(auto index, backend.Scan(prefix, "", SIZE_MAX));
  std::vector<std::string> ids, record_keys;
  for (auto& entry : index) {
    ids.emplace_back(std::string_view(entry.key).substr(prefix.size()));
    record_keys.push_back(keys::Record(tenant, ids.back()));
  }
  PV_ASSIGN_OR_RETURN(auto records, backend.MultiGet(record_keys));
  std::vector<std::string> index_keys;
  for (std::size_t i = 0; i < index.size(); ++i) {
    held.rows.push_back(std::move(index[i]));
    if (!records[i]) continue;
    PV_ASSIGN_OR_RETURN(auto envelope, RecordEnvelope::Decode(*records[i]));
    for (auto& k : envelope.IndexKeys(tenant, ids[i]))
      index_keys.push_back(std::move(k));
    held.rows.push_back({std::move(record_keys[i]), std::move(*records[i])});
    ++held.records;
  }
  PV_ASSIGN_OR_RETURN(auto blind, backend.MultiGet(index_keys));
  for (std::size_t i = 0; i < blind.size(); ++i)
    if (blind[i]) held.rows.push_back({index_keys[i], std::move(*blind[i])});
  // The consent ledger (its state is in the key entry).
  PV_ASSIGN_OR_RETURN(
      auto consents,
      backend.Scan(keys::ConsentEventPrefix(tenant, pseudonym), "", SIZE_MAX));
  for (auto& row : consents) held.rows.push_back(std::move(row));
  std::sort(held.rows.begin(), held.rows.end(),
            [](auto& a, auto& b) { return a.key < b.key; });
  return held;
}

Result<int64_t> PurgePrincipalRows(
    const RequestContext& context, storage::Backend& backend,
    std::string_view tenant, std::string_view pseudonym,
    const std::optional<std::string>& tombstone) {
  constexpr int kMaxAttempts = 8;
  const std::string pkey = keys::PrincipalKey(tenant, pseudonym);
  auto attempt = [&]() -> std::optional<Result<int64_t>> {
    PV_ASSIGN_OR_RETURN(auto held,
                        CollectPrincipalRows(backend, tenant, pseudonym));
    // Nothing to do: no key entry (key and rows go together), unless a
    // tombstone must stand there; or the tombstone is there already.
    if (!held.key_raw && !tombstone) return int64_t{0};
    if (held.key_raw && held.key_raw == tombstone && held.rows.empty())
      return int64_t{0};
    storage::WriteBatch batch = context.Batch();
    if (held.key_raw) {
      batch.RequireValue(pkey, *held.key_raw);
    } else {
      batch.RequireAbsent(pkey);  // a principal placed but never written
    }
    for (auto& row : held.rows) batch.Delete(row.key);
    if (tombstone) {
      batch.Put(pkey, *tombstone);
    } else {
      batch.Delete(pkey);
    }
    batch.Add(keys::RecordCount(tenant), -held.records);
    Status written = backend.Write(batch);
    if (LostRace(written)) return std::nullopt;
    PV_RETURN_IF_ERROR(written);
    return held.records;
  };
  return RetryOnConflict("the principal", attempt, kMaxAttempts);
}

}  // namespace piivault::lifecycle
