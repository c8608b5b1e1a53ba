#include "vault/record_envelope.h"

#include "base/bytes.h"
#include "vault/barrier.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {

void WriteFields(ByteWriter& w, const std::vector<StoredField>& fields) {
  w.Varint(fields.size());
  for (auto& f : fields) {
    w.Bytes(f.name);
    w.U8(static_cast<uint8_t>(f.type));
    w.Bytes(f.sealed);
    w.Bytes(f.blind_hash);
  }
}

Status Tampered() {
  return DataLoss("a stored record failed its integrity check");
}

}  // namespace

std::string RecordEnvelope::Encode() const {
  ByteWriter w;
  w.U8(version);
  w.Bytes(collection);
  w.Bytes(pseudonym);
  w.I64(created_us);
  w.I64(updated_us);
  w.Bytes(sealed_principal);
  WriteFields(w, fields);
  return w.Take();
}

Result<RecordEnvelope> RecordEnvelope::Decode(std::string_view bytes) {
  ByteReader r(bytes);
  RecordEnvelope e;
  std::string_view collection, pseudonym, principal;
  uint64_t n = 0;
  bool ok = r.U8(e.version) &&
            (e.version == kVersion || e.version == kLegacyVersion) &&
            r.Bytes(collection) && r.Bytes(pseudonym) && r.I64(e.created_us) &&
            r.I64(e.updated_us) && r.Bytes(principal) && r.Varint(n) &&
            n <= 4096;
  for (uint64_t i = 0; ok && i < n; ++i) {
    std::string_view name, sealed, hash;
    uint8_t type = 0;
    ok = r.Bytes(name) && r.U8(type) &&
         type <= static_cast<uint8_t>(FieldType::kBoolean) && r.Bytes(sealed) &&
         r.Bytes(hash);
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

// What a version 2 envelope's sealed principal id is bound to: every other
// member of it, so GCM's tag over them authenticates the envelope as a whole
// (cheaper than hashing it first). The barrier adds where it is stored. A
// version 1 id is bound to another AAD, so it does not open as version 2.
std::string RecordEnvelope::Members() const {
  ByteWriter w;
  w.Bytes(collection);
  w.Bytes(pseudonym);
  w.I64(created_us);
  w.I64(updated_us);
  WriteFields(w, fields);
  return w.Take();
}

void RecordEnvelope::SealPrincipal(const crypto::SecretBytes& key,
                                   std::string_view tenant,
                                   std::string_view record_id,
                                   std::string_view principal) {
  version = kVersion;
  sealed_principal = PrincipalBarrier(key, tenant)
                         .SealEnvelope(record_id, Members(), principal);
}

Result<std::string> RecordEnvelope::OpenPrincipal(
    const crypto::SecretBytes& key, std::string_view tenant,
    std::string_view record_id) const {
  PrincipalBarrier barrier(key, tenant);
  auto who =
      version == kLegacyVersion
          ? barrier.OpenLegacyEnvelope(collection, record_id, sealed_principal)
          : barrier.OpenEnvelope(record_id, Members(), sealed_principal);
  if (!who) return Err(Tampered());
  return who;
}

StoredField* RecordEnvelope::Find(std::string_view name) {
  for (auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> RecordEnvelope::IndexKeys(
    std::string_view tenant, std::string_view record_id) const {
  std::vector<std::string> out;
  for (auto& f : fields)
    if (!f.blind_hash.empty())
      out.push_back(keys::BlindIndex(tenant, collection, f.name, f.blind_hash,
                                     record_id));
  return out;
}

}  // namespace piivault::vault
