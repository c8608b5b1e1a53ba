// The stored form of one record in its region's backend: metadata in the
// clear (collection, principal pseudonym, times, field names and types) and
// every value sealed under the principal's key.
//
// Integrity: each value is sealed through the barrier (vault/barrier.h),
// bound to tenant, collection, record id and field, so a ciphertext moved to
// another record or field fails to open. The envelope as a whole is
// authenticated too (version 2): the principal id is sealed under the principal
// key with AAD = everything else in the envelope (record id, collection,
// pseudonym, times, and every field entry: name, type, ciphertext, blind hash,
// in order). A field entry dropped, added (even one put back from an older copy
// of the same record), reordered or swapped, or any metadata altered, makes
// OpenPrincipal fail with kDataLoss. The AAD binds only what a relocation keeps
// (it copies the envelope and the key as they are), never the region.
//
// Version 1 envelopes (written before this check) are still read: their
// principal id is sealed under a plain per-record AAD, so a version 2
// envelope cannot be relabelled as version 1 to shed the check; but a
// version 1 envelope's field list itself is not authenticated until the
// record is next updated (docs/SECURITY.md, "Rollback and tampering").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/secret.h"
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
  // 1: legacy, the field list is not authenticated; 2: it is.
  static constexpr uint8_t kLegacyVersion = 1;
  static constexpr uint8_t kVersion = 2;

  uint8_t version = kVersion;
  std::string collection;
  std::string pseudonym;
  int64_t created_us = 0;
  int64_t updated_us = 0;
  std::string sealed_principal;
  std::vector<StoredField> fields;

  std::string Encode() const;
  // kDataLoss for bytes that are not an envelope.
  static Result<RecordEnvelope> Decode(std::string_view bytes);

  // Seals `principal` (the principal's id), bound to every other member,
  // into sealed_principal and makes this a version 2 envelope. Call after
  // every other member has its final value.
  void SealPrincipal(const crypto::SecretBytes& key, std::string_view tenant,
                     std::string_view record_id, std::string_view principal);
  // The principal's id, once the envelope (stored as `record_id` of tenant
  // `tenant`) is shown to be as written: kDataLoss unless the sealed id
  // opens under `key` and, for version 2, every other member as written.
  Result<std::string> OpenPrincipal(const crypto::SecretBytes& key,
                                    std::string_view tenant,
                                    std::string_view record_id) const;

  StoredField* Find(std::string_view name);
  const StoredField* Find(std::string_view name) const {
    return const_cast<RecordEnvelope*>(this)->Find(name);
  }
  // The blind-index keys that point at this record (stored as `record_id`
  // of tenant `tenant`).
  std::vector<std::string> IndexKeys(std::string_view tenant,
                                     std::string_view record_id) const;

 private:
  // Every member but the version and the sealed principal id, encoded.
  std::string Members() const;
};

}  // namespace piivault::vault
