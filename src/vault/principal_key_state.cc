#include "vault/principal_key_state.h"

#include "base/bytes.h"

namespace piivault::vault {
namespace {
// Wrapped keys start with the AEAD format version (1); relocation entries
// start with a byte no wrapped key can.
constexpr uint8_t kRelocationTag = 0xFE;
}  // namespace

std::string PrincipalKeyState::Encode() const {
  if (active()) return wrapped;
  ByteWriter w;
  w.U8(kRelocationTag);
  w.U8(static_cast<uint8_t>(phase));
  w.Bytes(peer_region);
  w.Bytes(wrapped);
  return w.Take();
}

Result<PrincipalKeyState> PrincipalKeyState::Decode(std::string_view raw) {
  PrincipalKeyState out;
  if (raw.empty()) return Err(DataLoss("stored principal key is malformed"));
  if (static_cast<uint8_t>(raw.front()) != kRelocationTag) {
    out.wrapped = raw;
    return out;
  }
  ByteReader r(raw);
  uint8_t tag = 0, phase = 0;
  std::string_view peer, wrapped;
  if (!r.U8(tag) || !r.U8(phase) || !r.Bytes(peer) || !r.Bytes(wrapped) ||
      !r.done() || (phase != 1 && phase != 2))
    return Err(DataLoss("stored principal key is malformed"));
  out.phase = static_cast<Phase>(phase);
  out.peer_region = peer;
  out.wrapped = wrapped;
  return out;
}

}  // namespace piivault::vault
