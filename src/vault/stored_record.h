// A record as a region stores it, `rec/<t>/<record id>`, and where it was
// read: its envelope (vault/record_envelope.h) holds the collection, the
// principal's pseudonym, the times and the sealed principal id and field
// values. Each value is sealed with AES-256-GCM under its principal's key
// with AAD = tenant | collection | record id | field, so a ciphertext moved
// to any other place fails to open (kDataLoss).
//
// Thread safety: a value; Open is thread-safe.
#pragma once

#include <optional>
#include <string>

#include "storage/backend.h"
#include "vault/model.h"
#include "vault/principal_keys.h"
#include "vault/record.h"
#include "vault/record_envelope.h"
#include "vault/request_context.h"

namespace piivault::vault {

struct StoredRecord {
  std::string id;
  std::string region;
  storage::Backend* backend = nullptr;
  std::string raw;  // stored bytes, for compare-and-set
  RecordEnvelope envelope;
  // The principal's id, once the envelope passed its integrity check.
  std::optional<std::string> principal;

  // The record with the values `filter` selects, opened with
  // `principal_key` (checking the envelope first unless `principal` is
  // set); noted for
  // the request's audit event (its id, pseudonym and region, never a
  // value). kDataLoss when a value fails its integrity check.
  Result<Record> Open(const RequestContext& context, const Tenant& tenant,
                      const PrincipalContext& principal_key,
                      const FieldFilter& filter) const;
};

}  // namespace piivault::vault
