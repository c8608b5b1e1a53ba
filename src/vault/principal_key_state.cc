#include "vault/principal_key_state.h"

#include "base/bytes.h"

namespace piivault::vault {
namespace {
// Wrapped keys start with the AEAD format version (1); other entries start
// with a byte no wrapped key can.
constexpr uint8_t kWithConsentsTag = 0xFD;  // active, with consents
constexpr uint8_t kRelocationTag = 0xFE;    // any frozen phase
}  // namespace

std::string PrincipalKeyState::Encode() const {
  if (active() && consents.empty()) return wrapped;
  ByteWriter w;
  if (active()) {
    w.U8(kWithConsentsTag);
  } else {
    w.U8(kRelocationTag);
    w.U8(static_cast<uint8_t>(phase));
    w.Bytes(peer_region);
  }
  w.Bytes(wrapped);
  w.Bytes(consents);
  return w.Take();
}

Result<PrincipalKeyState> PrincipalKeyState::Decode(std::string_view raw) {
  auto malformed = [] {
    return Err(DataLoss("stored principal key is malformed"));
  };
  PrincipalKeyState out;
  if (raw.empty()) return malformed();
  const auto tag = static_cast<uint8_t>(raw.front());
  if (tag != kWithConsentsTag && tag != kRelocationTag) {
    out.wrapped = raw;
    return out;
  }
  ByteReader r(raw.substr(1));
  if (tag == kRelocationTag) {
    uint8_t phase = 0;
    std::string_view peer;
    if (!r.U8(phase) || !r.Bytes(peer) || phase < 1 || phase > 3)
      return malformed();
    out.phase = static_cast<Phase>(phase);
    out.peer_region = peer;
  }
  std::string_view wrapped, consents;
  if (!r.Bytes(wrapped) || !r.Bytes(consents) || !r.done()) return malformed();
  out.wrapped = wrapped;
  out.consents = consents;
  return out;
}

}  // namespace piivault::vault
