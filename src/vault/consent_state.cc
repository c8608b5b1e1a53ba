#include "vault/consent_state.h"

#include "base/bytes.h"
#include "crypto/aead.h"

namespace piivault::vault {
namespace {

std::string Aad(std::string_view tenant, std::string_view pseudonym) {
  std::string aad("consents\0", 9);
  aad.append(tenant).push_back('\0');
  aad.append(pseudonym);
  return aad;
}

Status Malformed() { return DataLoss("the consent state is malformed"); }

}  // namespace

std::string ConsentState::Seal(const crypto::SecretBytes& key,
                               std::string_view tenant,
                               std::string_view pseudonym) const {
  ByteWriter w;
  w.Varint(events);
  w.Varint(current.size());
  for (auto& [purpose, granted] : current) {
    w.Bytes(purpose);
    w.U8(granted ? 1 : 0);
  }
  return crypto::AeadSeal(key, 1, w.Take(), Aad(tenant, pseudonym));
}

Result<ConsentState> ConsentState::Open(const crypto::SecretBytes& key,
                                        std::string_view tenant,
                                        std::string_view pseudonym,
                                        std::string_view sealed) {
  ConsentState out;
  if (sealed.empty()) return out;
  auto plain = crypto::AeadOpen(key, sealed, Aad(tenant, pseudonym));
  if (!plain) return Err(Malformed());
  ByteReader r(*plain);
  uint64_t count = 0;
  if (!r.Varint(out.events) || !r.Varint(count)) return Err(Malformed());
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view purpose;
    uint8_t granted = 0;
    if (!r.Bytes(purpose) || !r.U8(granted) || granted > 1)
      return Err(Malformed());
    out.current.emplace(purpose, granted == 1);
  }
  if (!r.done()) return Err(Malformed());
  return out;
}

}  // namespace piivault::vault
