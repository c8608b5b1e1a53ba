#include "vault/stored_record.h"

#include <algorithm>

#include "vault/barrier.h"

namespace piivault::vault {

Result<Record> StoredRecord::Open(const RequestContext& context,
                                  const Tenant& tenant,
                                  const PrincipalContext& principal_key,
                                  const FieldFilter& filter) const {
  const RecordEnvelope& e = envelope;
  Record out;
  out.id = id;
  out.collection = e.collection;
  out.region = region;
  out.created_at = FromUnixMicros(e.created_us);
  out.updated_at = FromUnixMicros(e.updated_us);
  auto integrity = [] {
    return DataLoss("a stored value failed its integrity check");
  };
  if (principal) {
    out.principal = *principal;  // the reader checked the envelope
  } else {
    PV_ASSIGN_OR_RETURN(out.principal,
                        e.OpenPrincipal(principal_key.key, tenant.id, id));
  }
  context.NoteRecord(id);
  context.NotePrincipal(e.pseudonym);
  context.NoteRegion(region);
  PrincipalBarrier barrier(principal_key.key, tenant.id);
  for (auto& f : e.fields) {
    if (filter &&
        std::find(filter->begin(), filter->end(), f.name) == filter->end())
      continue;
    auto text = barrier.OpenField(e.collection, id, f.name, f.sealed);
    if (!text) return Err(integrity());
    out.fields.emplace_back(f.name, CanonicalToFieldValue(f.type, *text));
  }
  return out;
}

}  // namespace piivault::vault
