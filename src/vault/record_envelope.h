// The stored form of one record in its region's backend: metadata in the
// clear (collection, principal pseudonym, times, field names and types) and
// every value sealed under the principal's key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "vault/model.h"

namespace piivault::vault {

// One stored field: its type, sealed canonical value and blind-index hash.
struct StoredField {
  std::string name;
  FieldType type;
  std::string sealed;
  std::string blind_hash;  // hex; empty unless searchable
};

struct RecordEnvelope {
  std::string collection;
  std::string pseudonym;
  int64_t created_us = 0;
  int64_t updated_us = 0;
  std::string sealed_principal;
  std::vector<StoredField> fields;

  std::string Encode() const;
  // kDataLoss for bytes that are not an envelope.
  static Result<RecordEnvelope> Decode(std::string_view bytes);

  StoredField* Find(std::string_view name);
  const StoredField* Find(std::string_view name) const {
    return const_cast<RecordEnvelope*>(this)->Find(name);
  }
  // The blind-index keys that point at this record (stored as `record_id`
  // of tenant `tenant`).
  std::vector<std::string> IndexKeys(std::string_view tenant,
                                     std::string_view record_id) const;
};

}  // namespace piivault::vault
