// What a region stores under keys::PrincipalKey for one principal: the
// principal's key, wrapped under the tenant key; its consent state, sealed
// under that key (vault/consent_state.h); and whether the principal is being
// relocated to or from this region.
//
// An active entry without consents is the wrapped key itself. While a
// relocation runs, the source holds kOutgoing (still readable, never writable)
// and the target kIncoming (neither, until the principal directory names it
// home); every record write requires the active entry it read, so a write
// racing a relocation aborts instead of being lost.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace piivault::vault {

struct PrincipalKeyState {
  // kErasing: frozen by an erasure (lifecycle/erasure.h) until it is purged;
  // readable, never writable.
  enum class Phase : uint8_t {
    kActive = 0,
    kOutgoing = 1,
    kIncoming = 2,
    kErasing = 3
  };
  Phase phase = Phase::kActive;
  std::string peer_region;  // the other end of a relocation
  std::string wrapped;      // empty: the principal had no key yet
  std::string consents;     // sealed ConsentState; empty: none recorded

  bool active() const { return phase == Phase::kActive; }
  // What an erasure, or the source of a relocation, leaves in place of the
  // key entry: no key, no consents. A create meeting one gives the principal
  // a new key only if the directory places it there (PrincipalKeys).
  static PrincipalKeyState Tombstone() {
    PrincipalKeyState s;
    s.phase = Phase::kErasing;
    return s;
  }
  bool tombstone() const { return phase == Phase::kErasing && wrapped.empty(); }
  std::string Encode() const;
  // kDataLoss for bytes that are no such entry.
  static Result<PrincipalKeyState> Decode(std::string_view raw);
};

}  // namespace piivault::vault
