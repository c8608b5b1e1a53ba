// The current consents of one principal, and how many events its consent
// ledger (vault/consents.h) holds. The state is kept sealed under the
// principal's key inside its key entry (vault/principal_key_state.h):
//  - every read of a principal loads that entry anyway, so checking a
//    consent costs no storage read;
//  - a consent change is a compare-and-set on the entry that every record
//    write is already guarded by, so the two never interleave;
//  - the state moves with the key in a relocation and is destroyed with it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/secret.h"

namespace piivault::vault {

// Purpose -> whether its consent is active.
using Consents = std::map<std::string, bool, std::less<>>;

struct ConsentState {
  uint64_t events = 0;  // ledger length
  Consents current;

  bool Allows(std::string_view purpose) const {
    auto it = current.find(purpose);
    return it != current.end() && it->second;
  }

  // Sealed under the principal's key, bound to tenant and pseudonym.
  std::string Seal(const crypto::SecretBytes& key, std::string_view tenant,
                   std::string_view pseudonym) const;
  // An empty `sealed` is the state before any consent was recorded.
  // kDataLoss when it does not open or decode.
  static Result<ConsentState> Open(const crypto::SecretBytes& key,
                                   std::string_view tenant,
                                   std::string_view pseudonym,
                                   std::string_view sealed);
};

}  // namespace piivault::vault
