#include "vault/record_envelope.h"

#include "base/bytes.h"
#include "vault/storage_keys.h"

namespace piivault::vault {
namespace {
constexpr uint8_t kEnvelopeVersion = 1;
}  // namespace

std::string RecordEnvelope::Encode() const {
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

Result<RecordEnvelope> RecordEnvelope::Decode(std::string_view bytes) {
  ByteReader r(bytes);
  RecordEnvelope e;
  uint8_t version = 0;
  std::string_view collection, pseudonym, principal;
  uint64_t n = 0;
  bool ok = r.U8(version) && version == kEnvelopeVersion &&
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
