// Hashes, MACs and key derivation (OpenSSL 3 EVP).
// Thread safety: all functions are thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/secret.h"

namespace piivault::crypto {

inline constexpr std::size_t kSha256Size = 32;

// Raw 32-byte digests.
std::string Sha256(std::string_view data);
std::string HmacSha256(const SecretBytes& key, std::string_view data);

// SHA-256 of a stream fed in pieces (an export's download), without holding
// it: Update with each piece, then Finish once for the raw digest.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&&) noexcept;
  Sha256Stream& operator=(Sha256Stream&&) noexcept;
  void Update(std::string_view data);
  std::string Finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// RFC 5869 HKDF-SHA256.
SecretBytes HkdfSha256(const SecretBytes& ikm, std::string_view salt,
                       std::string_view info, std::size_t length);

// Constant-time equality (CRYPTO_memcmp); false when sizes differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace piivault::crypto
