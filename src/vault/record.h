// A record as the vault's callers see it: a principal's field values of one
// collection, opened (vault/stored_record.h holds what storage keeps).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "vault/field_types.h"
#include "vault/model.h"

namespace piivault::vault {

using Fields = std::vector<std::pair<std::string, FieldValue>>;
// A field set to nullopt in an update is removed.
using FieldChanges =
    std::vector<std::pair<std::string, std::optional<FieldValue>>>;

struct Record {
  std::string id;
  std::string collection;
  std::string principal;
  std::string region;
  Fields fields;  // in schema order at write time
  TimePoint created_at;
  TimePoint updated_at;
};

// Which fields a read returns; nullopt means all.
using FieldFilter = std::optional<std::vector<std::string>>;

// `value` validated against `spec` and in its canonical text form, as it is
// stored, indexed and searched for; the error names the field, never the
// value.
inline Result<std::string> NormalizeField(const FieldSpec& spec,
                                          const FieldValue& value) {
  auto canonical = NormalizeFieldValue(spec.type, value);
  if (!canonical)
    return Err(ValidationFailed(spec.name, canonical.error().message()));
  return canonical;
}

}  // namespace piivault::vault
